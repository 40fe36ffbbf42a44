"""Benchmark tooling for the helpdesk service: `python -m bench --help`."""
