"""ArpSocket.announce and NdSocket.announce return the OSError of a send
that failed twice instead of raising it (rawsock._Announcer: the data path
logs it and goes on). Real sockets: a connected UDP pair stands for the
device, and the same socket closed fails as a down device does, with an
OSError from the kernel."""
import socket

import pytest

from carp import rawsock


def announcer(kind, sock):
    a = object.__new__(kind)  # the device sockets need AF_PACKET and a device; only the sending matters here
    a.sock = sock
    a._frame = bytearray(rawsock.ARP_FRAME_LEN)
    a._packet = bytearray(32)
    a._all_nodes = None  # NdSocket sendto()s here: the test sets it
    return a


@pytest.mark.parametrize("kind", [rawsock.ArpSocket, rawsock.NdSocket])
def test_a_sent_announcement_returns_none_and_a_failed_one_its_error(kind):
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        rx.bind(("127.0.0.1", 0))
        tx.connect(rx.getsockname())
        a = announcer(kind, tx)
        a._all_nodes = rx.getsockname()
        assert a._send() is None
        rx.settimeout(5)
        assert len(rx.recv(100)) in (rawsock.ARP_FRAME_LEN, 32)
        tx.close()
        error = a._send()
        assert isinstance(error, OSError)
    finally:
        rx.close()
        tx.close()
