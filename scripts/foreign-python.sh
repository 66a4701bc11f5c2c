#!/bin/bash
# Debian's own CPython for other CPUs, so the tests run the daemon on the
# MIPS ABI (mipsel: SOCK_DGRAM 1, SOL_SOCKET 0xffff, SO_RCVBUF 0x1002, 32-bit)
# and on a big-endian CPU (s390x).
#
#   scripts/foreign-python.sh [DIR]      (default build/foreign in the repo; root)
#
# Makes DIR/<arch>/python3, a wrapper that runs bookworm's python3.11 for
# <arch> (unpacked with dpkg -x into DIR/<arch>/root: python3.11 cannot be
# co-installed with the host's by multiarch) under qemu-user from
# bookworm-backports (10.0 translates IP_MULTICAST_IF, bookworm's 7.2 does
# not). apt runs with a private state under DIR/apt: the host's dpkg, its
# architectures and its sources stay untouched; the mirror is the one the
# host's apt already uses. A second run with an unchanged script costs one
# stat.
set -euo pipefail

ARCHES=(mipsel s390x)
SUITE=bookworm
QEMU_SUITE=bookworm-backports
# python3.11-minimal and what the daemon and the tests import from the
# standard library (json, ctypes), with the shared libraries they load.
PY_PACKAGES=(python3.11-minimal libpython3.11-minimal libpython3.11-stdlib
             libc6 libssl3 zlib1g libexpat1 libffi8)
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

out=$(realpath -m "${1:-$(dirname "$0")/../build/foreign}")
stamp="$out/.stamp"
want=$(sha256sum "$0" | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "foreign-python: must run as root (apt downloads)" >&2
    exit 1
fi

# The host's Debian mirror, as its apt is configured (sources.list or deb822);
# apt names it only once it has fetched that source's index.
host_mirror() {
    apt-get indextargets --format '$(REPO_URI) $(RELEASE)' 2>/dev/null \
        | awk -v s="$SUITE" '$2 == s { print $1; exit }'
}
mirror=$(host_mirror)
if [ -z "$mirror" ]; then
    apt-get update -q >/dev/null
    mirror=$(host_mirror)
fi
if [ -z "$mirror" ]; then
    echo "foreign-python: the host's apt has no source for $SUITE" >&2
    exit 1
fi

# apt with a state of its own: only ARCH's index of SUITE.
private_apt() {
    local arch=$1 suite=$2 cmd=$3
    shift 3
    local dir="$out/apt/$suite-$arch"
    mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
    echo "deb [arch=$arch signed-by=$KEYRING] $mirror $suite main" >"$dir/sources.list"
    "$cmd" -q \
        -o Dir::Etc::SourceList="$dir/sources.list" \
        -o Dir::Etc::SourceParts=/nonexistent \
        -o Dir::State::Lists="$dir/lists" \
        -o Dir::State::status=/dev/null \
        -o Dir::Cache="$dir/cache" \
        -o APT::Architecture="$arch" -o APT::Architectures::="$arch" \
        -o APT::Sandbox::User=root \
        "$@"
}

# Downloads PACKAGES of ARCH from SUITE into DIR/debs (fresh each time).
download() {
    local arch=$1 suite=$2 dest=$3
    shift 3
    private_apt "$arch" "$suite" apt-get update >/dev/null
    rm -rf "$dest" && mkdir -p "$dest"
    (cd "$dest" && private_apt "$arch" "$suite" apt-get download "$@" >/dev/null)
}

host=$(dpkg --print-architecture)
echo "foreign-python: qemu-user from $QEMU_SUITE and python3.11 for ${ARCHES[*]} into $out"
download "$host" "$QEMU_SUITE" "$out/debs/qemu" qemu-user
# qemu-user's binaries are static since 10.0: take the two we need.
tar_members=()
for arch in "${ARCHES[@]}"; do tar_members+=("./usr/bin/qemu-$arch"); done
mkdir -p "$out/bin"
dpkg-deb --fsys-tarfile "$out"/debs/qemu/qemu-user_*.deb \
    | tar -x -C "$out/bin" --strip-components=3 "${tar_members[@]}"
rm -rf "$out/debs/qemu"

for arch in "${ARCHES[@]}"; do
    debs="$out/debs/$arch"
    root="$out/$arch/root"
    download "$arch" "$SUITE" "$debs" "${PY_PACKAGES[@]}"
    rm -rf "$root" && mkdir -p "$root"
    for deb in "$debs"/*.deb; do dpkg-deb -x "$deb" "$root"; done
    rm -rf "$debs"
    cat >"$out/$arch/python3" <<EOF
#!/bin/sh
# Debian $SUITE's python3.11 for $arch under qemu-user (scripts/foreign-python.sh).
here=\$(dirname "\$(readlink -f "\$0")")
exec "\$here/../bin/qemu-$arch" -L "\$here/root" "\$here/root/usr/bin/python3.11" "\$@"
EOF
    chmod 755 "$out/$arch/python3"
    "$out/$arch/python3" -c 'import ctypes, json, socket, sys; print("foreign-python: %s" % sys.version.split()[0], sys.byteorder, "endian")'
done
rm -rf "$out/apt" "$out/debs"
echo "$want" >"$stamp"
