"""A classic BPF interpreter for the instructions kfilter.py emits, written
from the kernel's documented semantics (Documentation/networking/filter.rst):
A and X are 32-bit, loads are big-endian, a load past the packet's end
drops it, jumps are relative to the next instruction, RET's value is how
many bytes to keep (0 = drop). It runs the encoded bytes, so the encoding
(host byte order, the u32 k) is tested too. The lab tests check the same
programs in the real kernel."""
import struct

SKF_AD_PKTTYPE = 0xFFFFF004
SKF_AD_RANDOM = 0xFFFFF038


def run(program, packet, pkttype=0, random=0):
    """program: the bytes handed to SO_ATTACH_FILTER -> bytes kept (0: dropped).
    pkttype and random: what the kernel's ancillary loads would give."""
    insns = [struct.unpack_from("=HBBI", program, i) for i in range(0, len(program), 8)]
    a = x = 0
    pc = 0
    for _ in range(len(insns) + 1):
        code, jt, jf, k = insns[pc]
        pc += 1
        cls = code & 0x07
        if cls == 0x00:  # LD
            mode, size = code & 0xE0, code & 0x18
            if mode == 0x80:  # LEN
                a = len(packet)
            elif mode == 0x20:  # ABS
                if k in (SKF_AD_PKTTYPE, SKF_AD_RANDOM):
                    a = pkttype if k == SKF_AD_PKTTYPE else random
                    continue
                width = {0x00: 4, 0x08: 2, 0x10: 1}[size]
                if k + width > len(packet):
                    return 0
                a = int.from_bytes(packet[k:k + width], "big")
            else:
                raise ValueError("unsupported load 0x%x" % code)
        elif cls == 0x05:  # JMP
            op = code & 0xF0
            if op == 0x00:
                pc += k
            elif op == 0x10:  # JEQ
                pc += jt if a == k else jf
            elif op == 0x30:  # JGE
                pc += jt if a >= k else jf
            else:
                raise ValueError("unsupported jump 0x%x" % code)
        elif cls == 0x06:  # RET
            return k
        elif code == 0x07:  # TAX
            x = a
        elif code == 0x87:  # TXA
            a = x
        else:
            raise ValueError("unsupported instruction 0x%x" % code)
        if pc >= len(insns):
            raise ValueError("ran off the end of the program")
    raise ValueError("no RET reached")
