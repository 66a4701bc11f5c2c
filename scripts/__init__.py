"""Build and maintenance scripts, run by path from the Makefile; the ones
without a hyphen are importable from the repository root (scripts.optiondocs)."""
