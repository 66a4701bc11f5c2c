"""Kernel socket filters (classic BPF) that pass only what could be ours.

Built from the configuration at start and on reload, one program per
socket: the IPv4 CARP socket (offsets from the IPv4 header) and the IPv6
link-layer socket (offsets from the IPv6 header). They apply the same length,
TTL, version/type, authlen, vhid and unicast-source rules as packet.py, in
the same order, so junk of any kind and rate costs the daemon nothing: no
wake-up, no receive-queue space. Checksum and HMAC stay in user space.

Linux keeps no counter of what a socket filter drops, so those packets are
invisible to the daemon; the status document says which rules the kernel
applies ("kernel_filter") and the per-reason counters count everything that
reaches the daemon.

Every jump is short (at most one vhid block), so a program of up to 255
vhids stays within the 8-bit jump offsets. Pure: builds bytes, attaches
nothing (rawsock.attach_filter does).
"""
import struct
import sys

from carp import packet, wire

# linux/filter.h (and bpf_common.h): one encoding on every CPU
LD_W_ABS = 0x20
LD_H_ABS = 0x28
LD_B_ABS = 0x30
LD_W_LEN = 0x80
JEQ_K = 0x15
JGE_K = 0x35
RET_K = 0x06
TAX = 0x07
TXA = 0x87

KEEP = 0xFFFF  # bytes of the packet to keep: all of it (we accept 76 at most)
DROP = 0
MAX_INSNS = 4096  # BPF_MAXINSNS
MAX_JUMP = 255
# SKF_AD_OFF + SKF_AD_PKTTYPE = -4096 + 4, as an unsigned 32-bit value; bytes
# rather than an int so it stays a small int on 32-bit MicroPython.
AD_PKTTYPE = b"\xff\xff\xf0\x04"
PACKET_OUTGOING = 4
AD_RANDOM = b"\xff\xff\xf0\x38"  # SKF_AD_OFF + SKF_AD_RANDOM (56): the kernel's prandom_u32

_NATIVE_LITTLE = sys.byteorder == "little"


class Program:
    """A list of instructions (code, jt, jf, k); k is an int below 2**30 or
    4 big-endian bytes (addresses)."""

    def __init__(self):
        self.insns = []

    def emit(self, code, jt=0, jf=0, k=0):
        self.insns.append((code, jt, jf, k))

    def require(self, load, offset, value):
        """Drop unless the field loaded from offset equals value."""
        self.emit(load, k=offset)
        self.emit(JEQ_K, 1, 0, value)
        self.emit(RET_K, k=DROP)

    def drop_if(self, load, offset, value):
        self.emit(load, k=offset)
        self.emit(JEQ_K, 0, 1, value)
        self.emit(RET_K, k=DROP)

    def __len__(self):
        return len(self.insns)

    def encode(self):
        """struct sock_filter[]: u16 code, u8 jt, u8 jf, u32 k, host byte order."""
        out = bytearray(8 * len(self.insns))
        for i, (code, jt, jf, k) in enumerate(self.insns):
            struct.pack_into("HBB", out, 8 * i, code, jt, jf)
            if isinstance(k, int):
                struct.pack_into("I", out, 8 * i + 4, k)
            else:
                for j in range(4):
                    out[8 * i + 4 + j] = k[3 - j] if _NATIVE_LITTLE else k[j]
        return out


def _source_test(source_offset, peer):
    """Instructions that fall through when the source equals peer and jump
    past the accept otherwise: ([insns], accept follows)."""
    words = len(peer) // 4
    insns = []
    for w in range(words):
        left = words - w  # compares still to come, this one included
        insns.append((LD_W_ABS, 0, 0, source_offset + 4 * w))
        # on a mismatch skip the remaining load/compare pairs and the accept
        insns.append((JEQ_K, 0, 2 * (left - 1) + 1, bytes(peer[4 * w:4 * w + 4])))
    insns.append((RET_K, 0, 0, KEEP))
    return insns


def _vhid_block(vhid, peers, source_offset, check_sources):
    """Accept this vhid (from one of peers, if it has any); else go on."""
    rest = []
    if not check_sources:
        rest.append((RET_K, 0, 0, KEEP))
    else:
        for peer in peers:
            rest.extend(_source_test(source_offset, peer))
        rest.append((RET_K, 0, 0, DROP))  # a unicast vhid, not from a peer
    if len(rest) > MAX_JUMP:
        return None
    return [(TXA, 0, 0, 0), (JEQ_K, 0, len(rest), vhid)] + rest


def _vhids(prog, vhids, carp_offset, source_offset):
    """vhids: [(vhid, has_peers, [packed peers of this family])]. Peers are
    left to user space for a vhid with more than fit one jump, and for all
    vhids if the program would pass the kernel's size limit."""
    for check_sources in (True, False):
        blocks = []
        for vhid, has_peers, peers in sorted(vhids, key=lambda v: v[0]):
            block = _vhid_block(vhid, peers, source_offset, check_sources and has_peers)
            if block is None:
                block = _vhid_block(vhid, peers, source_offset, False)
            blocks.extend(block)
        if len(prog) + len(blocks) + 3 <= MAX_INSNS:
            break
    prog.emit(LD_B_ABS, k=carp_offset + wire.OFF_VHID)
    prog.emit(TAX)
    prog.insns.extend(blocks)
    prog.emit(RET_K, k=DROP)


def _carp_header(prog, off):
    prog.require(LD_B_ABS, off + wire.OFF_VERSION_TYPE, packet.VERSION_TYPE)
    prog.require(LD_B_ABS, off + wire.OFF_AUTHLEN, wire.AUTHLEN)


def program4(vhids):
    """For the IPv4 raw socket (it sees protocol 112 only, header first)."""
    prog = Program()
    prog.require(LD_W_LEN, 0, packet.IPV4_PACKET_LEN)
    prog.require(LD_B_ABS, 0, packet.VERSION_IHL)
    prog.require(LD_H_ABS, packet.OFF4_TOTAL_LENGTH, packet.IPV4_PACKET_LEN)
    prog.require(LD_B_ABS, packet.OFF4_TTL, wire.TTL)
    _carp_header(prog, packet.IPV4_HEADER_LEN)
    _vhids(prog, vhids, packet.IPV4_HEADER_LEN, packet.OFF4_SOURCE)
    return prog


def program6(vhids):
    """For the IPv6 link-layer socket (every IPv6 packet of the device)."""
    prog = Program()
    prog.drop_if(LD_W_ABS, AD_PKTTYPE, PACKET_OUTGOING)  # what we send ourselves
    prog.require(LD_W_LEN, 0, packet.IPV6_PACKET_LEN)
    prog.require(LD_H_ABS, packet.OFF6_PAYLOAD_LENGTH, wire.HEADER_LEN)
    prog.require(LD_B_ABS, packet.OFF6_NEXT_HEADER, wire.PROTO_CARP)
    prog.require(LD_B_ABS, packet.OFF6_HOP_LIMIT, wire.TTL)
    _carp_header(prog, packet.IPV6_HEADER_LEN)
    _vhids(prog, vhids, packet.IPV6_HEADER_LEN, packet.OFF6_SOURCE)
    return prog


def sampled(program, one_in):
    """program, passing on average one packet in one_in of those it passes:
    a random draw (the kernel's, not the sender's bytes) goes first, and the
    program's jumps are relative, so it runs unchanged after it."""
    out = Program()
    out.emit(LD_W_ABS, k=AD_RANDOM)
    # 2**32 // one_in, computed without a big int (small ints are 31-bit on 32-bit MicroPython)
    out.emit(JGE_K, 0, 1, (1 << 29) // one_in * 8)
    out.emit(RET_K, k=DROP)
    out.insns.extend(program.insns)
    return out


def drop_all():
    """What a socket holds until its configuration is known."""
    prog = Program()
    prog.emit(RET_K, k=DROP)
    return prog
