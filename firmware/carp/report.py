"""What the daemon tells people: log lines, hook events, the status document.

Nothing is decided here: the machines decided, this says so. The status
document has no timer of its own: it is written when something it shows
changes (a transition, a split brain, demotion, a tracker, a new drop reason,
a reload), when asked (control request "status"), and for the counters at
most every status_interval, at the end of a turn that happens anyway (an
advertisement sent or received).
"""
import sys
import time

from carp import clock, machine, status


def log(message):
    print("carpd" + message)
    flush = getattr(sys.stdout, "flush", None)
    if flush:
        flush()


def transition_detail(vhid):
    """Why the last transition happened, with the peer's figures when they matter."""
    m = vhid.machine
    detail = m.reason
    if m.reason == machine.R_MASTER_DOWN:
        detail += ": no advertisement for %d ms" % m.master_down_ms()
    elif m.state == machine.BACKUP and m.previous == machine.MASTER:
        detail += " %s (advbase %d, advskew %d, demote %d)" % (
            vhid.peer_text(), m.peer_advbase, m.peer_advskew, m.peer_demote)
    elif m.reason in (machine.R_PREEMPT, machine.R_BOW_OUT, machine.R_DEMOTED_PEER, machine.R_SLOW_MASTER):
        detail += " (%s)" % vhid.peer_text()
    return detail


def hook_values(vhid, settings, action, reason):
    """One hook event: every key of hooks.KEYS (the contract with
    /etc/hotplug.d/carp/* and /etc/carp.user), and nothing else."""
    cfg = vhid.cfg
    vm = vhid.vmac
    return {
        "ACTION": action, "PREVIOUS": machine.STATE_NAMES[vhid.machine.previous],
        "VHID": cfg.vhid, "INSTANCE": cfg.name, "INTERFACE": cfg.interface or "",
        "DEVICE": cfg.device, "VIPS": " ".join(v.text for v in cfg.vips), "REASON": reason,
        "PEER": vhid.peer_text() or "",
        "VMAC": vm.text if vm is not None else "",
        "VMAC_DEVICE": vm.name if vm is not None else "",
        "CARP_DNSMASQ": 1 if cfg.dnsmasq else 0,
        "CARP_LEASE_HOLD": status.lease_hold() if cfg.dnsmasq and cfg.lease_sync else "",
        "CARP_WAN": " ".join(cfg.wan),
        "CARP_CONNTRACKD": 1 if cfg.conntrackd else 0,
        "CARP_USER_SCRIPT": 1 if settings is not None and settings.user_script else 0,
        "TIMEOUT": settings.hook_timeout if settings is not None else 30,
    }


class Report:
    def __init__(self, settings):
        """settings: config.Globals, or None on the command line (no status file)."""
        self.settings = settings
        self.path = status.location() if settings else None  # never from UCI (status.py)
        self.interval_ms = (settings.status_interval if settings else 60) * 1000
        self.next_write = None  # ticks: when the counters are written next (None: no file)
        self._next(clock.ticks_ms())
        self.sequence = 0  # the document's "sequence": `carp status` waits for it to move
        self.wanted = False  # write at the end of this turn
        self.hooks = None  # a hooks.HookPipe when the launcher started the worker

    def configure(self, settings):
        self.settings = settings
        self.interval_ms = settings.status_interval * 1000
        self._next(clock.ticks_ms())

    def _next(self, now):
        """The loop checks next_write (and wanted) itself: no call per turn."""
        self.next_write = clock.ticks_add(now, self.interval_ms) if self.path is not None else None

    def write(self, vhids, trackers, drops, load):
        """The status document, from what the daemon holds now."""
        self.wanted = False
        self._next(clock.ticks_ms())
        if self.path is None:
            return
        self.sequence += 1
        try:
            status.write(self.path, status.document(self.sequence, vhids, trackers, drops, load, self.hooks))
        except (OSError, ValueError) as e:
            log(": cannot write %s: %s" % (self.path, e))

    # -- what the machines did ------------------------------------------------
    def transition(self, vhid):
        m = vhid.machine
        vhid.transitions += 1
        vhid.since = int(time.time())
        detail = transition_detail(vhid)
        log("%s: %s -> %s (%s)" % (vhid.name(), machine.STATE_NAMES[m.previous], m.state_name(), detail))
        self.hook(vhid, "STOP" if m.reason == machine.R_STOP else m.state_name(), detail)
        self.wanted = True

    def conflict(self, vhid):
        """A split brain; the machine rate-limits it. No hooks: nothing
        changed here, and MASTER hooks restart services."""
        vhid.conflicts += 1
        vhid.last_conflict = int(time.time())
        m = vhid.machine
        log("%s: split brain: %s was master too (advbase %d, advskew %d, demote %d); we stay master "
            "and re-announce (reported at most once a minute)" % (
                vhid.name(), vhid.peer_text(), m.peer_advbase, m.peer_advskew, m.peer_demote))
        self.wanted = True

    def demotion(self, vhid, before, after):
        reasons = vhid.demotion_reasons
        log("%s: demotion %d -> %d%s" % (vhid.name(), before, after,
                                          (" (" + "; ".join(reasons) + ")") if reasons else ""))
        self.wanted = True

    def hook(self, vhid, action, reason):
        """Queue `hotplug-call carp` for this event (never waits)."""
        if self.hooks is None:
            return
        if not self.hooks.send(hook_values(vhid, self.settings, action, reason)):
            log("%s: hook for %s dropped: the hook worker is behind or gone" % (vhid.name(), action))

    def stopped(self, drop_reasons, drops):
        counts = ", ".join("%s %d" % (drop_reasons[i], c) for i, c in enumerate(drops) if c)
        log(": stopped%s" % ("; dropped: " + counts if counts else ""))
