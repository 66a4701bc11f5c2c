"""Recipes and tools for the hardware and the lab: importable from the
repository root as board.lab (the network-namespace lab and its client) and
board.bench (the benchmark)."""
