#!/bin/bash
# Installs the Debian packages that the tests and the lab need.
# Cheap when everything is there already: no apt-get at all then.
set -euo pipefail

PACKAGES=(
    iproute2 iputils-ping procps busybox   # the lab and its nodes (busybox: udhcpc clients)
    dnsmasq-base                           # DHCP on the lab routers (the dnsmasq recipe)
    nftables                               # the lab switch: lose CARP multicast
    tcpdump tshark                         # captures and dissection
    ucarp keepalived                       # interop peers
    python3-venv                           # .venv for the test tools
    nodejs chromium fonts-dejavu-core      # LuCI views: node runs them, chromium photographs them
)

if [ "$(id -u)" -ne 0 ]; then
    echo "make deps: must run as root (apt, and the lab's network namespaces)" >&2
    exit 1
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null \
            | grep -q 'install ok installed'; then
        missing+=("$pkg")
    fi
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "make deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # tshark's package asks whether non-root users may capture; answer no up
    # front so the install never waits for a terminal.
    echo 'wireshark-common wireshark-common/install-setuid boolean false' \
        | debconf-set-selections
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# CPython for MIPS and a big-endian CPU under qemu-user, in build/foreign.
"$(dirname "$0")/foreign-python.sh"
