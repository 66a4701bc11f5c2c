#!/usr/bin/env python3
"""The option table of docs/configuration.md, rendered from ucischema.SCHEMA.

    PYTHONPATH=firmware python3 scripts/optiondocs.py          rewrite the table in place (make docs)
    PYTHONPATH=firmware python3 scripts/optiondocs.py --check  exit 1 if the table is not what SCHEMA gives

The table sits between the two markers below. Its default and allowed columns
come from SCHEMA alone; the meaning column is prose, kept from the file by
option name. A new option gets a row asking for its meaning (which
tests/unit/test_option_docs.py refuses), a removed one loses its row.
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from carp import ucischema

DOC = os.path.join(ROOT, "docs", "configuration.md")
BEGIN = "<!-- options:begin (scripts/optiondocs.py renders this table from ucischema.SCHEMA) -->"
END = "<!-- options:end -->"
HEAD = "| option | meaning | default | allowed |\n|---|---|---|---|\n"
NO_MEANING = "(describe me)"
ROW = re.compile(r"^\| `([a-z_]+)\.([a-z_]+)` \| (.*) \|[^|]*\|[^|]*\|$")

# How each SCHEMA kind is checked, in words (ucischema holds the code).
KINDS = {
    "bool": "boolean",
    "statusfile": None,  # the one value, below
    "secret": None,  # its byte limit, below
    "netdev": "Linux device name: 1..15 characters, no `/`, `:` or blanks",
    "netifd": "netifd interface name: 1..15 letters, digits, `_`",
    "network": "an interface of `/etc/config/network`",
    "vip": "IPv4 or IPv6 address, optional `/prefix`",
    "unicast": "IPv4 or IPv6 address",
    "ip4addr": "IPv4 address",
    "name": "1..32 letters, digits, `_`",
}


def allowed(spec):
    kind = spec["kind"]
    if kind == "integer":
        words = "%d..%d" % (spec["low"], spec["high"])
    elif kind == "statusfile":
        words = "only `%s` (deprecated)" % spec["default"]
    elif kind == "secret":
        words = "at most %d bytes" % spec["high"]
    else:
        words = KINDS[kind]
    if spec["list"]:
        words = "list of at most %d; each: %s" % (spec["most"], words)
    if spec["required"]:
        words = "required; " + words
    if spec["instead"]:
        words += "; or `%s` instead, not both" % spec["instead"]
    return words


def default(spec):
    if spec["default"] is None:
        return "none"
    return "`%s`" % spec["default"] if spec["default"] else "empty"


def meanings(table):
    """(section, option) -> meaning, from the rows of an existing table."""
    found = {}
    for line in table.splitlines():
        m = ROW.match(line)
        if m:
            found[(m.group(1), m.group(2))] = m.group(3)
    return found


def render(old_table=""):
    known = meanings(old_table)
    rows = []
    for section in ("globals", "vhid"):
        for option, spec in ucischema.SCHEMA[section].items():
            meaning = known.get((section, option), NO_MEANING)
            rows.append("| `%s.%s` | %s | %s | %s |\n" % (section, option, meaning, default(spec), allowed(spec)))
    return HEAD + "".join(rows)


def split(text):
    if BEGIN not in text or END not in text:
        raise SystemExit("%s: no %s ... %s block" % (DOC, BEGIN, END))
    head, rest = text.split(BEGIN, 1)
    table, tail = rest.split(END, 1)
    return head, table.strip("\n") + "\n", tail


def rendered(text):
    head, table, tail = split(text)
    return head + BEGIN + "\n" + render(table) + END + tail


def main(argv):
    with open(DOC) as f:
        text = f.read()
    new = rendered(text)
    if "--check" in argv:
        if new != text:
            sys.stderr.write("docs/configuration.md: the option table is not SCHEMA's: run `make docs`\n")
            return 1
        return 0
    if new != text:
        with open(DOC, "w") as f:
            f.write(new)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
