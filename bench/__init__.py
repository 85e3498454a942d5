"""Benchmarks: `make bench` (or `python -m bench [NAME ...]`) measures and writes docs/benchmarks.{md,json}.

Performance is measured here, never asserted in tests: timings depend on the machine and its load.
"""
