"""The ucarp-like command line: what it accepts and how it refuses."""
import pytest

from carp import cli, config


def build(argv):
    return cli.build_config(cli.parse_args(argv))


def test_ucarp_style_options_build_one_vhid():
    cfg = build("-i lan0 -s 10.0.0.1 -v 7 -p secret -a 10.0.0.254/24 -b 2 -k 100 -P -r 4".split())
    assert (cfg.device, cfg.vhid, cfg.passphrase, cfg.advbase, cfg.advskew, cfg.preempt, cfg.deadratio) == \
        ("lan0", 7, b"secret", 2, 100, True, 4)
    assert cfg.source == bytes([10, 0, 0, 1])
    assert [(v.packed, v.prefixlen) for v in cfg.vips] == [(bytes([10, 0, 0, 254]), 24)]


def test_long_options_attached_values_and_several_addresses():
    cfg = build(["--interface=lan0", "--vhid", "3", "-psecret", "--addr=10.0.0.254", "-a", "10.0.0.253/24",
                 "--demote", "2"])
    assert cfg.demote == 2 and cfg.source is None and cfg.advbase == 1 and not cfg.preempt
    assert [v.prefixlen for v in cfg.vips] == [32, 24]


def test_passfile_first_line(tmp_path):
    f = tmp_path / "pw"
    f.write_text("hunter2\nignored\n")
    assert build(["-i", "lan0", "-v", "1", "-o", str(f), "-a", "10.0.0.9"]).passphrase == b"hunter2"


@pytest.mark.parametrize("argv, where, allowed", [
    ("-i lan0 -v 0 -p x -a 10.0.0.1", "-v/--vhid", "1..255"),
    ("-i lan0 -v 256 -p x -a 10.0.0.1", "-v/--vhid", "1..255"),
    ("-i lan0 -v one -p x -a 10.0.0.1", "-v/--vhid", "integer"),
    ("-i lan0 -v 1 -p x -a 10.0.0.1 -b 255", "-b/--advbase", "0..254"),
    ("-i lan0 -v 1 -p x -a 10.0.0.1 -k 255", "-k/--advskew", "0..254"),
    ("-i lan0 -v 1 -p x -a 10.0.0.1 -r 0", "-r/--deadratio", "1..255"),
    ("-i lan0 -v 1 -p x -a 10.0.0.1 --demote 256", "--demote", "0..255"),
    ("-i lan0 -v 1 -p x -a 10.0.0.1/33", "-a/--addr", "/prefix"),
    ("-i lan0 -v 1 -p x -a 10.0.0", "-a/--addr", "IPv4"),
    ("-i lan0 -v 1 -p x -a 224.0.0.18", "-a/--addr", "unicast"),
    ("-i lan0 -v 1 -p x -a 10.0.0.1 -s 10.0.0.300", "-s/--srcip", "IPv4"),
    ("-i lan0 -v 1 -p 12345678901234567890 -a 10.0.0.1", "-p/--pass", "at most 19 bytes"),
    ("-i waytoolonginterface0 -v 1 -p x -a 10.0.0.1", "-i/--interface", "1..15"),
])
def test_bad_values_name_the_option_the_value_and_what_is_allowed(argv, where, allowed):
    with pytest.raises(config.ConfigErrors) as e:
        build(argv.split())
    assert [err.where for err in e.value.errors] == [where]
    assert str(e.value).startswith(where + ": ")
    assert allowed in str(e.value)


def test_the_passphrase_never_appears_in_the_error():
    with pytest.raises(config.ConfigErrors) as e:
        build("-i lan0 -v 1 -p supersecretpassword12 -a 10.0.0.1".split())
    assert "supersecret" not in str(e.value) and "21 bytes" in str(e.value)


@pytest.mark.parametrize("argv, message", [
    ("-v 1 -p x -a 10.0.0.1", "-i/--interface is required"),
    ("-i lan0 -p x -a 10.0.0.1", "-v/--vhid is required"),
    ("-i lan0 -v 1 -p x", "-a/--addr is required"),
    ("-i lan0 -v 1 -p x -a 10.0.0.1 -x", "unknown option -x"),
    ("-i lan0 -v 1 -p x -a 10.0.0.1 --frobnicate", "unknown option --frobnicate"),
    ("-i lan0 -v 1 -v 2 -p x -a 10.0.0.1", "given more than once"),
    ("-i lan0 -v", "needs a value"),
    ("-i lan0 -Pfoo", "takes no value"),
    ("-i lan0 -v 1 -p x -o /nonexistent -a 10.0.0.1", "either"),
])
def test_usage_errors(argv, message):
    with pytest.raises(cli.UsageError) as e:
        build(argv.split())
    assert message in str(e.value)


def test_main_exits_2_with_the_reason_on_stderr(capsys):
    assert cli.main("-i lan0 -v 0 -p x -a 10.0.0.1".split()) == 2
    assert "-v/--vhid: '0' is not valid" in capsys.readouterr().err


def test_uci_reader_is_unloaded_after_each_load(tmp_path):
    # MicroPython keeps a module's bytecode in its heap: the UCI reader is
    # needed only while loading, so it must not stay imported.
    import sys
    from carp import cli
    conf = tmp_path / "carp"
    conf.write_text("config globals 'globals'\n\toption enabled '1'\n\nconfig vhid 'lan'\n"
                    "\toption device 'eth0'\n\toption vhid '1'\n\toption password 'x'\n"
                    "\tlist address '10.0.0.1/24'\n")
    settings, configs, load = cli._uci(str(conf))
    assert [c.vhid for c in configs] == [1]
    assert "carp.uciconfig" not in sys.modules and "carp.uci" not in sys.modules
    _settings, again = load()  # a reload imports it again, and drops it again
    assert [c.vhid for c in again] == [1] and "carp.uciconfig" not in sys.modules


# -- issue 13: one validation path ---------------------------------------------

@pytest.mark.parametrize("argv, where", [
    ("-i br:lan -v 1 -a 10.0.0.1", "-i/--interface"),  # an alias label, not a device
    ("-i lan0 -v 1 -a ff02::5/128", "-a/--addr"),  # IPv6 multicast
    ("-i lan0 -v 1 -a 10.0.0.1 -a 10.0.0.1/24", "-a/--addr"),  # the same address twice
    ("-i lan0 -v 1 -a 10.0.0.1 --peer 10.0.0.1", "--peer"),  # our own address as the peer
    ("-i lan0 -v +1 -a 10.0.0.1", "-v/--vhid"),
    ("-i lan0 -v 1 -a 127.0.0.1", "-a/--addr"),
    ("-i lan0 -v 1 -a 10.0.0.1 -s 127.0.0.1", "-s/--srcip"),
    ("-i lan0 -v 1 -a 10.0.0.1 --peer ::1", "--peer"),
])
def test_the_command_line_is_refused_where_uci_would_be(argv, where):
    with pytest.raises(config.ConfigErrors) as e:
        build(argv.split())
    assert [err.where for err in e.value.errors] == [where]


# option -> (command line flag, values to try)
SAME = {
    "device": ("-i", ["lan0", "br:lan", "a/b", "x" * 16, "eth0.2"]),
    "vhid": ("-v", ["1", "255", "0", "+1", "01", "1_0", "\u0665", " 1"]),
    "address": ("-a", ["10.0.0.1", "10.0.0.1/24", "10.0.0.1/", "fd00::1/64", "ff02::5/128", "::1", "::", " 10.0.0.1"]),
    "advskew": ("-k", ["0", "254", "255", "-0", "+5", "5 "]),
    "source": ("-s", ["10.0.0.2", "127.0.0.1", "10.0.0.300", "fd00::1"]),
    "peer": ("--peer", ["10.0.0.2", "fd00::2", "224.0.0.18", "127.0.0.2", "10.0.0.2/32"]),
}


@pytest.mark.parametrize("option", sorted(SAME))
def test_every_value_gets_the_same_verdict_on_the_command_line_and_in_uci(option):
    from carp import uci, uciconfig
    flag, values = SAME[option]
    base = {"device": "lan0", "vhid": "1", "address": "10.0.0.9"}
    for value in values:
        options = dict(base, **{option: value})
        argv = []
        for name, text in sorted(options.items()):
            argv += [SAME[name][0], text]
        try:
            build(argv)
            cli_ok = True
        except config.ConfigErrors:
            cli_ok = False
        text = "config vhid 'x'\n" + "".join("\t%s %s '%s'\n" % ("list" if name in ("address", "peer") else "option",
                                                                    name, v) for name, v in sorted(options.items()))
        try:
            uciconfig.from_sections(uci.parse(text))
            uci_ok = True
        except uciconfig.ConfigErrors:
            uci_ok = False
        assert cli_ok == uci_ok, (option, value)


CHECKED = ("config globals 'globals'\n\toption enabled '1'\n\nconfig vhid 'lan'\n\toption interface 'lan'\n"
           "\toption vhid '1'\n\toption password 'x'\n\tlist address '10.0.0.1/24'\n")


def test_check_validates_with_the_network_file_beside_it(tmp_path, capsys):
    (tmp_path / "carp").write_text(CHECKED)
    (tmp_path / "network").write_text("config interface 'lan'\n\toption device 'br-lan'\n")
    assert cli.main(["--check", "-c", str(tmp_path / "carp")]) == 0
    out = capsys.readouterr()
    assert out.err == "" and "valid: 1 vhid enabled" in out.out


def test_check_lists_every_error_and_fails(tmp_path, capsys):
    (tmp_path / "carp").write_text(CHECKED.replace("'x'", "'%s'" % ("x" * 20)).replace("'1'\n\toption pass", "'0'\n\toption pass"))
    assert cli.main(["-c", str(tmp_path / "carp"), "--check"]) == 1
    err = sorted(capsys.readouterr().err.splitlines())
    assert len(err) == 3
    assert err[0].startswith("carp.lan.interface: 'lan' is not valid: an interface of ")  # no network file here
    assert err[1].startswith("carp.lan.password:")
    assert err[2].startswith("carp.lan.vhid: '0' is not valid: an integer 1..255")


def test_check_reports_an_unreadable_file_and_takes_no_other_option(tmp_path, capsys):
    assert cli.main(["--check", "-c", str(tmp_path / "none")]) == 1
    assert "cannot read" in capsys.readouterr().err
    assert cli.main(["--check", "-k", "3"]) == 2
