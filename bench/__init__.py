"""leadgate benchmarks: run with ./scripts/bench.sh (see bench/run.py)."""
