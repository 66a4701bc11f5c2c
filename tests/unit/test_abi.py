"""ABI numbers come from firmware/carp/abi.py only: a literal socket type,
level, option or errno anywhere else in the daemon is how SOCK_DGRAM 2 and
SO_RCVBUF 8 reached MIPS routers (where they mean SOCK_STREAM and
SO_KEEPALIVE)."""
import ast
import errno
import re
import socket
from pathlib import Path

import pytest

from tests.tools import FIRMWARE

PACKAGE = Path(FIRMWARE) / "carp"
ABI_NAME = re.compile(r"^(SOCK_|SOL_|SO_|IPPROTO_|IP_|IPV6_|AF_|E[A-Z]{3,}$)(?!.*_LEN$)")
SOCKET_CALLS = {"socket": 2, "setsockopt": 2, "getsockopt": 2}  # how many leading arguments are ABI numbers


def _modules():
    return sorted(p for p in PACKAGE.glob("*.py") if p.name != "abi.py")


def literal_abi_numbers(source):
    """(line, what) for every ABI number spelled as a literal in source."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            for arg in node.args[:SOCKET_CALLS.get(name, 0)]:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, int):
                    found.append((node.lineno, "%s(..., %d, ...)" % (name, arg.value)))
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name) and ABI_NAME.match(target.id) \
                        and isinstance(node.value, ast.Constant) and isinstance(node.value.value, int):
                    found.append((node.lineno, "%s = %d" % (target.id, node.value.value)))
    return found


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.name)
def test_no_literal_socket_numbers_outside_abi(path):
    assert literal_abi_numbers(path.read_text()) == []


def test_the_check_finds_what_broke_mips():
    old = 's = socket.socket(sockaddr.AF_PACKET, 2, 0)\ns.setsockopt(sockaddr.SOL_SOCKET, 8, 256)\nEAGAIN = 11\n'
    assert sorted(line for line, _ in literal_abi_numbers(old)) == [1, 2, 3]


def test_the_table_agrees_with_this_machines_modules():
    """The generic column, checked against CPython's own constants here (the
    MIPS column is checked the same way under qemu: tests/foreign)."""
    from carp import abi
    assert not abi.MIPS or socket.SOCK_DGRAM == 1
    for name, (generic, mips) in abi._SOCKET_OPTIONS.items():
        if hasattr(socket, name):
            assert getattr(socket, name) == (mips if abi.MIPS else generic), name
    for name, (generic, mips) in abi._ERRNOS.items():
        assert getattr(errno, name) == (mips if abi.MIPS else generic), name
