"""One experiment end to end: config, typed records, the pipeline and the run store."""
