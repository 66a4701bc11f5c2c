"""The UCI reader against the rules of libuci's file parser in strict mode
(openwrt/uci file.c; docs/openwrt-notes.md): one test per rule, then the malformed
files it refuses, with line numbers, then each deliberate difference from
libuci that carp/uci.py lists."""
import pytest

from carp import uci


def one(text):
    """The options of the only section of a file."""
    sections = uci.parse(text)
    assert len(sections) == 1
    return sections[0].options


def value(text):
    """The value of option v in `config t` followed by text."""
    return one("config t\n" + text)["v"]


def error(text):
    with pytest.raises(uci.UciError) as e:
        uci.parse(text)
    return e.value


# --- files that hold nothing -------------------------------------------------

def test_an_empty_file_has_no_sections():
    assert uci.parse("") == []
    assert uci.parse(b"") == []


def test_a_file_of_comments_and_blank_lines_has_no_sections():
    assert uci.parse("# one\n\n   # indented\n\t\n#last without newline") == []


# --- commands ------------------------------------------------------------------

def test_config_opens_a_named_section():
    [s] = uci.parse("config vhid 'lan'\n\toption vhid '1'\n")
    assert (s.type, s.name, s.anonymous, s.options, s.line) == ("vhid", "lan", False, {"vhid": "1"}, 1)


def test_config_without_a_name_opens_an_anonymous_section_addressed_by_type_and_index():
    sections = uci.parse("config vhid\nconfig globals\nconfig vhid 'named'\nconfig vhid\n")
    assert [(s.name, s.anonymous) for s in sections] == [
        ("@vhid[0]", True), ("@globals[0]", True), ("named", False), ("@vhid[2]", True)]


def test_an_empty_section_name_is_anonymous():
    [s] = uci.parse("config vhid ''\n")
    assert s.anonymous and s.name == "@vhid[0]"


def test_one_letter_abbreviations():
    [s] = uci.parse("p carp\nc vhid 'x'\no vhid 1\nl address a\nl address b\n")
    assert (s.type, s.name, s.options) == ("vhid", "x", {"vhid": "1", "address": ["a", "b"]})


def test_package_line_is_accepted_and_ignored():
    [s] = uci.parse("package 'carp-1_x'\n\nconfig vhid\n")
    assert s.type == "vhid"


def test_options_and_lists_go_to_the_latest_section():
    a, b = uci.parse("config t 'a'\noption x 1\nconfig t 'b'\noption x 2\nlist y 3\n")
    assert a.options == {"x": "1"} and b.options == {"x": "2", "y": ["3"]}


def test_setting_an_option_again_replaces_it():
    assert value("option v one\noption v two\n") == "two"


def test_an_option_set_again_keeps_its_place():
    # libuci's uci_set puts the new value where the old one was (uci export shows it there).
    assert list(one("config t\noption a 1\noption b 2\noption a 3\n").items()) == [("a", "3"), ("b", "2")]
    assert list(one("config t\nlist a 1\noption b 2\noption a 3\n").items()) == [("a", "3"), ("b", "2")]


def test_an_option_without_a_value_is_not_set():
    assert one("config t\noption v\noption w ''\n") == {}


def test_an_empty_value_does_not_clear_an_earlier_one():
    # libuci's file parser calls uci_set without a complete lookup, so the
    # "empty value deletes" branch never runs while reading a file.
    assert value("option v 'kept'\noption v ''\n") == "kept"


def test_list_appends_in_order():
    assert value("list v 'c'\nlist v 'a'\nlist v 'b'\n") == ["c", "a", "b"]


def test_list_after_option_turns_it_into_a_list():
    assert value("option v 'first'\nlist v 'second'\n") == ["first", "second"]


def test_option_after_list_replaces_the_list():
    assert value("list v 'a'\nlist v 'b'\noption v 'c'\n") == "c"


def test_list_keeps_empty_items():
    assert value("list v ''\nlist v\nlist v 'x'\n") == ["", "", "x"]


def test_a_repeated_named_section_merges_and_keeps_its_first_place():
    sections = uci.parse("config vhid 'a'\noption x 1\noption y 1\nconfig vhid 'b'\n"
                         "config vhid 'a'\noption y 2\nlist z 3\n")
    assert [(s.name, s.line) for s in sections] == [("a", 1), ("b", 4)]
    assert sections[0].options == {"x": "1", "y": "2", "z": ["3"]}


def test_repeated_anonymous_sections_stay_apart():
    sections = uci.parse("config vhid\noption x 1\nconfig vhid\noption x 2\n")
    assert [(s.name, s.options) for s in sections] == [("@vhid[0]", {"x": "1"}), ("@vhid[1]", {"x": "2"})]


# --- quoting -------------------------------------------------------------------

def test_unquoted_single_and_double_quoted_values():
    assert one("config t\noption a plain\noption b 'single'\noption c \"double\"\n") == \
        {"a": "plain", "b": "single", "c": "double"}


def test_nothing_is_special_inside_single_quotes():
    assert value("option v 'a\\b \"c\" # d ; e \\'\n") == 'a\\b "c" # d ; e \\'


def test_backslash_in_double_quotes_keeps_the_next_character():
    assert value('option v "say \\"hi\\" \\\\ \\n \\$x # ; \'"\n') == 'say "hi" \\ n $x # ; \''


def test_backslash_in_unquoted_text_keeps_the_next_character():
    assert value(r"option v a\ b\#c\;d\'e\\f" + "\n") == "a b#c;d'e\\f"


def test_quoted_and_unquoted_pieces_glue_into_one_word():
    assert value("option v 'it'\\''s'\n") == "it's"
    assert value("option v a'b c'\"d e\"f\n") == "ab cd ef"


def test_empty_quotes_are_an_empty_value():
    assert one("config t\nlist v ''\nlist v \"\"\n") == {"v": ["", ""]}


def test_a_quote_left_open_carries_the_value_over_lines():
    assert value("option v 'line one\n  line two'\n") == "line one\n  line two"
    assert value('option v "a\n\nb"\n') == "a\n\nb"


def test_line_numbers_stay_right_after_a_multi_line_value():
    assert error("config t\noption v 'a\nb\nc'\nbogus\n").line == 5


def test_tabs_and_spaces_separate_words():
    assert one("config\tt\t 'n'\n \t option \t v \t 'x' \t\n") == {"v": "x"}


def test_values_keep_inner_tabs_and_non_ascii_text():
    assert value("option v 'a\tb é ü 漢'\n") == "a\tb é ü 漢"


# --- comments and separators ---------------------------------------------------

def test_a_line_starting_with_hash_is_a_comment():
    assert one("# config x\nconfig t\n   # option v 1\n") == {}


def test_an_unquoted_hash_ends_the_line():
    assert one("config t # the section\noption a 'x' # why\noption b y#z\noption c 'q'#r\n") == \
        {"a": "x", "b": "y", "c": "q"}


def test_a_quoted_or_escaped_hash_is_text():
    assert one("config t\noption a '#x'\noption b \"#y\"\noption c \\#z\n") == {"a": "#x", "b": "#y", "c": "#z"}


def test_semicolons_separate_commands_on_one_line():
    [s] = uci.parse("config t 'n'; option a 'x' ; list b 1;list b 2\n")
    assert s.options == {"a": "x", "b": ["1", "2"]}


def test_a_semicolon_may_be_followed_by_a_comment():
    assert one("config t\noption a 'x'; # note\n") == {"a": "x"}


def test_a_quoted_semicolon_is_text():
    assert one("config t\noption a 'x;y'\noption b \"p;q\"\n") == {"a": "x;y", "b": "p;q"}


# --- line continuation and line endings -----------------------------------------

def test_a_backslash_at_the_end_of_a_line_continues_the_word():
    assert value("option v abc\\\ndef\n") == "abcdef"


def test_a_continued_line_continues_the_word_before_an_argument():
    # libuci: the backslash starts a word; the next line's text carries it on,
    # and a blank there ends it, empty.
    assert value("option v \\\n'x'\n") == "x"
    assert one("config t \\\n'n'\noption \\\nv 1\n") == {"v": "1"}
    assert "too many arguments to option 'v'" in str(error("config t\noption v \\\n   'x'\n"))
    assert "too many arguments to config" in str(error("config t \\\n 'n'\n"))


def test_an_empty_word_after_the_last_argument_ends_the_command():
    # libuci's assert_eol reads one more word: an empty one ends the command,
    # and the rest of the line is read as further commands.
    assert one("config t\noption a 1 ''\n") == {"a": "1"}
    assert one("config t\noption a 1 '' option b 2\n") == {"a": "1", "b": "2"}
    assert one("config t\noption a 1 \\\n\toption b 2\n") == {"a": "1", "b": "2"}
    assert "invalid command" in str(error("config t\noption a 1 '' ''\n"))
    # ... and it steps over the one blank that ended the empty word and splits
    # the rest at spaces and tabs: blanks before the line end make a command.
    assert one("config t\noption a 1 '' #c\n") == {"a": "1"}
    for tail in (" ", "\t", "  ", " \x0b"):
        assert "libuci reads the line end as a command" in str(error("config t\noption a 1 ''%s\n" % tail))
    assert "libuci reads the line end as a command" in str(error("config t\noption a 1 \\\n \n"))


@pytest.mark.parametrize("blank", ["\x0b", "\x0c", "\r"])
def test_the_command_word_ends_at_a_space_or_tab_only(blank):
    # libuci splits the command off with strtok(" \t"); other blanks are part of it.
    assert "invalid command" in str(error("config t\noption%sa 1\n" % blank))
    assert one("config t\noption a%s1\n" % blank) == {"a": "1"}  # between arguments, any blank


def test_a_backslash_newline_inside_double_quotes_is_removed():
    assert value('option v "ab\\\ncd"\n') == "abcd"


def test_a_backslash_newline_inside_single_quotes_is_kept():
    assert value("option v 'ab\\\ncd'\n") == "ab\\\ncd"


def test_crlf_line_endings():
    [s] = uci.parse("config t 'n'\r\n\toption a 'x'\r\n\toption b y\r\n\toption c lo\\\r\nng\r\n")
    assert s.options == {"a": "x", "b": "y", "c": "long"}


def test_a_backslash_at_the_end_of_the_file_is_dropped():
    assert value("option v x\\") == "x"


def test_line_numbers_count_continued_lines():
    assert error("config t\noption v a\\\nb\\\nc\nbogus\n").line == 5


# --- malformed files: every error says which line --------------------------------

@pytest.mark.parametrize("text, line, fragment", [
    ("option a b\n", 1, "before the first config section"),
    ("\n\nlist a b\n", 3, "before the first config section"),
    ("config t\nbogus a b\n", 2, "invalid command 'bogus'"),
    ("config t\nOption a b\n", 2, "invalid command 'Option'"),
    ("config t\n'option' a b\n", 2, "invalid command"),
    ("config t\noption#x a b\n", 2, "invalid command"),
    ("config\n", 1, "config without a section type"),
    ("config ''\n", 1, "config without a section type"),
    ("config 'a b'\n", 1, "invalid section type"),
    ("config t 'n' extra\n", 1, "too many arguments to config"),
    ("config t 'my-section'\n", 1, "invalid section name 'my-section'"),
    ("config t 'é'\n", 1, "invalid section name"),
    ("config t\noption\n", 2, "option without a name"),
    ("config t\nlist '' x\n", 2, "list without a name"),
    ("config t\noption a b c\n", 2, "too many arguments to option 'a'"),
    ("config t\nlist a b c\n", 2, "too many arguments to list 'a'"),
    ("config t\noption my-opt x\n", 2, "invalid option name 'my-opt'"),
    ("config t\noption a.b x\n", 2, "invalid option name"),
    ("package\n", 1, "package without a name"),
    ("package 'a.b'\n", 1, "invalid package name"),
    ("package a b\n", 1, "too many arguments to package"),
    ("config t 'n'\nconfig u 'n'\n", 2, "declared as 't' on line 1, not 'u'"),
    ("config t\noption a 'never closed\n\n", 2, "unterminated '"),
    ("config t\n\noption a \"never closed\\\"\n", 3, 'unterminated "'),
    ("config t\noption a 'x';\n", 2, "';' without a command after it"),
    ("config t\noption a 'x' ;   \n", 2, "';' without a command after it"),
    ("config t\n; option a x\n", 2, "';' without a command after it"),
    ("config t\noption a 'x';;option b y\n", 2, "';' without a command after it"),
])
def test_malformed_input_is_refused_with_its_line(text, line, fragment):
    e = error(text)
    assert isinstance(e, ValueError)
    assert e.line == line
    assert str(e).startswith("line %d: " % line)
    assert fragment in str(e), str(e)


def test_errors_never_quote_the_extra_words_of_a_value():
    # An unquoted passphrase with a space would otherwise leak into the log.
    e = error("config vhid\noption password my secret words\n")
    assert "secret" not in str(e) and "words" not in str(e)
    assert "too many arguments to option 'password'" in str(e)


def test_the_reported_line_is_where_an_unterminated_quote_opened():
    assert error("config t\noption a x\noption b 'open\nmore\nand more\n").line == 3


# --- files -----------------------------------------------------------------------

def test_load_reads_a_file(tmp_path):
    path = tmp_path / "carp"
    path.write_bytes(b"config vhid 'lan'\n\toption vhid '1'\n")
    [s] = uci.load(str(path))
    assert (s.name, s.options) == ("lan", {"vhid": "1"})


def test_load_errors_name_the_file_and_line(tmp_path):
    path = tmp_path / "carp"
    path.write_text("config vhid\n\toption vhid 1 2\n")
    with pytest.raises(uci.UciError) as e:
        uci.load(str(path))
    assert e.value.line == 2 and e.value.path == str(path)
    assert str(e.value).startswith("%s: line 2: too many arguments" % path)


def test_export_output_reads_back():
    """What `uci export` writes (single quotes, '\\'' for a quote) reads back."""
    text = ("package carp\n\nconfig globals 'globals'\n\toption enabled '1'\n\n"
            "config vhid\n\toption password 'it'\\''s'\n\tlist address '10.0.0.1/24'\n"
            "\tlist address 'fd00::1'\n\n")
    g, v = uci.parse(text)
    assert (g.name, g.options) == ("globals", {"enabled": "1"})
    assert (v.name, v.options) == ("@vhid[0]", {"password": "it's", "address": ["10.0.0.1/24", "fd00::1"]})


# --- deliberate differences from libuci (carp/uci.py lists them) ------------------------------

def test_difference_a_semicolon_always_separates_commands():
    # libuci overwrites the ';' after an unquoted word and drops what follows it.
    assert one("config t\noption a x;option b y\n") == {"a": "x", "b": "y"}
    assert one("config t 'n'; option a 1\n") == {"a": "1"}
    # ... and takes `option a x;` while it refuses `option a 'x';`: here both are refused.
    for text in ("config t\noption a x;\n", "config t\noption a 'x';\n", "config t x;\n"):
        assert "';' without a command after it" in str(error(text))


@pytest.mark.parametrize("byte", [0x01, 0x0b, 0x1b, 0x1f])
def test_difference_control_characters_in_a_value_are_refused(byte):
    # libuci's file parser takes them (only `uci set` applies uci_validate_text).
    e = error("config t\noption a 'x%sy'\n" % chr(byte))
    assert e.line == 2 and "control character 0x%02x" % byte in str(e)
    assert value("option v 'a\tb\rc'\n") == "a\tb\rc"  # tab and CR are text


def test_difference_a_value_that_is_not_utf8_is_refused():
    # libuci takes any bytes; carp's values are text.
    e = error(b"config t\noption a '\xc3('\n")
    assert e.line == 2 and "argument 2 is not UTF-8 text" in str(e)
    assert value("option v 'gr\u00fc\u00dfe'\n") == "gr\u00fc\u00dfe"
