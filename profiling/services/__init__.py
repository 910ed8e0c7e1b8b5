"""Writes for the profiling app, one module per concern.

Dependency direction (no cycles): ingest and identity nudge scoring through the task
queue; scoring creates deliveries; delivery never imports scoring and scoring never
speaks HTTP.
"""
