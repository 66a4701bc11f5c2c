"""Lab integration tests: they build network namespaces and need root."""
