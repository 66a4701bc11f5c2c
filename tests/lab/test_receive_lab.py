"""The receive path against the real kernel: an IPv6 advertisement smuggled
behind an off-link packet in one frame is not read (issue 10: the old
receive6 walked the trailing bytes as another packet and the master stepped
down), while the same advertisement on its own is (the control that shows
the test can fail).

The frames enter r1's cable from the switch side: the lab's Linux bridge
trims bytes after an IPv6 payload when br_netfilter is loaded (Docker loads
it), which a hardware switch never does."""
import socket
import sys
import time

from tests import forge
import pytest

from board.lab.carpctl import PASSPHRASE, Kernel, log_of, start_carp_uci
from board.lab.carplab import SWITCH

INTERPRETERS = ["micropython", "cpython"]

SEND_FRAME = r'''
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
s.send(bytes.fromhex(sys.argv[2]))
'''


def frame(lab, ipv6_packet):
    mac = lab.run("c1", ["cat", "/sys/class/net/%s/address" % lab.dev]).stdout.strip()
    return bytes.fromhex("333300000012" + mac.replace(":", "") + "86dd") + ipv6_packet


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_an_advertisement_hidden_behind_an_off_link_packet_is_not_read(lab, interpreter, tmp_path):
    section = [("lan", [("device", lab.dev), ("vhid", 1), ("password", PASSPHRASE), ("advskew", 50),
                        ("address", ["%s/%d" % (lab.vip6, lab.prefix6)])])]
    with Kernel(lab) as kernel:
        r1 = start_carp_uci(lab, "r1", interpreter, tmp_path, section)
        assert kernel.wait_holders(["r1"], 8.0, addr=lab.vip6) is not None, log_of(r1)
        # more preferred than r1 (advskew 0), valid HMAC, hop limit 255
        better = forge.ipv6("fe80::c1", forge.carp(vhid=1, advskew=0, key=PASSPHRASE.encode(),
                                                     vips6=[lab.vip6]))
        outer = forge.ipv6("fe80::c1", forge.carp(vhid=1, key=PASSPHRASE.encode(), vips6=[lab.vip6]),
                           hop_limit=1)
        smuggled = frame(lab, outer + better)
        for _ in range(3):
            lab.run(SWITCH, [sys.executable, "-c", SEND_FRAME, lab.port("r1"), smuggled.hex()])
        time.sleep(1.0)
        assert "MASTER -> BACKUP" not in log_of(r1), log_of(r1)
        assert kernel.holders(lab.vip6) == ["r1"]
        # the control: the same advertisement alone makes r1 step down
        lab.run(SWITCH, [sys.executable, "-c", SEND_FRAME, lab.port("r1"), frame(lab, better).hex()])
        assert lab.wait_for(lambda: "MASTER -> BACKUP" in log_of(r1), 5.0), log_of(r1)
