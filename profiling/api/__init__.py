"""Profiling endpoints: thin DRF views, one module per resource."""
