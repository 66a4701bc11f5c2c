"""Read the shipped /etc/config/carp, a grammar sample and the bad_configs
corpus, and print what came out, one line each: run under MicroPython and
CPython, the two outputs must be identical. Also checks each bad config's
`# where:` / `# expect:` header; prints 'ALL OK' at the end, exits 1 on failure.
Usage: check_uci.py SHIPPED_CONFIG BAD_CONFIGS_DIR
"""
import os
import sys

from carp import uci, uciconfig

failures = []

# Every rule of the grammar at least once: quotes, escapes, glued pieces,
# comments, ';', continuation, multi-line values, merging, anonymous names.
GRAMMAR = (
    "package carp # the package line\n"
    "config vhid 'a'; option vhid 1 ; list address '10.0.0.1/24'\n"
    "\toption password 'it'\\''s \"q\" \\n'\n"
    "\toption note \"tab\there \\\"x\\\" \\\\ #;\" # comment\n"
    "\toption long one\\\ntwo\n"
    "\toption multi 'first\n"
    "second'\n"
    "c vhid\n"
    "o x a\\ b\\#c\n"
    "l y 1\nl y 2\n"
    "o e 1 '' o f 2\n"  # an empty word after the last argument ends the command
    "o g 1 \\\n\to h 2\n"
    "config vhid 'a'\n"
    "\toption vhid 2\n"
    "config globals\r\n"
    "\toption enabled yes\r\n"
)


def check(name, ok):
    if not ok:
        print("FAIL " + name)
        failures.append(name)


def show_sections(label, sections):
    for s in sections:
        options = ["%s=%r" % (k, s.options[k]) for k in sorted(s.options)]
        print("%s: %s %s anonymous=%s line=%d %s" % (label, s.type, s.name, s.anonymous, s.line, " ".join(options)))


def show_config(label, result):
    settings, vhids = result
    print("%s: globals enabled=%s status_file=%s status_interval=%d" % (
        label, settings.enabled, settings.status_file, settings.status_interval))
    for v in vhids:
        print("%s: vhid %s device=%s vhid=%d passphrase=<%d bytes> advbase=%d advskew=%d preempt=%s "
              "demote=%d deadratio=%d source=%r peers=%r vips=%s" % (
                  label, v.name, v.device, v.vhid, len(v.passphrase), v.advbase, v.advskew, v.preempt,
                  v.demote, v.deadratio, v.source, v.peers,
                  ",".join("%s=/%d" % (x.text, x.prefixlen) for x in v.vips)))


def header(text, key):
    prefix = "# %s: " % key
    return [line[len(prefix):] for line in text.split("\n") if line.startswith(prefix)]


def main():
    shipped, bad_dir = sys.argv[1], sys.argv[2]
    network = uci.load(bad_dir + "/network")

    sections = uci.load(shipped)
    show_sections("shipped", sections)
    show_config("shipped", uciconfig.from_sections(sections, network))

    sections = uci.parse(GRAMMAR)
    show_sections("grammar", sections)
    check("grammar: glued quotes", sections[0].options["password"] == "it's \"q\" \\n")

    names = sorted(n for n in os.listdir(bad_dir) if n.endswith(".uci"))
    check("at least 40 bad configs", len(names) >= 40)
    for name in names:
        with open(bad_dir + "/" + name) as f:
            text = f.read()
        where, expects = header(text, "where")[0], header(text, "expect")
        try:
            uciconfig.from_sections(uci.parse(text), network)
            errors = []
        except uciconfig.ConfigErrors as e:
            errors = e.errors
        for error in errors:
            print("%s: %s" % (name, error))
        found = [str(e) for e in errors if e.where == where]
        check(name + ": one error, at " + where, len(errors) == 1 and len(found) == 1)
        for fragment in expects:
            check(name + ": says " + fragment, bool(found) and fragment in found[0])
    print("ALL OK" if not failures else "%d FAILED" % len(failures))
    sys.exit(1 if failures else 0)


main()
