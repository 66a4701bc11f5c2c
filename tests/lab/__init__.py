"""Lab integration tests: they build network namespaces and need root.

A package, so this directory's conftest is imported as lab.conftest and
never shadows another directory's `conftest` module."""
