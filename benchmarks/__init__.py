"""Side-by-side benchmarks against peer implementations (used by tools/benchmark.py)."""
