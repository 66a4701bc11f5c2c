"""`carpd leases`: dnsmasq's DHCP leases replicated between the two routers.

dnsmasq serves DHCP only on the master (hotplug.d/carp/10-dnsmasq). This
process runs on both routers and keeps each one's lease file holding every
lease either of them granted, so the router that takes over serves a client
the address it already has and never hands that address to anyone else.

    config vhid 'lan'
        option dnsmasq '1'
        list lease_sync '192.168.1.2'   # the other router's own LAN address

Every half second it reads the lease file; when it changed (a lease granted,
renewed or released), and every HEARTBEAT seconds, it sends the whole file to
the peers in one UDP datagram to LEASE_PORT, signed with HMAC-SHA1 keyed by
the vhid's password. What a router receives it merges into its own file:

- a lease for an address or a client it does not know is added;
- for the same address or client, the lease that lasts longer wins, so a
  replayed or stale message can only re-add leases until they expire, never
  shorten or move one;
- a lease this router's dnsmasq released while serving is not re-added;
- on the backup (dnsmasq stopped) the merged file is written at once; on
  the master (after a failback or a split brain) dnsmasq is stopped, the
  file written and dnsmasq started again, but only if it taught it a lease.

A router whose view lacks something the sender has answers with its own
file, so one message from a router that rebooted (empty /tmp) or came back
from a failure brings both up to date. Expiry times travel relative to the
sender's clock, so the routers' clocks need not agree.

A replicator that has just started holds DHCP until every peer has sent its
file, or HOLD_S seconds have passed: a router that rebooted must not hand
out an address a client of the other router holds. While it holds, the
file status.lease_hold() names its PID; the 10-dnsmasq hook then stops
dnsmasq where it would start it, and the replicator starts it once the
leases are in (if its router is MASTER by then).
"""
import os
import select
import socket
import struct
import sys
import time

from carp import abi, sockaddr, wire
from carp.carpdstate import CarpdState, stamp
from carp.leasefile import HEADER_LEN, MAX_DATAGRAM, pack, stated_length, unpack  # noqa: F401
from carp.leasefile import lacks, live, merge, parse, read_text, render, write_text  # noqa: F401

LEASE_PORT = 9112
WANT_REPLY = 1  # the sender wants the receiver's file back (it started, or just became master)
SERVING = 2  # the sender's vhid is MASTER: its dnsmasq serves

HEARTBEAT = 30  # seconds between unconditional sends
POLL_MS = 500  # lease file and status read this often: the longest replication delay
REPLY_GAP = 1  # seconds between unasked-for replies to one peer
HOLD_S = 5  # after a start, DHCP waits at most this long for the peers' files
ASK_GAP = 1  # seconds between asks while holding (a lost datagram is asked for again)

USAGE = """usage: carpd leases [-c /etc/config/carp] [--leasefile /tmp/dhcp.leases]
                    [--initd /etc/init.d] [--port %d] [--heartbeat %d] [--hold %d]""" % (
    LEASE_PORT, HEARTBEAT, HOLD_S)


# -- the process ------------------------------------------------------------

class Replicator:
    """One router's side: its lease file, its vhid's state, one UDP socket."""

    def __init__(self, vhid_cfg, status_file, leasefile, initd, port=LEASE_PORT, heartbeat=HEARTBEAT,
                 log=None, hold_file=None, hold_s=HOLD_S):
        self.cfg = vhid_cfg
        self.leasefile = leasefile
        self.initd = initd
        self.port = port
        self.heartbeat = heartbeat
        self.log = log or (lambda text: sys.stderr.write("carpd leases: %s\n" % text))
        self.carpd = CarpdState(status_file, vhid_cfg.name)
        self.reconfigure(vhid_cfg)
        self.nonce = struct.unpack(">Q", os.urandom(8))[0]
        self.seq = 0
        self.seen = {}  # peer -> (nonce, seq) of its last accepted datagram
        self.replied = {}  # peer -> when we last answered it unasked
        self.text = None  # the lease file as last read
        self.released = {}  # (ip, mac) -> expiry: leases our dnsmasq dropped while serving
        self.serving = None  # MASTER as tick() last saw it: a change asks the peers for their files
        self.hold_file = hold_file  # None: never hold (tests of the merge alone)
        self.hold_s = hold_s
        self.holding = False
        self.hold_until = 0
        self.heard = set()  # peers whose file arrived since we started
        self.refused, self.refused_logged = 0, -60
        self.last_sent = 0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(sockaddr.inet4(b"\0\0\0\0", port))
        # One buffer for every datagram, made while the heap is whole:
        # MicroPython's recvfrom(n) takes n contiguous bytes from the heap on
        # each call, and a fragmented one had no 64 KB left (MemoryError,
        # the replicator gone: seen in the DHCP lab). Its readinto reads on
        # across datagrams until the count is met, so it is given the length
        # the header states, on a non-blocking socket.
        self.sock.setblocking(False)
        self.rx = bytearray(MAX_DATAGRAM)
        self.rx_view = memoryview(self.rx)
        self.read_into = getattr(self.sock, "recv_into", None) or self.sock.readinto  # CPython, MicroPython

    def master(self, cached=False):
        """Is our vhid MASTER, as carpd's status file says? cached: the last
        answer while the file is the same one."""
        return self.carpd.master(cached)

    def send(self, flags, only=None):
        now = int(time.time())
        leases, _ = parse(self.text or "")
        self.seq += 1
        data = pack(self.hmac, flags | (SERVING if self.serving else 0), self.cfg.vhid, now, self.nonce,
                    self.seq, live(leases, now))
        if len(data) > MAX_DATAGRAM:
            self.log("%d leases do not fit one datagram; not sent" % len(leases))
            return
        for name, address in self.peers.items():
            if only is None or name == only:
                try:
                    self.sock.sendto(data, address)
                except OSError as e:
                    self.log("cannot send to %s: %s" % (name, e))
        if only is None:
            self.last_sent = now

    def tick(self):
        """Reads the status and the lease file; sends when either changed
        and on the heartbeat."""
        now = int(time.time())
        serving = self.master(cached=True)
        text = read_text(self.leasefile)
        want = serving != self.serving
        changed = text != self.text
        if changed and self.serving and serving and self.text is not None:
            self._note_released(parse(self.text)[0], parse(text)[0], now)
        self.serving, self.text = serving, text
        if self.holding:
            if not self.peers or now >= self.hold_until:
                self.release("no file from %s in %d s: dnsmasq serves the leases this router has"
                             % (", ".join(p for p in self.peers if p not in self.heard) or "any peer", self.hold_s))
            elif now - self.last_sent >= ASK_GAP:
                want = True
        if want or changed or now - self.last_sent >= self.heartbeat:
            self.send(WANT_REPLY if want else 0)

    def hold(self):
        """At start: DHCP waits for the peers' files (see the module's
        docstring). A dnsmasq that already serves (carpd became MASTER
        before we started) is stopped: it does not know their leases."""
        if self.hold_file is None or not self.peers:
            return
        from carp import status
        try:
            status.write_pid(self.hold_file, _pid())
        except OSError as e:
            self.log("cannot hold DHCP until the peers' leases are in: %s" % e)
            return
        self.holding = True
        self.hold_until = int(time.time()) + self.hold_s
        if self.master():
            self._dnsmasq("stop")

    def release(self, why):
        """The hold ends: dnsmasq starts if our router is MASTER (the hook
        stopped it meanwhile, or never started it)."""
        self.holding = False
        try:
            os.remove(self.hold_file)
        except OSError:
            pass
        self.log(why)
        # Removed before the look at carpd's state: a MASTER hook that still
        # saw the file ran after carpd wrote MASTER, so this look sees it.
        if self.master():
            self._dnsmasq("start")
            if not self.master():  # the BACKUP hook's stop may have come first
                self._dnsmasq("stop")

    def _note_released(self, before, after, now):
        for ip, lease in live(before, now).items():
            if ip not in after:
                self.released[(ip, lease[1])] = lease[0]
        for key, expiry in list(self.released.items()):
            if expiry != 0 and expiry <= now:
                del self.released[key]

    def _read(self):
        """The next datagram -> (its bytes, or None to drop it; its sender)."""
        head, source = self.sock.recvfrom(HEADER_LEN, abi.MSG_PEEK)  # the datagram stays queued
        peer = source[0] if isinstance(source, tuple) else sockaddr.ip4_text(source[4:8])
        length = stated_length(head) if len(head) == HEADER_LEN else -1
        if peer not in self.peers or length < 0:
            self.sock.recv(1)  # taken off the queue, the rest cut off
            return None, peer
        if length == 0:  # from a release that did not state it
            return self.sock.recvfrom(MAX_DATAGRAM + 100)[0], peer
        return self.rx_view[:self.read_into(self.rx, min(length, MAX_DATAGRAM)) or 0], peer

    def receive(self):
        data, peer = self._read()
        if data is None:
            return
        now = int(time.time())
        got = unpack(self.hmac, self.cfg.vhid, data, now)
        if got is None:
            self.refused += 1
            if now - self.refused_logged >= 60:  # a flood must not flood the log
                self.refused_logged = now
                self.log("%d datagrams from %s not signed with carp.%s.password (a different password?); dropped"
                         % (self.refused, peer, self.cfg.name))
                self.refused = 0
            return
        flags, nonce, seq, theirs = got
        last = self.seen.get(peer)
        if last is not None and last[0] == nonce and seq <= last[1]:
            return  # a replay or a reordered old one
        self.seen[peer] = (nonce, seq)
        self.absorb(theirs, now)
        self.heard.add(peer)
        ours = live(parse(self.text or "")[0], now)
        if self.holding and all(p in self.heard for p in self.peers):
            self.release("the peers' leases are in (%d in the file): DHCP may serve" % len(ours))
        if flags & WANT_REPLY or (lacks(theirs, ours) and now - self.replied.get(peer, 0) >= REPLY_GAP):
            self.replied[peer] = now
            self.send(0, only=peer)

    def absorb(self, theirs, now):
        local, others = parse(read_text(self.leasefile))
        merged, learned = merge(local, theirs, now, self.released)
        if merged == live(local, now):
            return
        if not self.master(cached=True):
            self.text = render(merged, others)
            write_text(self.leasefile, self.text)
            # carpd writes MASTER before its hook starts dnsmasq: still not
            # MASTER now means dnsmasq reads this file when it starts.
            if not self.master(cached=True):
                return
        elif not learned:
            return  # only longer expiries: the running dnsmasq has the addresses already
        # dnsmasq rewrites its file from memory: stop it, merge what it
        # wrote last, start it again unless we stopped being master (or
        # hold DHCP: release() starts it).
        self._dnsmasq("stop")
        local, others = parse(read_text(self.leasefile))
        merged, learned = merge(local, theirs, now, self.released)
        self.text = render(merged, others)
        write_text(self.leasefile, self.text)
        if self.holding:
            return
        if self.master():
            self._dnsmasq("start")
            # carpd writes its status before it queues the hook: had the
            # BACKUP hook's stop run while we were starting, this sees it.
            if not self.master():
                self._dnsmasq("stop")
        self.log("learned leases from the peer; dnsmasq restarted with %d" % len(merged))

    def _dnsmasq(self, action):
        # The init script (OpenWrt's procd one on a router) does the work;
        # the path comes from our command line, never from a peer.
        os.system("'%s/dnsmasq' %s" % (self.initd, action))

    @staticmethod
    def idle(vhid_cfg):
        """The same vhid with no peers: nothing sent, nothing accepted."""
        vhid_cfg.lease_sync = []
        return vhid_cfg

    def reconfigure(self, vhid_cfg):
        self.cfg = vhid_cfg
        self.carpd.name = vhid_cfg.name
        self.hmac = wire.HmacSha1(vhid_cfg.passphrase)
        self.peers = {sockaddr.ip4_text(p): sockaddr.inet4(p, self.port) for p in vhid_cfg.lease_sync}

    def run(self, rounds=None, reload=None):
        """reload() -> a new vhid config when the file changed, else None."""
        poller = select.poll()
        poller.register(self.sock, select.POLLIN)
        self.hold()
        next_tick = 0
        while rounds is None or rounds > 0:
            now = time.time()
            if now >= next_tick:
                fresh = reload() if reload is not None else None
                if fresh is not None:
                    self.reconfigure(fresh)
                self.tick()
                next_tick = now + POLL_MS / 1000
                if rounds is not None:
                    rounds -= 1
            wait = max(0, int((next_tick - time.time()) * 1000))
            for _ in poller.poll(wait):
                self.receive()


def _option(argv, name, default):
    if name in argv:
        i = argv.index(name)
        if i + 1 >= len(argv):
            raise ValueError("%s needs a value" % name)
        value = argv[i + 1]
        del argv[i:i + 2]
        return value
    return default


def main(argv):
    argv = list(argv)
    if "-h" in argv or "--help" in argv:
        print(USAGE)
        return 0
    try:
        path = _option(argv, "-c", "/etc/config/carp")
        leasefile = _option(argv, "--leasefile", "/tmp/dhcp.leases")
        initd = _option(argv, "--initd", "/etc/init.d")
        port = int(_option(argv, "--port", str(LEASE_PORT)))
        heartbeat = int(_option(argv, "--heartbeat", str(HEARTBEAT)))
        hold_s = int(_option(argv, "--hold", str(HOLD_S)))
        if argv:
            raise ValueError("unknown arguments: %s" % " ".join(argv))
    except ValueError as e:
        sys.stderr.write("carpd leases: %s\n%s\n" % (e, USAGE))
        return 2
    try:
        chosen, _ = _load(path)
    except (OSError, ValueError) as e:
        sys.stderr.write("carpd leases: %s\n" % e)
        return 1
    if chosen is None:
        print("carpd leases: no enabled vhid has `list lease_sync` in %s: nothing to do" % path)
        return 0
    # carpd's state is where carpd writes it: status.location() follows
    # $CARP_RUN_DIR as carpd does; globals.status_file only names the default.
    from carp import status
    replicator = Replicator(chosen, status.location(), leasefile, initd, port, heartbeat,
                            hold_file=status.lease_hold(), hold_s=hold_s)
    replicator.log("replicating %s with %s (udp %d), carpd's state from %s"
                   % (leasefile, ", ".join(replicator.peers), port, replicator.carpd.path))
    loaded = [stamp(path)]  # the config file's version in use

    def reload():
        now = stamp(path)
        if now == loaded[0]:
            return None
        loaded[0] = now
        try:
            fresh, _ = _load(path)
        except (OSError, ValueError) as e:
            replicator.log("%s not reloaded, the running settings stay: %s" % (path, e))
            return None
        if fresh is None:
            replicator.log("lease_sync is off in %s: nothing is sent until it is on again" % path)
            fresh = Replicator.idle(replicator.cfg)
        return fresh

    replicator.run(reload=reload)
    return 0


def _pid():
    """Our process's ID (MicroPython's os has no getpid)."""
    with open("/proc/self/stat") as f:
        return int(f.read().split()[0])


def _load(path):
    """-> (the vhid that has lease_sync, or None; Globals)."""
    from carp import uciconfig
    settings, vhids = uciconfig.load(path)
    chosen = [v for v in vhids if v.lease_sync]
    if len(chosen) > 1:
        raise ValueError("carp.%s.lease_sync: only one vhid may replicate dnsmasq's one lease file "
                         "(carp.%s has it too)" % (chosen[1].name, chosen[0].name))
    return (chosen[0] if chosen and settings.enabled else None), settings
