"""Validated configuration of the vhids a daemon runs.

Every check names where the value came from (`-b/--advbase` on the command
line, `carp.<section>.<option>` in UCI), the value and what is allowed, and
nothing is applied until the whole configuration is valid.
"""
from carp import sockaddr, wire

AF_INET = sockaddr.AF_INET
AF_INET6 = sockaddr.AF_INET6


def quoted(value):
    """value in quotes with everything but printable ASCII escaped, alike on
    both interpreters (their repr() differ beyond ASCII)."""
    if not isinstance(value, str):
        return repr(value)
    out = ["'"]
    for c in value:
        code = ord(c)
        if c in "'\\":
            out.append("\\" + c)
        elif 32 <= code < 127:
            out.append(c)
        elif c in "\t\n\r":
            out.append({"\t": "\\t", "\n": "\\n", "\r": "\\r"}[c])
        elif code < 0x100:
            out.append("\\x%02x" % code)
        elif code < 0x10000:
            out.append("\\u%04x" % code)
        else:
            out.append("\\U%08x" % code)
    out.append("'")
    return "".join(out)


class ConfigError(ValueError):
    def __init__(self, where, value, allowed):
        super().__init__("%s: %s is not valid: %s" % (where, quoted(value), allowed))
        self.where = where
        self.value = value
        self.allowed = allowed


class ConfigErrors(ValueError):
    """Everything wrong with a configuration; str() is one error per line."""

    def __init__(self, errors):
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = list(errors)


def _digits(text):
    """True if text is one or more ASCII digits. str.isdigit() is not used:
    CPython takes other scripts' digits there ('\u0665'), MicroPython does not."""
    if not text:
        return False
    for c in text:
        if not "0" <= c <= "9":
            return False
    return True


def decimal(text):
    """An integer as LuCI's integer/uinteger datatypes read it (an optional
    '-', then ASCII digits: no '+', blanks, '_' or other scripts' digits;
    leading zeros are decimal), else None. Values too long to be in any
    range are -1, never converted, so a huge one costs nothing."""
    digits = text[1:] if text[:1] == "-" else text
    if not _digits(digits):
        return None
    significant = digits.lstrip("0")
    if len(significant) > 9:
        return -1
    number = int(significant) if significant else 0
    return -number if text[:1] == "-" else number


def integer(where, value, low, high):
    allowed = "an integer %d..%d (decimal digits only)" % (low, high)
    number = value if isinstance(value, int) else decimal(value) if isinstance(value, str) else None
    if number is None or not low <= number <= high:
        raise ConfigError(where, value, allowed)
    return number


def passphrase(where, value):
    data = value.encode() if isinstance(value, str) else bytes(value)
    if len(data) > wire.MAX_PASSPHRASE:
        raise ConfigError(
            where, "<%d bytes>" % len(data),
            "at most %d bytes (the BSDs silently truncate longer passphrases and ucarp refuses them)"
            % wire.MAX_PASSPHRASE)
    return data


class Vip:
    """A virtual address: family, packed bytes, prefix length."""

    def __init__(self, family, packed, prefixlen, text):
        self.family = family
        self.packed = packed
        self.prefixlen = prefixlen
        self.text = text

    def __eq__(self, other):
        return (self.family, self.packed, self.prefixlen) == (other.family, other.packed, other.prefixlen)

    def __hash__(self):
        return hash(self.packed)


# What LuCI's ip4addr/ip6addr take before they look closer; checked before
# inet_pton, which on MicroPython stops at a NUL that CPython refuses.
_ADDRESS_CHARS = "0123456789abcdefABCDEF:."


def _address(text):
    """(family, packed) of an IPv4 or IPv6 address, or None."""
    if not text or len(text) > 45:  # the longest IPv6 text form
        return None
    for c in text:
        if c not in _ADDRESS_CHARS:
            return None
    try:
        return sockaddr.parse_ip(text)
    except ValueError:
        return None


def is_loopback(family, packed):
    """127.0.0.0/8, ::1, and 127/8 mapped into IPv6."""
    if family == AF_INET:
        return packed[0] == 127
    if packed[:12] == b"\0" * 10 + b"\xff\xff":
        return packed[12] == 127
    return packed == b"\0" * 15 + b"\x01"


def _unicast(family, packed):
    if is_loopback(family, packed):
        return False
    if family == AF_INET:
        return packed[0] < 224 and packed != b"\0\0\0\0"
    return packed[0] != 0xFF and packed != bytes(16)


def vip(where, value, families=(AF_INET,)):
    addr, slash, plen = value.partition("/")
    allowed = "an IPv4 address with optional /prefix (0..32)"
    if AF_INET6 in families:
        allowed = "an IPv4 (/0..32) or IPv6 (/0..128) address with optional /prefix"
    found = _address(addr)
    if found is None or found[0] not in families:
        raise ConfigError(where, value, allowed)
    family, packed = found
    full = 32 if family == AF_INET else 128
    prefixlen = full
    if slash:
        # LuCI's cidr4/cidr6: 1..2 (IPv4) or 1..3 (IPv6) decimal digits.
        if not _digits(plen) or len(plen) > (2 if family == AF_INET else 3) or int(plen) > full:
            raise ConfigError(where, value, allowed)
        prefixlen = int(plen)
    if not _unicast(family, packed):
        raise ConfigError(where, value, "a unicast %s address (not multicast, unspecified or loopback)"
                          % ("IPv4" if family == AF_INET else "IPv6"))
    return Vip(family, packed, prefixlen, value)


def ipv4(where, value):
    found = _address(value)
    if found is None or found[0] != AF_INET:
        raise ConfigError(where, value, "an IPv4 address")
    if is_loopback(AF_INET, found[1]):
        raise ConfigError(where, value, "an IPv4 address that is not loopback (127.0.0.0/8)")
    return found[1]


def unicast(where, value):
    """A unicast peer address -> (family, packed)."""
    found = _address(value)
    if found is None or not _unicast(found[0], found[1]):
        raise ConfigError(where, value, "a unicast IPv4 or IPv6 address (not multicast, unspecified or loopback)")
    return found


# The status file's place (status.py); globals.status_file may only say this.
STATUS_FILE = "/var/run/carp/status.json"


class Globals:
    """The daemon-wide settings (UCI section `globals`)."""

    def __init__(self, enabled=True, status_file=STATUS_FILE, status_interval=60,
                 user_script=False, hook_timeout=30, boot_delay=0):
        self.enabled = enabled
        self.status_file = status_file
        self.status_interval = status_interval
        self.user_script = user_script  # hooks run /etc/carp.user
        self.hook_timeout = hook_timeout  # seconds one hotplug-call run may take
        self.boot_delay = boot_delay  # seconds every vhid stays in INIT after the daemon starts


class VhidConfig:
    """One CARP group on one interface."""

    def __init__(self, name, device, vhid, passphrase, vips,
                 advbase=1, advskew=0, preempt=False, demote=0, deadratio=3, source=None,
                 peers=(), enabled=True, interface=None, dnsmasq=False, wan=(), conntrackd=False,
                 group="carp", track_interfaces=(), track_pings=(), ping_interval=1, ping_rise=3, ping_fall=3,
                 preempt_delay=0, up_delay=0, lease_sync=(), vmac=False):
        self.name = name
        self.device = device
        self.vhid = vhid
        self.passphrase = passphrase
        self.vips = vips
        self.advbase = advbase
        self.advskew = advskew
        self.preempt = preempt
        self.demote = demote
        self.deadratio = deadratio
        self.source = source  # packed IPv4, or None: the device's first IPv4 address
        self.peers = list(peers)  # unicast (family, packed); none: multicast
        self.enabled = enabled
        self.interface = interface  # the netifd name, when configured by it
        # Hook recipes this vhid's transitions drive (package/carp/files/hotplug.d/carp):
        self.dnsmasq = dnsmasq  # DHCP served only while master
        self.wan = list(wan)  # netifd interfaces brought up only while master
        self.conntrackd = conntrackd  # commit/flush the connection tracking cache
        self.lease_sync = list(lease_sync)  # packed IPv4 routers dnsmasq's leases are replicated with
        # Tracking (each failed thing demotes every vhid of the same group by 1):
        self.group = group  # demotion group: its vhids fail over together
        self.track_interfaces = list(track_interfaces)  # devices whose carrier must be up
        self.track_pings = list(track_pings)  # packed IPv4 targets of ICMP echo
        self.ping_interval = ping_interval  # seconds between echo requests
        self.ping_rise = ping_rise  # replies in a row that make a lost target good again
        self.ping_fall = ping_fall  # misses in a row that make a target lost
        self.preempt_delay = preempt_delay  # seconds a backup waits before preempting
        self.up_delay = up_delay  # seconds a carrier must stay up before it counts (flap damping)
        self.vmac = vmac  # VIPs on a macvlan with 00:00:5e:00:01:<vhid> (carp/vmac.py)

    def key(self):
        """Everything that, when changed, requires restarting this vhid."""
        return (self.device, self.vhid, self.passphrase,
                tuple(sorted((v.family, v.packed, v.prefixlen) for v in self.vips)),
                self.advbase, self.advskew, self.preempt, self.demote, self.deadratio,
                self.source, tuple(sorted(self.peers)), self.enabled, self.preempt_delay, self.vmac)
        # Hook switches and tracking are left out on purpose: changing them
        # needs no restart (trackers are rebuilt on every reload).

    def addrs(self, family):
        return [v.packed for v in self.vips if v.family == family]
