"""Scoring methods: cosine scoring and the reference baselines (a registry)."""
