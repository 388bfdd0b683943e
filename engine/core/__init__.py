"""Errors, atomic writes, progress and cancellation, the engine thread, vector helpers."""
