#!/usr/bin/env python3
"""package/luci-app-carp/po/templates/carp.pot from the sources, the way
LuCI's i18n scan collects strings: every _('...') literal of the views, the
menu titles and the ACL description. Sorted by msgid, each with where it
comes from.

    python3 tests/luci/potfile.py          # rewrite the .pot
    python3 tests/luci/potfile.py --check  # exit 1 if it is out of date
"""
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
APP = os.path.join(ROOT, "package", "luci-app-carp")
POT = os.path.join(APP, "po", "templates", "carp.pot")

# _('text') or _("text"), with backslash escapes inside.
CALL = re.compile(r"""\b_\(\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\s*\)""")


def unescape(text):
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), text)


def sources():
    for top in ("htdocs", "root"):
        for folder, dirs, names in os.walk(os.path.join(APP, top)):
            dirs.sort()
            for name in sorted(names):
                yield os.path.join(folder, name)


def scan():
    """msgid -> ['path:line', ...]"""
    found = {}
    for path in sources():
        rel = os.path.relpath(path, APP).replace(os.sep, "/")
        with open(path, encoding="utf-8") as f:
            text = f.read()
        if path.endswith(".js"):
            for m in CALL.finditer(text):
                msgid = unescape(m.group(1) if m.group(1) is not None else m.group(2))
                line = text.count("\n", 0, m.start()) + 1
                found.setdefault(msgid, []).append("%s:%d" % (rel, line))
        elif path.endswith(".json"):
            doc = json.loads(text)
            for key in sorted(doc):
                entry = doc[key]
                for field in ("title", "description"):
                    if isinstance(entry, dict) and isinstance(entry.get(field), str):
                        line = text.count("\n", 0, text.index('"%s"' % key)) + 1
                        found.setdefault(entry[field], []).append("%s:%d" % (rel, line))
    return found


def quote(text):
    return '"%s"' % text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")


def render(found):
    out = ['msgid ""', 'msgstr "Content-Type: text/plain; charset=UTF-8"', ""]
    for msgid in sorted(found):
        for where in found[msgid]:
            out.append("#: " + where)
        out.append("msgid " + quote(msgid))
        out.append('msgstr ""')
        out.append("")
    return "\n".join(out)


def main(argv):
    text = render(scan())
    if "--check" in argv:
        with open(POT, encoding="utf-8") as f:
            return 0 if f.read() == text else 1
    os.makedirs(os.path.dirname(POT), exist_ok=True)
    with open(POT, "w", encoding="utf-8") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
