"""What MicroPython has built in and CPython lacks."""
try:
    from micropython import const
except ImportError:
    def const(value):
        """MicroPython's compiler folds const() names into the code that uses
        them; on CPython they are plain module attributes."""
        return value
