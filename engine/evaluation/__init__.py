"""Metrics: every AUC, AP and curve from scikit-learn, thresholds chosen on validation."""
