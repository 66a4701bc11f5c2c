"""dnsmasq's lease file: parsed, merged with a peer's, written back, and
the signed datagram that carries it (leasesync.py sends and receives it).
No sockets here."""
import os
import struct

from carp import wire

MAGIC = b"CLS1"
# magic, flags, vhid, the datagram's length (0 from releases before 2026-12),
# sender's time, nonce, sequence
HEADER = ">4sBBHIQI"
HEADER_LEN = struct.calcsize(HEADER)
MAX_DATAGRAM = 65000  # one UDP datagram; about 600 leases
HMAC_LABEL = b"carp leases 1"


def parse(text):
    """dnsmasq's lease file -> ({ip: (expiry, mac, ip, hostname, client_id)},
    [other lines]). expiry is epoch seconds, 0 for an infinite lease. Lines
    that are not IPv4 leases (a DHCPv6 `duid` line, IA leases) are kept
    aside untouched."""
    leases = {}
    others = []
    for line in text.split("\n"):
        fields = line.split()
        if not fields:
            continue
        if len(fields) == 5 and fields[0].isdigit() and fields[2].count(".") == 3 and ":" not in fields[2]:
            leases[fields[2]] = (int(fields[0]), fields[1], fields[2], fields[3], fields[4])
        else:
            others.append(line)
    return leases, others


def render(leases, others):
    # Sorted only to be deterministic (MicroPython's dicts keep no order).
    lines = ["%d %s %s %s %s\n" % leases[ip] for ip in sorted(leases)]
    return "".join(lines) + "".join(line + "\n" for line in others)


def client(lease):
    """Who holds a lease: its client id, else its MAC (as dnsmasq matches)."""
    return lease[4] if lease[4] != "*" else lease[1]


def _lasts(expiry):
    return 1 << 62 if expiry == 0 else expiry  # 0: infinite


def live(leases, now):
    return {ip: lease for ip, lease in leases.items() if lease[0] == 0 or lease[0] > now}


def merge(local, incoming, now, released=None):
    """local and incoming lease dicts -> (merged, learned). learned: the
    merged file binds an address or a client differently from local (a
    running dnsmasq must then be restarted to know it)."""
    merged = live(local, now)
    released = released or {}
    holder = {client(lease): ip for ip, lease in merged.items()}  # client -> its address here
    for ip, lease in live(incoming, now).items():
        if released.get((ip, lease[1]), -1) >= lease[0]:
            continue  # our dnsmasq released it: do not bring it back
        who = client(lease)
        rivals = [merged[at] for at in (ip, holder.get(who)) if at in merged]
        if any(_lasts(other[0]) >= _lasts(lease[0]) for other in rivals):
            continue
        for other in rivals:
            merged.pop(other[2], None)
            holder.pop(client(other), None)
        merged[ip] = lease
        holder[who] = ip
    learned = _bindings(merged) != _bindings(live(local, now))
    return merged, learned


def _bindings(leases):
    return sorted((ip, client(lease)) for ip, lease in leases.items())


def lacks(theirs, ours):
    """True if `ours` holds a lease `theirs` lacks or has for less long."""
    for ip, lease in ours.items():
        other = theirs.get(ip)
        if other is None or client(other) != client(lease) or _lasts(other[0]) < _lasts(lease[0]):
            return True
    return False


def read_text(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def write_text(path, text):
    temporary = path + ".carp"
    with open(temporary, "w") as f:
        f.write(text)
    os.rename(temporary, path)


def pack(hmac, flags, vhid, now, nonce, seq, leases):
    """One signed datagram; expiries relative to `now` (0 stays infinite)."""
    lines = []
    for ip in sorted(leases):
        lease = leases[ip]
        left = 0 if lease[0] == 0 else max(1, lease[0] - now)
        lines.append("%d %s %s %s %s\n" % ((left,) + lease[1:]))
    body = "".join(lines).encode()
    length = HEADER_LEN + len(body) + wire.MAC_LEN
    head = struct.pack(HEADER, MAGIC, flags, vhid, length if length <= MAX_DATAGRAM else 0, now, nonce, seq)
    message = head + body
    return message + hmac.digest(HMAC_LABEL, message)


def stated_length(head):
    """The length a datagram's header (HEADER_LEN bytes) says it has; 0 from
    earlier releases."""
    return struct.unpack_from(HEADER, head, 0)[3]


def unpack(hmac, vhid, data, now):
    """-> (flags, nonce, seq, leases in our clock), or None if not valid."""
    if len(data) < HEADER_LEN + wire.MAC_LEN:
        return None
    message = data[:-wire.MAC_LEN]
    magic, flags, their_vhid, length, sent, nonce, seq = struct.unpack_from(HEADER, message, 0)
    if magic != MAGIC or their_vhid != vhid or length not in (0, len(data)):
        return None
    if not wire.equal_at(data, len(message), hmac.digest(HMAC_LABEL, message), wire.MAC_LEN):
        return None
    try:
        leases, _ = parse(bytes(message[HEADER_LEN:]).decode())
    except (ValueError, UnicodeError):
        return None
    for ip, (left, mac, address, host, cid) in list(leases.items()):
        leases[ip] = (0 if left == 0 else now + left, mac, address, host, cid)
    return flags, nonce, seq, leases
