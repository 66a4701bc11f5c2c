"""Validated configuration of the vhids a daemon runs.

Every check names where the value came from (`-b/--advbase` on the command
line, `carp.<section>.<option>` in UCI), the value and what is allowed, and
nothing is applied until the whole configuration is valid.
"""
from carp import sockaddr, wire

AF_INET = sockaddr.AF_INET
AF_INET6 = sockaddr.AF_INET6


class ConfigError(ValueError):
    def __init__(self, where, value, allowed):
        super().__init__("%s: %r is not valid: %s" % (where, value, allowed))
        self.where = where
        self.value = value
        self.allowed = allowed


def integer(where, value, low, high):
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ConfigError(where, value, "an integer %d..%d" % (low, high))
    if not low <= number <= high:
        raise ConfigError(where, value, "an integer %d..%d" % (low, high))
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


def vip(where, value, families=(AF_INET,)):
    text = value.strip()
    addr, _, plen = text.partition("/")
    allowed = "an IPv4 address with optional /prefix (0..32)"
    if AF_INET6 in families:
        allowed = "an IPv4 (/0..32) or IPv6 (/0..128) address with optional /prefix"
    try:
        family, packed = sockaddr.parse_ip(addr)
    except ValueError:
        raise ConfigError(where, value, allowed)
    if family not in families:
        raise ConfigError(where, value, allowed)
    full = 32 if family == AF_INET else 128
    prefixlen = full
    if plen:
        try:
            prefixlen = int(plen)
        except ValueError:
            raise ConfigError(where, value, allowed)
        if not 0 <= prefixlen <= full:
            raise ConfigError(where, value, allowed)
    if family == AF_INET and (packed[0] >= 224 or packed == b"\0\0\0\0"):
        raise ConfigError(where, value, "a unicast IPv4 address")
    return Vip(family, packed, prefixlen, text)


def ipv4(where, value):
    try:
        family, packed = sockaddr.parse_ip(value)
    except ValueError:
        family = None
    if family != AF_INET:
        raise ConfigError(where, value, "an IPv4 address")
    return packed


def unicast(where, value):
    """A unicast peer address -> (family, packed)."""
    allowed = "a unicast IPv4 or IPv6 address"
    try:
        family, packed = sockaddr.parse_ip(value.strip())
    except ValueError:
        raise ConfigError(where, value, allowed)
    if family == AF_INET and (packed[0] >= 224 or packed == b"\0\0\0\0"):
        raise ConfigError(where, value, allowed)
    if family == AF_INET6 and (packed[0] == 0xFF or packed == bytes(16)):
        raise ConfigError(where, value, allowed)
    return family, packed


class Globals:
    """The daemon-wide settings (UCI section `globals`)."""

    def __init__(self, enabled=True, status_file="/var/run/carp/status.json", status_interval=5,
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
                 preempt_delay=0, up_delay=0, lease_sync=()):
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

    def key(self):
        """Everything that, when changed, requires restarting this vhid."""
        return (self.device, self.vhid, self.passphrase,
                tuple(sorted((v.family, v.packed, v.prefixlen) for v in self.vips)),
                self.advbase, self.advskew, self.preempt, self.demote, self.deadratio,
                self.source, tuple(sorted(self.peers)), self.enabled, self.preempt_delay)
        # Hook switches and tracking are left out on purpose: changing them
        # needs no restart (trackers are rebuilt on every reload).

    def addrs(self, family):
        return [v.packed for v in self.vips if v.family == family]
