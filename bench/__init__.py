"""Benchmarks against the limit (``scripts/bench``): each workload next to the plain library doing the same job."""
