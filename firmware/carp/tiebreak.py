"""Who keeps mastership when two masters advertise exactly alike: our
source address against the peer's, read as a number and byte-reversed (how
ucarp reads IPv4 on little-endian hosts). The rule is in machine.py's
header; this is the compare, allocation-free, for the data path."""
from carp.compat import const

TIE_PEER_WINS = const(0)  # the peer's address is lower read both ways
TIE_WE_WIN = const(1)  # ours is lower read both ways
TIE_SPLIT_LOWER = const(2)  # the two readings disagree; ours is lower as a number
TIE_SPLIT_HIGHER = const(3)  # the two readings disagree; ours is higher as a number


def _lower(ours, buf, off, first, step):
    i = first
    n = len(ours)
    while n:
        if ours[i] != buf[off + i]:
            return ours[i] < buf[off + i]
        i += step
        n -= 1
    return False


def tie(ours, buf, off):
    """Compare our source address (4 or 16 bytes) with the peer's at
    buf[off:], as a number and byte-reversed (how ucarp reads IPv4 on
    little-endian hosts). No allocation."""
    numeric = _lower(ours, buf, off, 0, 1)
    reversed_ = _lower(ours, buf, off, len(ours) - 1, -1)
    if numeric == reversed_:
        return TIE_WE_WIN if numeric else TIE_PEER_WINS
    return TIE_SPLIT_LOWER if numeric else TIE_SPLIT_HIGHER
