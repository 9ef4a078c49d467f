"""Benchmarks the dashboard against a bare Flask app on the same machine, in the same run."""
