"""The options of /etc/config/carp (SCHEMA) and how one value of each kind
is checked. uciconfig.py reads whole sections through these; LuCI's pages,
the shipped config and docs/configuration.md are tested against SCHEMA."""
from carp import config, wire
from carp.config import AF_INET, AF_INET6, ConfigError


def _option(kind, default=None, low=None, high=None, most=0, required=False, instead=None):
    return {"kind": kind, "default": default, "low": low, "high": high, "list": most > 0, "most": most,
            "required": required, "instead": instead}


# The most values of each list option (docs/configuration.md, "Values and errors").
MAX_ADDRESSES = 64  # all of them go into every advertisement's HMAC and each takeover's ARP/NA burst
MAX_PEERS = 16
MAX_WAN = 8
MAX_TRACKED = 16  # track_interface, and track_ping (each an ICMP echo every ping_interval)

# Every option the daemon accepts, by section type: the one table the
# validators below are built from, and that luci-app-carp's settings page is
# tested against (tests/luci), so the page and the daemon cannot drift apart.
#   kind      how one value is checked: bool, integer, statusfile, secret, netdev (a
#             Linux device name), netifd (a netifd interface name), network (an
#             interface of /etc/config/network, resolved to its device), vip
#             (unicast address with optional /prefix), unicast (address), ip4addr
#   default   the UCI text the daemon assumes when the option is absent
#   low/high  the integer range; for "secret" the most bytes
#   list      `list` (several values); else a single `option`
#   most      the most values of a list: a cap keeps a hostile or broken
#             file from costing the event loop seconds on reload
#   required  the section is refused without it
#   instead   the option that may be given instead of this one (not both)
SCHEMA = {
    "globals": {
        "enabled": _option("bool", "1"),
        "status_file": _option("statusfile", config.STATUS_FILE),
        "status_interval": _option("integer", "60", 1, 3600),
        "user_script": _option("bool", "0"),
        "hook_timeout": _option("integer", "30", 1, 300),
        "boot_delay": _option("integer", "0", 0, 3600),
    },
    "vhid": {
        "enabled": _option("bool", "1"),
        "interface": _option("network", required=True, instead="device"),
        "device": _option("netdev", required=True, instead="interface"),
        "vhid": _option("integer", None, 1, 255, required=True),
        "password": _option("secret", "", high=wire.MAX_PASSPHRASE),
        "address": _option("vip", most=MAX_ADDRESSES, required=True),
        "peer": _option("unicast", most=MAX_PEERS),
        "source": _option("ip4addr"),
        "advbase": _option("integer", "1", 0, 254),
        "advskew": _option("integer", "0", 0, 254),
        "deadratio": _option("integer", "3", 1, 255),
        "preempt": _option("bool", "0"),
        "vmac": _option("bool", "0"),
        "demote": _option("integer", "0", 0, 255),
        "dnsmasq": _option("bool", "0"),
        "wan": _option("netifd", most=MAX_WAN),
        "conntrackd": _option("bool", "0"),
        "lease_sync": _option("ip4addr", most=MAX_PEERS),
        "group": _option("name", "carp"),
        "track_interface": _option("netdev", most=MAX_TRACKED),
        "track_ping": _option("ip4addr", most=MAX_TRACKED),
        "ping_interval": _option("integer", "1", 1, 3600),
        "ping_rise": _option("integer", "3", 1, 100),
        "ping_fall": _option("integer", "3", 1, 100),
        "preempt_delay": _option("integer", "0", 0, 3600),
        "up_delay": _option("integer", "0", 0, 3600),
    },
}

GLOBALS_OPTIONS = tuple(sorted(SCHEMA["globals"]))
VHID_OPTIONS = tuple(sorted(SCHEMA["vhid"]))
SECTION_TYPES = tuple(sorted(SCHEMA))

# The spellings OpenWrt's shell config_get_bool takes, and only those: the
# init script reads `enabled` with it, so the daemon must agree on every value.
TRUE_WORDS = ("1", "yes", "on", "true", "enabled")
FALSE_WORDS = ("0", "no", "off", "false", "disabled")


class MissingOption(ConfigError):
    """A required option that is absent: there is no value to quote."""

    def __init__(self, where, allowed):
        # Skip ConfigError's "<value> is not valid" wording.
        super(ConfigError, self).__init__("%s: missing: %s" % (where, allowed))
        self.where = where
        self.value = None
        self.allowed = allowed


def boolean(where, value):
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    raise ConfigError(where, value, "a boolean: 1/0, yes/no, on/off, true/false or enabled/disabled")


def ifname(where, value):
    """A Linux device name, as the kernel's dev_valid_name() takes it (its
    isspace() is ASCII's, as here on both interpreters; a NUL would end it)."""
    ok = 1 <= len(value.encode()) <= 15 and value not in (".", "..")
    for c in value:
        if c in "/: \t\n\v\f\r\0":
            ok = False
    if not ok:
        raise ConfigError(where, value, "a Linux interface name (1..15 characters, no '/', ':' or "
                          "whitespace, not '.' or '..')")
    return value


def status_file(where, value):
    """Only the place carpd writes to anyway (status.py): the option stays
    for the files that name it, and can no longer point root elsewhere."""
    if value != config.STATUS_FILE:
        raise ConfigError(where, value, "%s only: carpd keeps its status in a directory of its own; "
                          "remove the option" % config.STATUS_FILE)
    return value


def vip(where, value):
    """An IPv4 or IPv6 unicast virtual address with an optional /prefix."""
    return config.vip(where, value, (AF_INET, AF_INET6))


def _integer(low, high):
    return lambda where, value: config.integer(where, value, low, high)


def validator(spec):
    """The function that checks one value of an option of SCHEMA:
    validate(where, text) -> the value, or raises ConfigError."""
    kind = spec["kind"]
    if kind == "integer":
        return _integer(spec["low"], spec["high"])
    return _KINDS[kind]


def _word(where, value, longest, what):
    """value if it is 1..longest ASCII letters, digits or _ (LuCI's
    uciname); else a ConfigError that calls it `what`. Not isalpha(): that
    takes 'ä' on CPython and refuses it on MicroPython."""
    ok = 0 < len(value) <= longest
    for c in value:
        if not ("a" <= c <= "z" or "A" <= c <= "Z" or "0" <= c <= "9" or c == "_"):
            ok = False
    if not ok:
        raise ConfigError(where, value, "%s (1..%d ASCII letters, digits or _)" % (what, longest))
    return value


def netifd_name(where, value):
    """A logical interface name as netifd allows it."""
    return _word(where, value, 15, "a netifd interface name")


def group_name(where, value):
    """A demotion group's name."""
    return _word(where, value, 32, "a group name")


def _network(where, value):
    """`interface` is resolved against /etc/config/network by _device()."""
    return value


_KINDS = {
    "bool": boolean,
    "statusfile": status_file,
    "secret": config.passphrase,  # at most wire.MAX_PASSPHRASE bytes, SCHEMA's "high"
    "netdev": ifname,
    "netifd": netifd_name,
    "network": _network,
    "vip": vip,
    "unicast": config.unicast,
    "ip4addr": config.ipv4,
    "name": group_name,
}
