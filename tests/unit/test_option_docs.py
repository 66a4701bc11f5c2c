"""Every place that documents the options of /etc/config/carp against the one
source, ucischema.SCHEMA: the reference table of docs/configuration.md
(rendered from SCHEMA by scripts/optiondocs.py), the shipped
package/carp/files/carp.config, the LuCI settings page, and every sample
config and `section.option` named in the documentation. tests/luci renders
the page under node and checks its datatypes; this is the quick static
check of which options it has."""
import glob
import os
import re

import pytest

from carp import uci, uciconfig, ucischema
from scripts import optiondocs
from tests.tools import FIRMWARE, ROOT

SHIPPED = os.path.join(ROOT, "package", "carp", "files", "carp.config")
SETTINGS_JS = os.path.join(ROOT, "package", "luci-app-carp", "htdocs", "luci-static", "resources", "view", "carp",
                           "settings.js")
DOCS = sorted([os.path.join(ROOT, "README.md"), os.path.join(ROOT, "board", "README.md"),
               os.path.join(ROOT, "package", "carp", "README.md")] + glob.glob(os.path.join(ROOT, "docs", "*.md")))

# Options a user can set in UCI that the LuCI page leaves out, each with the
# reason. Empty: the page has every one (tests/luci holds it to SCHEMA too).
NOT_IN_LUCI = {
    # ("section", "option"): "why",
}

OPTION_LINE = re.compile(r"^\s*(#\s*)?(option|list)\s+([a-z_]+)\s+'([^']*)'")
CONFIG_LINE = re.compile(r"^\s*(#\s*)?config\s+([a-z_]+)")
RANGE = re.compile(r"\((\d+)\.\.(\d+)")


def schema_options():
    return set((section, name) for section, options in ucischema.SCHEMA.items() for name in options)


def read(path):
    with open(path) as f:
        return f.read()


# --- docs/configuration.md -------------------------------------------------------

def test_the_reference_table_is_rendered_from_schema():
    text = read(optiondocs.DOC)
    assert optiondocs.rendered(text) == text, "the option table is not SCHEMA's: run `make docs`"


def test_every_option_has_a_row_with_its_meaning():
    _, table, _ = optiondocs.split(read(optiondocs.DOC))
    rows = optiondocs.meanings(table)
    assert set(rows) == schema_options()
    for key, meaning in rows.items():
        assert meaning.strip() and meaning != optiondocs.NO_MEANING, "%s.%s: say what it does" % key


def test_rendering_drops_an_option_schema_lacks_and_asks_for_a_new_ones_meaning():
    _, table, _ = optiondocs.split(read(optiondocs.DOC))
    stale = table + "| `vhid.priority` | a VRRP word | `100` | 1..254 |\n"
    assert "vhid.priority" not in optiondocs.render(stale)
    without = "\n".join(line for line in table.splitlines() if "`vhid.up_delay`" not in line)
    assert "| `vhid.up_delay` | %s |" % optiondocs.NO_MEANING in optiondocs.render(without)


# --- everything else that names options ------------------------------------------

def config_blocks(text):
    """(section type, option) of each option line under `config globals` or
    `config vhid` in a text (fenced blocks of a document, or a config file)."""
    found = []
    stype = None
    for line in text.splitlines():
        m = CONFIG_LINE.match(line)
        if m:
            stype = m.group(2)
            continue
        if line.startswith("```"):
            stype = None
            continue
        m = OPTION_LINE.match(line)
        if m and stype in ucischema.SCHEMA:
            found.append((stype, m.group(3)))
    return found


@pytest.mark.parametrize("path", DOCS, ids=[os.path.relpath(p, ROOT) for p in DOCS])
def test_the_docs_name_only_options_the_daemon_has(path):
    text = read(path)
    # `vhid.py` is a module, not an option
    named = set(key for key in re.findall(r"`(globals|vhid)\.([a-z_]+)`", text) if key[1] != "py")
    named |= set(config_blocks(text))
    unknown = sorted("%s.%s" % key for key in named - schema_options())
    assert not unknown, "%s documents options ucischema.SCHEMA does not have: %s" % (path, unknown)


SAMPLES = [os.path.join(ROOT, "README.md"), optiondocs.DOC]


@pytest.mark.parametrize("path", SAMPLES, ids=[os.path.relpath(p, ROOT) for p in SAMPLES])
def test_the_sample_configs_are_ones_the_daemon_takes(path):
    """What a reader copies must pass `carpd --check` (given a `lan` interface)."""
    blocks = re.findall(r"```\n(config .*?)```", read(path), re.S)
    assert blocks, path
    network = uci.parse("config interface 'lan'\n\toption device 'br-lan'\n")
    for block in blocks:
        settings, vhids = uciconfig.from_sections(uci.parse(block), network)
        assert settings.enabled and vhids


# --- the shipped /etc/config/carp ------------------------------------------------

def shipped_options():
    """[(section, option, value, commented, comment above)] of the shipped file."""
    found = []
    stype = None
    comment = []
    for line in read(SHIPPED).splitlines():
        m = CONFIG_LINE.match(line)
        if m and not m.group(1):
            stype, comment = m.group(2), []
            continue
        m = OPTION_LINE.match(line)
        if m:
            found.append((stype, m.group(3), m.group(4), bool(m.group(1)), " ".join(comment)))
            comment = []
        elif line.strip().startswith("#"):
            comment.append(line.strip())
        else:
            comment = []
    return found


def test_the_shipped_config_shows_every_option_set_or_commented():
    shown = set((stype, name) for stype, name, _, _, _ in shipped_options())
    assert sorted(schema_options() - shown) == [], "add these to carp.config, commented out with their defaults"
    assert sorted(shown - schema_options()) == [], "carp.config shows options the daemon refuses"


def test_the_shipped_config_shows_schemas_defaults_and_ranges():
    for stype, name, value, commented, comment in shipped_options():
        spec = ucischema.SCHEMA[stype][name]
        where = "carp.config: %s.%s" % (stype, name)
        if spec["kind"] != "integer":
            continue
        if commented:
            # A commented-out number shows what the daemon assumes without it.
            assert value == spec["default"], "%s is shown as %r, the default is %r" % (where, value, spec["default"])
        for low, high in RANGE.findall(comment):
            assert (int(low), int(high)) == (spec["low"], spec["high"]), "%s: the comment says %s..%s" % (
                where, low, high)


# --- the LuCI page -----------------------------------------------------------------

def luci_options():
    """(section, option) of every field of the settings page: renderGlobals
    builds the globals section, the render*Tab functions the vhid dialog."""
    js = read(SETTINGS_JS)
    field = re.compile(r"\.(?:option|taboption)\((?:'[a-z]+',\s*)?[\w.]+,\s*'([a-z_]+)'")
    start = js.index("renderGlobals:")
    tabs = js.index("renderGeneralTab:")
    assert start < tabs
    found = set(("globals", name) for name in field.findall(js[start:tabs]))
    found |= set(("vhid", name) for name in field.findall(js[tabs:]))
    return found


def test_the_luci_page_offers_every_option_but_the_listed_exceptions():
    offered = luci_options()
    missing = schema_options() - offered - set(NOT_IN_LUCI)
    assert sorted(missing) == [], "the settings page lacks these (or list them in NOT_IN_LUCI, with why)"
    assert sorted(offered - schema_options()) == [], "the settings page offers options the daemon refuses"
    assert not set(NOT_IN_LUCI) & offered, "an exception the page no longer needs"


# --- the code ------------------------------------------------------------------------

def test_no_docstring_lists_options_beside_schema():
    """The option list once lived in uciconfig's docstring too, 16 options
    behind SCHEMA; SCHEMA and docs/configuration.md are the list now. A
    docstring may still show an example of two or three lines, of options
    that exist."""
    for path in sorted(glob.glob(os.path.join(FIRMWARE, "carp", "*.py"))):
        lines = [m.group(3) for m in map(OPTION_LINE.match, read(path).splitlines()) if m]
        assert len(lines) <= 3, "%s lists %d options: point at SCHEMA and docs/configuration.md" % (path, len(lines))
        names = set(name for _, name in schema_options())
        assert set(lines) <= names, "%s shows options SCHEMA lacks: %s" % (path, sorted(set(lines) - names))
