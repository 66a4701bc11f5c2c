"""The composition root: builds the daemon's parts from the configuration,
reconfigures them on a reload, starts and stops them.

    loop.py       the event loop: poll, deadlines, flood pacing, control
    datapath.py   advertisements in (drain -> packet -> machine), kernel effects out
    tracking.py   carriers, pings and the demotion they add up to
    report.py     log lines, hook events, the status document
    vhid.py       one running vhid: its machine, advertisement and counters

docs/design.md follows a packet and a timer through them.
"""
import sys

from carp import clock, control, netlink, packet, sockaddr, vmac, wire
from carp.datapath import DataPath, Interface
from carp.loop import SAMPLE_ONE_IN, Loop
from carp.machine import TRANSITION, R_STOP
from carp.report import Report, log
from carp.tracking import Tracking
from carp.vhid import Vhid, random_counter

AF_INET = sockaddr.AF_INET
AF_INET6 = sockaddr.AF_INET6

DROP_REASONS = packet.DROP_REASONS  # why packets were dropped; counters are indexed by these


class Fatal(Exception):
    """A problem the user must fix before the daemon can run."""


class Daemon:
    def __init__(self, configs, settings=None, reload_config=None):
        """configs: [VhidConfig]; settings: config.Globals (status file and
        interval, hooks, boot delay); reload_config: a function returning
        (Globals, [VhidConfig]) anew, or None when there is nothing to
        re-read (command line)."""
        self.route = netlink.Route()
        self.events = netlink.LinkEvents()
        self.reload_config = reload_config
        self.boot_delay_ms = (settings.boot_delay if settings else 0) * 1000
        self.interfaces = []
        self.vhids = []
        self.report = Report(settings)
        self.datapath = DataPath(self.route, self.report)
        self.tracking = Tracking(self.route, self.events, self.report, self.datapath.act)
        self.loop = Loop(self.events.fileno(), self.vhids, self.interfaces, self.datapath, self.tracking,
                         self.report, self.write_status, self.reload)
        for cfg in configs:
            if cfg.enabled:
                self._add_vhid(cfg)

    def write_status(self):
        self.report.write(self.vhids, self.tracking.trackers, self.datapath.drops, self.loop.load())

    # -- building -------------------------------------------------------------
    def _interface(self, name):
        for iface in self.interfaces:
            if iface.name == name:
                return iface
        link = self.route.get_link(name)
        if link is None:
            raise Fatal("interface %s does not exist" % name)
        iface = Interface(link, SAMPLE_ONE_IN)
        self.interfaces.append(iface)
        self.loop.watch(iface, iface.carp, iface.carp_sample)
        return iface

    def _own_addresses(self, iface, family, cfg):
        vips = cfg.addrs(family)
        return [(a, plen) for a, plen in self.route.addresses(family, iface.index) if a not in vips]

    def _add_vhid(self, cfg):
        iface = self._interface(cfg.device)
        if iface.by_vhid[cfg.vhid] is not None:
            raise Fatal("vhid %d is configured twice on %s" % (cfg.vhid, iface.name))
        source4 = cfg.source
        if source4 is None:
            own = self._own_addresses(iface, AF_INET, cfg)
            source4 = own[0][0] if own else None
        uses_v6 = any(v.family == AF_INET6 for v in cfg.vips) or any(f == AF_INET6 for f, _ in cfg.peers)
        uses_v4 = any(v.family == AF_INET for v in cfg.vips) or any(f == AF_INET for f, _ in cfg.peers)
        if uses_v4 and source4 is None:
            raise Fatal("%s has no IPv4 address to send from; set a source address" % iface.name)
        source6 = None
        if uses_v6:
            if iface.carp6 is None:
                iface.enable_ipv6()
                self.loop.watch(iface, iface.carp6, iface.carp6_sample)
            link_local = [a for a, _ in self._own_addresses(iface, AF_INET6, cfg) if wire.is_link_local6(a)]
            source6 = link_local[0] if link_local else None
        vhid = Vhid(cfg, iface, source4, source6, random_counter(), len(DROP_REASONS))
        if cfg.vmac:
            try:
                vhid.use_vmac(vmac.VirtualMac(self.route, iface, cfg.vhid, uses_v6))
            except vmac.MacvlanMissing as e:
                where = "--vmac" if cfg.name == "vhid%d" % cfg.vhid else "carp.%s.vmac" % cfg.name
                raise Fatal("%s: %s" % (where, e))
        iface.by_vhid[cfg.vhid] = vhid
        iface.vhids.append(vhid)
        self.vhids.append(vhid)
        iface.update_filters()
        return vhid

    def _remove_vhid(self, vhid):
        iface = vhid.iface
        if vhid.vmac is not None:
            vhid.vmac.remove()
        iface.by_vhid[vhid.vhid] = None
        iface.vhids.remove(vhid)
        self.vhids.remove(vhid)
        if iface.vhids:
            iface.update_filters()
        else:
            self.loop.forget(iface)
            iface.close()
            self.interfaces.remove(iface)

    # -- life cycle -----------------------------------------------------------
    def _start_vhid(self, vhid, now, hold_ms=0):
        self.datapath.clear_stale(vhid)
        m = vhid.machine
        log("%s: on %s from %s, advbase %d advskew %d%s, master down after %d ms" % (
            vhid.name(), vhid.iface.name, vhid.source_text(), m.advbase, m.advskew,
            " preempt" if m.preempt else "", m.master_down_ms()))
        if not vhid.iface.running:
            log("%s: %s has no carrier, waiting in INIT" % (vhid.name(), vhid.iface.name))
        self.datapath.act(vhid, m.start(now, vhid.iface.running, hold_ms))

    def start(self):
        now = clock.ticks_ms()
        self.tracking.build(self.vhids, now, self.loop.poller)
        self.tracking.update_demotion(self.vhids, now)  # so the first advertisement carries it
        if self.boot_delay_ms > 0:
            log(": waiting %d s before taking part (boot_delay)" % (self.boot_delay_ms // 1000))
        for vhid in self.vhids:
            self._start_vhid(vhid, now, self.boot_delay_ms)
        self.write_status()

    def run(self):
        self.start()
        self.loop.run()
        self.stop()

    def reload(self):
        if self.reload_config is None:
            log(": reload: nothing to re-read (configured on the command line)")
            return
        try:
            settings, configs = self.reload_config()
        except (ValueError, OSError) as e:  # config errors: keep running as we are
            log(": reload refused, keeping the running configuration:\n%s" % e)
            return
        try:
            self.reconfigure(settings, configs)
        except (Fatal, OSError) as e:
            log(": reload failed: %s" % e)

    def reconfigure(self, settings, configs):
        """Apply a new configuration: unchanged vhids keep their state and
        VIPs without a transition; changed ones restart; removed ones bow out
        and release; new ones start."""
        now = clock.ticks_ms()
        wanted = dict(((c.device, c.vhid), c) for c in configs if c.enabled)
        kept = removed = 0
        for vhid in list(self.vhids):
            new = wanted.get((vhid.cfg.device, vhid.vhid))
            if new is not None and new.key() == vhid.cfg.key():
                vhid.cfg = new  # same meaning; the section name may have changed
                del wanted[(new.device, new.vhid)]
                kept += 1
                continue
            self.datapath.act(vhid, vhid.machine.stop(now))
            self._remove_vhid(vhid)
            removed += 1
        for cfg in configs:
            if (cfg.device, cfg.vhid) in wanted:
                self._start_vhid(self._add_vhid(cfg), now)
        if settings is not None:
            self.report.configure(settings)
        self.tracking.build(self.vhids, now, self.loop.poller)
        self.tracking.update_demotion(self.vhids, now)
        log(": reloaded: %d kept, %d stopped, %d started" % (kept, removed, len(wanted)))
        self.write_status()

    def stop(self):
        """Bow out as master, release the addresses, close everything."""
        now = clock.ticks_ms()
        for vhid in self.vhids:
            actions = vhid.machine.stop(now)
            self.datapath.act(vhid, actions)
            if not actions & TRANSITION:  # already in INIT: hooks still hear of the stop
                self.report.hook(vhid, "STOP", R_STOP)
        self.write_status()
        if self.report.hooks is not None:
            self.report.hooks.close()  # the worker runs what is queued, then exits
        for vhid in self.vhids:
            if vhid.vmac is not None:
                vhid.vmac.remove()
        for iface in self.interfaces:
            iface.close()
        self.tracking.close()
        self.events.close()
        self.route.close()
        self.report.stopped(DROP_REASONS, self.datapath.drops)


def run(configs, settings=None, reload_config=None):
    try:
        daemon = Daemon(configs, settings, reload_config)
    except (Fatal, OSError) as e:
        sys.stderr.write("carpd: %s\n" % e)
        return 1
    fd = control.fd_from_env("CARP_CONTROL_FD")
    if fd is not None:
        daemon.loop.watch_control(fd, control.read_launcher_request)
    hook_fd = control.fd_from_env("CARP_HOOK_FD")
    if hook_fd is not None:
        from carp import hooks
        daemon.report.hooks = hooks.HookPipe(hook_fd)
    control.watch_signals(daemon.loop)
    daemon.run()
    return 0
