#!/usr/bin/env python3
"""Write firmware/package.json, mip's list of the daemon's files, from
firmware/carp/*.py and the version in carp/__init__.py (make docs).

Sources are relative to the package.json, which mpremote's `mip install`
and the mip of MicroPython 1.25 and later resolve against its own location,
so a fork or a local clone installs its own files:
    mpremote mip install github:<owner>/<repo>/firmware/package.json
"""
import glob
import json
import os
import re

FIRMWARE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "firmware")
PATH = os.path.join(FIRMWARE, "package.json")


def version():
    with open(os.path.join(FIRMWARE, "carp", "__init__.py")) as f:
        return re.search(r'^VERSION = "(.*)"$', f.read(), re.M).group(1)


def render():
    files = sorted(os.path.relpath(p, FIRMWARE) for p in glob.glob(os.path.join(FIRMWARE, "carp", "*.py")))
    urls = ",\n".join("    [%s, %s]" % (json.dumps(f), json.dumps(f)) for f in files)
    return '{\n  "urls": [\n%s\n  ],\n  "deps": [],\n  "version": %s\n}\n' % (urls, json.dumps(version()))


if __name__ == "__main__":
    text = render()
    json.loads(text)
    with open(PATH, "w") as f:
        f.write(text)
