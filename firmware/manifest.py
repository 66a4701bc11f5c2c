# The daemon as a MicroPython package, in micropython-lib's manifest format
# (read by MicroPython's tools/manifestfile.py): to freeze it into a
# firmware image, e.g. `make -C ports/unix FROZEN_MANIFEST=.../firmware/manifest.py`,
# or to include() it from a board's manifest. package/carp and `make ipk`
# do not read it; firmware/package.json lists the same files for mip.
# tests/unit/test_manifest.py holds both to firmware/carp/ and the version
# to carp/__init__.py.
metadata(
    description="carp: CARP failover daemon (Common Address Redundancy Protocol)",
    version="0.1.0",
    license="GPL-2.0-or-later",
)

# Every .py file of firmware/carp, stored as carp/<module>.py.
package("carp")
