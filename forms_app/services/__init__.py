"""Writes for gates and submissions. Capture code sits on top of profiling's services."""
