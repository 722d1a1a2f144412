"""Benchmarks and the real peers they (and the integration tests) use."""
