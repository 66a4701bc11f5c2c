"""carp: a lean CARP (Common Address Redundancy Protocol) daemon.

Runs unchanged on MicroPython's unix port (>= 1.23) and CPython (>= 3.9).
"""
VERSION = "0.1.0"
