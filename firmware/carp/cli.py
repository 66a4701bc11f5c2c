"""Command line.

    carpd [-c /etc/config/carp]          every vhid of a UCI file (the default)
    carpd -i DEV [-s SRCIP] -v VHID -p PASS -a VIP[/LEN] [-a VIP...]
          [-b ADVBASE] [-k ADVSKEW] [-P] [-r DEADRATIO] [--demote N]
                                         one vhid, ucarp-compatible options
    carpd status [--json] [-f FILE]      the running daemon's status
    carpd --check [-c FILE]              validate a UCI file, run nothing
"""
import sys

USAGE = """usage: carpd [-c FILE]                       (UCI, default /etc/config/carp)
       carpd -i DEV -v VHID -p PASS -a VIP[/LEN] [options]
       carpd status [--json] [-f FILE]
       carpd --check [-c FILE]
  -c, --config FILE     read every vhid from this UCI file; SIGHUP re-reads it
      --check           only validate the UCI file the way the daemon reads it:
                        every error on stderr, exit status 1 if there is one
  -i, --interface DEV   interface the virtual addresses live on (required)
  -s, --srcip IP        source of advertisements and tie-break address
                        (default: the first IPv4 address of DEV)
  -v, --vhid N          virtual host id 1..255 (required)
  -p, --pass PASS       passphrase, at most 19 bytes
  -o, --passfile FILE   read the passphrase from the first line of FILE
  -a, --addr VIP[/LEN]  virtual IPv4 or IPv6 address, repeat for several (required)
      --peer IP         send advertisements to this unicast address instead of
                        multicast; repeat for several
  -b, --advbase S       advertisement base interval 0..254 s (default 1;
                        0 gives sub-second intervals of advskew/256 s)
  -k, --advskew N       skew 0..254 in 1/256 s, higher is less preferred (default 0)
  -P, --preempt         take over from a less preferred master
  -r, --deadratio N     master is down after N*advbase + advskew/256 s (default 3)
      --demote N        demotion 0..255 sent in advertisements (OpenBSD)
      --vmac            answer for the VIPs with the virtual MAC 00:00:5e:00:01:VHID
                        (a macvlan device; needs kmod-macvlan)
  -h, --help            this text
  -V, --version         print the version
Stop with SIGTERM (through the carpd launcher) or Ctrl-C: a master bows out."""

# long name -> (short, takes a value)
OPTIONS = {
    "interface": ("i", True), "srcip": ("s", True), "vhid": ("v", True),
    "pass": ("p", True), "passfile": ("o", True), "addr": ("a", True),
    "advbase": ("b", True), "advskew": ("k", True), "preempt": ("P", False),
    "deadratio": ("r", True), "demote": ("", True), "help": ("h", False),
    "version": ("V", False), "config": ("c", True), "peer": ("", True),
    "check": ("", False), "vmac": ("", False),
}
DEFAULT_CONFIG = "/etc/config/carp"
_BY_SHORT = dict((short, name) for name, (short, _) in OPTIONS.items() if short)


class UsageError(ValueError):
    pass


def _where(name):
    short = OPTIONS[name][0]
    return ("-%s/--%s" % (short, name)) if short else ("--" + name)


def parse_args(argv):
    """argv (without the program name) -> {long name: [values]}."""
    seen = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg.startswith("--"):
            name, eq, value = arg[2:].partition("=")
            if name not in OPTIONS:
                raise UsageError("unknown option --%s" % name)
            takes = OPTIONS[name][1]
            if takes and not eq:
                if i >= len(argv):
                    raise UsageError("%s needs a value" % _where(name))
                value = argv[i]
                i += 1
        elif arg.startswith("-") and len(arg) > 1:
            name = _BY_SHORT.get(arg[1])
            if name is None:
                raise UsageError("unknown option %s" % arg)
            takes = OPTIONS[name][1]
            value = arg[2:]
            if takes and not value:
                if i >= len(argv):
                    raise UsageError("%s needs a value" % _where(name))
                value = argv[i]
                i += 1
            elif not takes and value:
                raise UsageError("%s takes no value" % _where(name))
        else:
            raise UsageError("unexpected argument %r" % arg)
        seen.setdefault(name, []).append(value if takes else True)
    return seen


def _one(seen, name, default=None):
    values = seen.get(name)
    if not values:
        return default
    if len(values) > 1:
        raise UsageError("%s given more than once" % _where(name))
    return values[0]


def _read_passfile(path):
    try:
        with open(path) as f:
            return f.readline().rstrip("\r\n")
    except OSError as e:
        raise UsageError("%s: cannot read %r: %s" % (_where("passfile"), path, e))


# The UCI option each command line option stands for: the command line's
# vhid goes through the same checks as a UCI section (uciconfig).
AS_UCI = {"interface": "device", "srcip": "source", "vhid": "vhid", "addr": "address", "peer": "peer",
          "advbase": "advbase", "advskew": "advskew", "deadratio": "deadratio", "demote": "demote"}
LISTS = ("addr", "peer")


def build_config(seen):
    for name in ("interface", "vhid", "addr"):
        if not seen.get(name):
            raise UsageError("%s is required" % _where(name))
    if seen.get("pass") and seen.get("passfile"):
        raise UsageError("give either %s or %s" % (_where("pass"), _where("passfile")))
    options = {}
    names = {}
    for name, option in AS_UCI.items():
        names[option] = _where(name)
        if seen.get(name):
            options[option] = list(seen[name]) if name in LISTS else _one(seen, name)
    secret = "pass"
    if seen.get("passfile"):
        secret = "passfile"
        options["password"] = _read_passfile(_one(seen, "passfile"))
    elif seen.get("pass"):
        options["password"] = _one(seen, "pass")
    names["password"] = _where(secret)
    if _one(seen, "preempt", False):
        options["preempt"] = "1"
    names["preempt"] = _where("preempt")
    if _one(seen, "vmac", False):
        options["vmac"] = "1"
    names["vmac"] = _where("vmac")
    from carp import uciconfig
    try:
        return uciconfig.command_line(options, names)
    finally:
        del uciconfig
        forget("uciconfig", "uci")


def _uci(path):
    """(settings, configs, reload function) from a UCI file.

    The UCI reader and its option table are a quarter of the daemon's
    bytecode and are needed only while (re)loading: they are imported for
    each load and dropped again, so MicroPython's heap does not keep them."""

    # The network file next to it, as libuci reads a package from its
    # config directory: /etc/config/carp -> /etc/config/network.
    folder, slash, _ = path.rpartition("/")
    network = folder + slash + "network"

    def load():
        from carp import uciconfig
        try:
            return uciconfig.load(path, network)
        finally:
            del uciconfig
            forget("uciconfig", "uci")

    settings, configs = load()
    return settings, configs, load


def check(path):
    """carpd --check: the init script runs it before start and reload, the
    rpcd plugin for LuCI; the same reader as the daemon, so what passes here
    is what the daemon runs."""
    try:
        settings, configs, _ = _uci(path)
    except OSError as e:
        sys.stderr.write("carpd: cannot read %s: %s\n" % (path, e))
        return 1
    except ValueError as e:  # ConfigErrors: one error per line; UciError: one line
        sys.stderr.write("%s\n" % e)
        return 1
    print("carpd: %s is valid: %d vhid%s enabled%s" % (path, len(configs), "" if len(configs) == 1 else "s",
                                                       "" if settings.enabled else ", carp disabled"))
    return 0


def forget(*names):
    """Unload carp.<name> modules, so their code can be collected."""
    import carp
    for name in names:
        sys.modules.pop("carp." + name, None)
        if hasattr(carp, name):
            delattr(carp, name)


def main(argv=None):
    if argv is None:
        argv = sys.argv[1:]
    if argv and argv[0] == "status":
        from carp import status
        return status.main(argv[1:])
    if argv and argv[0] == "leases":
        from carp import leasesync
        return leasesync.main(argv[1:])
    try:
        seen = parse_args(argv)
        if seen.get("help"):
            print(USAGE)
            return 0
        if seen.get("version"):
            from carp import VERSION
            print("carp " + VERSION)
            return 0
        if seen.get("check"):
            if len(seen) > 1 + ("config" in seen):
                raise UsageError("--check takes only %s" % _where("config"))
            return check(_one(seen, "config", DEFAULT_CONFIG))
        if seen.get("config") or not argv:
            if len(seen) > 1:
                raise UsageError("%s cannot be combined with other options" % _where("config"))
            path = _one(seen, "config", DEFAULT_CONFIG)
            try:
                settings, configs, reload_config = _uci(path)
            except OSError as e:
                sys.stderr.write("carpd: cannot read %s: %s\n" % (path, e))
                return 1
            if not settings.enabled:
                print("carpd: disabled (carp.globals.enabled is 0 in %s)" % path)
                return 0
        else:
            configs, settings, reload_config = [build_config(seen)], None, None
    except (UsageError, ValueError) as e:
        sys.stderr.write("carpd: %s\n%s\n" % (e, USAGE.split("\n")[0]))
        return 2
    from carp import daemon
    return daemon.run(configs, settings, reload_config)
