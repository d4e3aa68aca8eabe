"""Benchmarks for Jianwang (not part of the installed package)."""
