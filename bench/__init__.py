"""Benchmarks: one command each (`python -m bench.dialog`, `bench.scale`, `bench.memory`).

Machines are noisy, so every speed figure is a ratio against a baseline measured in the same run;
results go to docs/BENCHMARKS.md together with the machine they were measured on.
"""
