"""Side-by-side performance measurements (not timed tests). See docs/benchmarks.md."""
