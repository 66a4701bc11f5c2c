#!/bin/sh
# openwrt/packages CI runtime test: run on the target (QEMU) after the
# package is installed; $1 is the package, $2 its version (x.y.z-rN).
# The service ships disabled, so this never takes over an address.
# (CARP_LIB, as for the launcher, lets tests point at an unpacked package.)
set -e

case "$1" in
carp)
	carp --version | grep -qxF "carp ${2%-r*}"
	micropython -c "import sys; sys.path.insert(0, '${CARP_LIB:-/usr/lib/carp}'); import carp.daemon, carp.uciconfig"
	;;
carp-python3)
	carp --version | grep -qxF "carp ${2%-r*}"
	python3 -c "import sys; sys.path.insert(0, '${CARP_LIB:-/usr/lib/carp}'); import carp.daemon, carp.uciconfig"
	;;
esac
