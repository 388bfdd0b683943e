"""The app's views and controls. Each widget owns the messages it sends."""
