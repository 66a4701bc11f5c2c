"""/etc/config/carp -> validated (Globals, [VhidConfig]).

Every value is checked before anything is returned, and every problem is
reported at once (ConfigErrors), each naming carp.<section>.<option>, the
value and what is allowed. Unknown sections and options are errors too: a
typo must not silently fall back to a default. A password is never quoted
back, only its length.

The options themselves, their kinds, defaults and ranges are SCHEMA
(ucischema.py), the one list: docs/configuration.md renders its reference
table from it (make docs) and tests hold the shipped config and the LuCI
page to it.
"""
import os

from carp import config, uci
from carp.config import ConfigError, ConfigErrors
from carp.ucischema import (FALSE_WORDS, GLOBALS_OPTIONS, MAX_ADDRESSES, MAX_PEERS, MAX_TRACKED, MAX_WAN,  # noqa: F401
                            SCHEMA, SECTION_TYPES, TRUE_WORDS, VHID_OPTIONS, MissingOption, ifname, validator)


class _Options:
    """One section's options, read through validators that collect errors
    instead of raising, so every mistake of a file is found in one pass."""

    def __init__(self, section, errors, names=None):
        self.section = section
        self.errors = errors
        self.names = names  # option -> what to call it instead of carp.<section>.<option>
        self.schema = SCHEMA[section.type]
        known = sorted(self.schema)
        for name in sorted(section.options):
            if name not in known:
                # The value is not quoted: a misspelt `password` holds a password.
                errors.append(ConfigError(self.where(name), name, "unknown option; a %s section has %s"
                                          % (section.type, ", ".join(known))))

    def where(self, option):
        if self.names is not None:
            return self.names.get(option, option)  # defaults only: they are valid
        return "carp.%s.%s" % (self.section.name, option)

    def has(self, option):
        return option in self.section.options

    def text(self, option, secret=False):
        """The option's single value, or None when absent or given as a list."""
        value = self.section.options.get(option)
        if isinstance(value, list):
            shown = "<%d values>" % len(value) if secret else " ".join(value)
            self.errors.append(ConfigError(self.where(option), shown, "a single value: `option %s`, not `list %s`"
                                           % (option, option)))
            return None
        return value

    def items(self, option):
        """A list option; `option` instead of `list` gives one item. More
        than SCHEMA allows is one error, and no item is looked at."""
        value = self.section.options.get(option)
        if value is None:
            return []
        if not isinstance(value, list):
            return [value]
        most = self.schema[option]["most"]
        if most and len(value) > most:
            self.error(option, "<%d values>" % len(value), "at most %d values" % most)
            return []
        return value

    def check(self, option, validate, default=None, secret=False):
        value = self.text(option, secret)
        if value is None:
            return default
        return self.run(validate, self.where(option), value, default)

    def value(self, option):
        """A single-valued option checked as SCHEMA says; its default when absent."""
        spec = self.schema[option]
        validate = validator(spec)
        default = spec["default"]
        if default is not None:
            default = validate(self.where(option), default)
        return self.check(option, validate, default, secret=spec["kind"] == "secret")

    def run(self, validate, where, value, failed=None):
        try:
            return validate(where, value)
        except ConfigError as e:
            self.errors.append(e)
            return failed

    def error(self, option, value, allowed):
        self.errors.append(ConfigError(self.where(option), value, allowed))


def _globals(section, errors):
    o = _Options(section, errors)
    return config.Globals(
        enabled=o.value("enabled"),
        status_file=o.value("status_file"),
        status_interval=o.value("status_interval"),
        user_script=o.value("user_script"),
        hook_timeout=o.value("hook_timeout"),
        boot_delay=o.value("boot_delay"))


def interface_device(name, network_sections):
    """The Linux device a netifd interface runs on (from /etc/config/network),
    or None. Follows '@other' alias interfaces a few steps, never in a loop."""
    interfaces = {}
    for section in network_sections or ():
        if section.type == "interface" and not section.anonymous:
            interfaces[section.name] = section.options
    for _ in range(4):
        options = interfaces.get(name)
        if options is None:
            return None
        device = options.get("device")
        if device is None:
            # Before OpenWrt 21.02 a bridge was `type bridge` and `ifname` listed its ports.
            if options.get("type") == "bridge":
                return "br-" + name
            device = options.get("ifname")
        if not device or isinstance(device, list):
            return None
        if not device.startswith("@"):
            return device
        name = device[1:]
    return None


def _device(o, network_sections):
    """`device`, or `interface` resolved through /etc/config/network."""
    if o.has("device") and o.has("interface"):
        o.error("interface", " ".join(o.items("interface")), "either `device` or `interface`, not both")
        return None
    if o.has("device"):
        return o.check("device", validator(o.schema["device"]))
    name = o.text("interface")
    if name is None:
        if not o.has("interface"):
            o.errors.append(MissingOption(o.where("device"), "`device` (a Linux interface name) or `interface` "
                                          "(an interface of /etc/config/network) is required"))
        return None
    device = interface_device(name, network_sections)
    known = sorted(s.name for s in network_sections or () if s.type == "interface" and not s.anonymous)
    if device is None:
        o.error("interface", name, "an interface of /etc/config/network with a device (known: %s)"
                % (", ".join(known) or "none"))
        return None
    try:
        return ifname(o.where("interface"), device)
    except ConfigError:
        o.error("interface", name, "an interface whose device is a Linux interface name (network.%s has %r)"
                % (name, device))
        return None


def _addresses(o):
    """The vips, each address once whatever its prefix length; a set makes
    the duplicate check linear."""
    vips = []
    seen = set()
    check = validator(o.schema["address"])
    texts = o.items("address")
    for text in texts:
        address = o.run(check, o.where("address"), text)
        if address is None:
            continue
        if (address.family, address.packed) in seen:
            o.error("address", text, "each address once (it is already listed)")
            continue
        seen.add((address.family, address.packed))
        vips.append(address)
    if not texts and not o.has("address"):
        o.errors.append(MissingOption(o.where("address"), "at least one IPv4 or IPv6 address (`list address`)"))
    return vips


def _peers(o, vips):
    peers = []
    seen = set()
    own = set((v.family, v.packed) for v in vips)
    check = validator(o.schema["peer"])
    for text in o.items("peer"):
        peer = o.run(check, o.where("peer"), text)
        if peer is None:
            continue
        if peer in seen:
            o.error("peer", text, "each peer once (it is already listed)")
        elif peer in own:
            o.error("peer", text, "the other router's address, not one of this vhid's own addresses")
        else:
            seen.add(peer)
            peers.append(peer)
    return peers


def _vhid(section, network_sections, errors, names=None):
    o = _Options(section, errors, names)
    vhid = o.value("vhid")
    if vhid is None and not o.has("vhid"):
        spec = o.schema["vhid"]
        errors.append(MissingOption(o.where("vhid"), "an integer %d..%d" % (spec["low"], spec["high"])))
    vips = _addresses(o)
    return config.VhidConfig(
        name=section.name,
        device=_device(o, network_sections),
        vhid=vhid,
        passphrase=o.value("password"),
        vips=vips,
        advbase=o.value("advbase"),
        advskew=o.value("advskew"),
        preempt=o.value("preempt"),
        vmac=o.value("vmac"),
        demote=o.value("demote"),
        deadratio=o.value("deadratio"),
        source=o.value("source"),
        peers=_peers(o, vips),
        enabled=o.value("enabled"),
        interface=o.text("interface"),
        dnsmasq=o.value("dnsmasq"),
        wan=_items(o, "wan"),
        conntrackd=o.value("conntrackd"),
        group=o.value("group"),
        track_interfaces=_items(o, "track_interface"),
        track_pings=_items(o, "track_ping"),
        ping_interval=o.value("ping_interval"),
        ping_rise=o.value("ping_rise"),
        ping_fall=o.value("ping_fall"),
        preempt_delay=o.value("preempt_delay"),
        up_delay=o.value("up_delay"),
        lease_sync=_lease_sync(o))


def _lease_sync(o):
    peers = _items(o, "lease_sync")
    # The raw text: a bad `dnsmasq` value is reported once, by its own check.
    if peers and o.section.options.get("dnsmasq") not in TRUE_WORDS:
        o.error("lease_sync", " ".join(o.items("lease_sync")), "only with `option dnsmasq '1'` (leases are "
                "replicated for the dnsmasq that serves while master)")
    return peers


def _items(o, option):
    """A list option's values checked as SCHEMA says, each once, in order."""
    check = validator(o.schema[option])
    values = []
    seen = set()
    for text in o.items(option):
        value = o.run(check, o.where(option), text)
        if value is not None and value not in seen:
            seen.add(value)
            values.append(value)
    return values


def command_line(options, names):
    """The command line's one vhid through the same checks as a UCI
    section: options maps UCI option names to their text (a list for
    `address` and `peer`), names maps them to the command line's spelling
    for the errors. -> VhidConfig, or raises ConfigErrors."""
    section = uci.Section("vhid", "vhid", 0)
    section.options = options
    errors = []
    vhid = _vhid(section, None, errors, names)
    if errors:
        raise ConfigErrors(errors)
    vhid.name = "vhid%d" % vhid.vhid  # as Vhid.name() tells the command line's vhid
    return vhid


def _check_unique(vhids, errors):
    """One (device, vhid) per group, and no address claimed by two groups."""
    groups = {}
    owners = {}  # (family, packed address) -> name of the vhid that has it
    for v in vhids:
        key = (v.device, v.vhid)
        if None not in key:
            first = groups.get(key)
            if first is not None:
                errors.append(ConfigError("carp.%s.vhid" % v.name, str(v.vhid), "a vhid not already used on %s "
                                          "(carp.%s has it)" % (v.device, first.name)))
            else:
                groups[key] = v
        for address in v.vips:
            owner = owners.get((address.family, address.packed))
            if owner is not None:
                errors.append(ConfigError("carp.%s.address" % v.name, address.text, "an address no other "
                                          "vhid has (carp.%s has it)" % owner))
            else:
                owners[(address.family, address.packed)] = v.name


def from_sections(sections, network_sections=None):
    """UCI sections of the carp config -> (Globals, [VhidConfig] of the enabled
    vhids). Raises ConfigErrors listing every problem."""
    errors = []
    settings = None
    first_globals = None
    vhids = []
    for section in sections:
        if section.type == "globals":
            found = _globals(section, errors)
            if first_globals is None:
                first_globals, settings = section, found
            else:
                errors.append(ConfigError("carp." + section.name, section.type, "at most one globals section "
                                          "(carp.%s is the first)" % first_globals.name))
        elif section.type == "vhid":
            vhid = _vhid(section, network_sections, errors)
            if vhid.enabled:
                vhids.append(vhid)
        else:
            errors.append(ConfigError("carp." + section.name, section.type, "a section type of carp: "
                                      + ", ".join(SECTION_TYPES)))
    _check_unique(vhids, errors)
    if errors:
        raise ConfigErrors(errors)
    return settings or config.Globals(), vhids


# A config for every vhid a router could run is a few KB; a bigger file is
# refused unread, as reading it would keep the event loop busy on reload.
MAX_FILE_BYTES = 65536


def load(path="/etc/config/carp", network_path="/etc/config/network"):
    """Read and validate the carp config. /etc/config/network is read only
    when a vhid names an `interface`, so a daemon given devices does not
    depend on it."""
    size = os.stat(path)[6]
    if size > MAX_FILE_BYTES:
        raise uci.UciError(1, "%d bytes: a carp config may hold at most %d" % (size, MAX_FILE_BYTES), path)
    sections = uci.load(path)
    network = None
    for section in sections:
        if section.type == "vhid" and "interface" in section.options:
            try:
                network = uci.load(network_path)
            except OSError:
                network = None  # every `interface` then reports it cannot be resolved
            break
    return from_sections(sections, network)
