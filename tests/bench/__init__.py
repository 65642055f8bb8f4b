"""Benchmarks of the console (`make bench`, `python -m tests.bench`): figures against targets.

Performance targets live here, not in timed tests: a timed assertion in the suite fails on a
busy machine and teaches people to ignore it, while this run prints the figures next to their
targets and fails only when asked to (`--strict`).
"""
