"""Benchmarks: scripts that run against a private local stack and print a table (see run.py)."""
