"""Read UCI files (/etc/config/*) the way libuci reads them, in strict mode.

A file is a sequence of commands, one per line or several separated by `;`:

    package <name>                # optional; checked, then ignored
    config <type> [<name>]        # opens a section; no name: anonymous
    option <name> [<value>]       # sets a value; again: replaces it
    list <name> [<value>]         # appends to a list (an option becomes one)

`p`, `c`, `o` and `l` abbreviate the commands. An argument is made of
unquoted, 'single quoted' and "double quoted" pieces glued together
('it'\\''s' is it's). In single quotes nothing is special; elsewhere a
backslash makes the next character literal and is dropped, and a backslash at
the end of a line joins the next line. A quote left open carries on across
lines, so values may span lines. An unquoted `#` starts a comment.

A named section given again merges into the first one and keeps its place;
an option given again keeps its place too (on CPython: MicroPython's dict
keeps no order, and nothing in carp depends on it). An anonymous section is
addressed `@<type>[<n>]`, n counting the sections of that type in file
order, as `uci show` prints it.

The reference is libuci's file parser in strict mode (openwrt/uci file.c,
as `uci` reads a file; checked against it case by case), including its
odd corners:
- the command word ends at a space or tab only: `option<VT>a 1` is an
  invalid command (libuci splits it off with strtok(" \\t"));
- a backslash-newline continues the word it is in, so before an argument
  followed by blanks on the next line it makes an empty argument:
  `option a \\<newline>  '1'` has too many arguments;
- libuci looks at one word after the last argument: "too many arguments"
  if it is not empty; if it is, the command ends there and the rest of the
  line is read as further commands (`option a 1 '' option b 2` sets two
  options; so does a backslash-newline after a value, with the next line
  indented), where blanks before the line end are an invalid command
  (`option a 1 '' ` is refused, `option a 1 ''` is not);
- an option set to an empty value leaves the option as it was (libuci's
  file parser calls uci_set without a complete lookup).

Deliberate differences from libuci (each has a test in tests/unit/test_uci.py,
"deliberate differences"):
- `;` always separates commands, and one with no command after it is an
  error. libuci overwrites the `;` in some spellings and then drops the
  command after it (`option a b;option c d`, `config t x; option a 1`) or
  refuses the line (`option a 'x';`) while `option a x;` passes.
- a value with a control character other than tab, CR and LF is refused
  (libuci's uci_validate_text, which `uci set` applies and its file parser
  does not).
- a value that is not UTF-8 is refused: carp's values are text; libuci takes
  any bytes.

The scanner works on bytes: on MicroPython indexing a str that holds any
non-ASCII character walks it from the start, and every delimiter is ASCII,
which never occurs inside a UTF-8 multi-byte sequence.
"""

_TAB = 9
_NEWLINE = 10
_CR = 13
_SPACE = 32
_HASH = 35
_DQUOTE = 34
_SQUOTE = 39
_SEMICOLON = 59
_BACKSLASH = 92
_END = -1  # what peek() returns past the last byte

# isspace() minus the newline: a newline ends the command, blanks only
# separate its arguments.
_BLANKS = (_SPACE, _TAB, 11, 12, _CR)
_ENDS_WORD = _BLANKS + (_NEWLINE, _SEMICOLON, _HASH, _END)

_COMMANDS = {"package": "package", "p": "package", "config": "config", "c": "config",
             "option": "option", "o": "option", "list": "list", "l": "list"}


class UciError(ValueError):
    """A malformed file; `line` is 1-based, where the bad command starts."""

    def __init__(self, line, message, path=None):
        text = "line %d: %s" % (line, message)
        if path:
            text = "%s: %s" % (path, text)
        super().__init__(text)
        self.line = line
        self.reason = message
        self.path = path


class Section:
    """One `config` block: options maps a name to a str (`option`) or a
    list of str (`list`)."""

    def __init__(self, type, name, line):
        self.type = type
        self.name = name  # anonymous: set to "@type[n]" once the file is read
        self.anonymous = name is None
        self.options = {}
        self.line = line

    def __repr__(self):
        return "Section(%r, %r, %r)" % (self.type, self.name, self.options)


def _is_name(text, extra=""):
    """Section and option names: [A-Za-z0-9_] (uci_validate_name); package
    names also allow '-'."""
    if not text:
        return False
    for c in text:
        if not ("a" <= c <= "z" or "A" <= c <= "Z" or "0" <= c <= "9" or c == "_" or c in extra):
            return False
    return True


def _is_type(text):
    """Section types: printable ASCII without space (uci_validate_type)."""
    if not text:
        return False
    for c in text:
        if not "!" <= c <= "~":
            return False
    return True


class _Scanner:
    def __init__(self, data):
        self.data = data
        self.pos = 0
        self.line = 1

    def peek(self):
        if self.pos < len(self.data):
            return self.data[self.pos]
        return _END

    def continuation(self):
        """Skip a backslash that ends the line (LF or CR LF) and the line end."""
        data, pos = self.data, self.pos
        if self.peek() != _BACKSLASH:
            return False
        if data[pos + 1:pos + 2] == b"\n":
            self.pos += 2
        elif data[pos + 1:pos + 3] == b"\r\n":
            self.pos += 3
        else:
            return False
        self.line += 1
        return True

    def skip_blanks(self):
        """Blanks only: a backslash starts a word, even one that continues
        the line (libuci's skip_whitespace)."""
        while self.peek() in _BLANKS:
            self.pos += 1

    def skip_comment(self):
        end = self.data.find(b"\n", self.pos)
        self.pos = len(self.data) if end < 0 else end

    def command(self):
        """The command word: bare text up to a space, tab or the line end
        (libuci splits it off with strtok(" \\t"), so quotes, `;` and other
        blanks are part of it)."""
        start = self.pos
        while self.peek() not in (_SPACE, _TAB, _NEWLINE, _END):
            self.pos += 1
        word = self.data[start:self.pos]
        try:
            return word.decode()
        except UnicodeError:
            return repr(word)  # no command: the error message shows it

    def arguments(self, most):
        """The arguments up to the end of the command (newline, `;`, `#`),
        at most `most` of them and one word more, as libuci reads them: an
        empty word there ends the command, the rest of the line is read as
        further commands."""
        args = []
        while len(args) <= most:
            self.skip_blanks()
            if self.peek() in (_NEWLINE, _SEMICOLON, _HASH, _END):
                return args
            line = self.line
            value = self.word()
            # Arguments are not quoted back in these messages: one may be a password.
            for byte in value:
                # uci_validate_text: tab, CR and LF are the only control characters.
                if byte < 32 and byte not in (_TAB, _NEWLINE, _CR):
                    raise UciError(line, "control character 0x%02x in argument %d" % (byte, len(args) + 1))
            try:
                args.append(bytes(value).decode())
            except UnicodeError:
                raise UciError(line, "argument %d is not UTF-8 text" % (len(args) + 1))
        return args

    def word(self):
        """One argument: unquoted, 'single' and "double" quoted pieces glued."""
        out = bytearray()
        while True:
            c = self.peek()
            if c == _SQUOTE:
                self.single_quoted(out)
            elif c == _DQUOTE:
                self.double_quoted(out)
            elif c == _BACKSLASH:
                if not self.continuation():
                    self.escaped(out)
            elif c in _ENDS_WORD:
                return out
            else:
                out.append(c)
                self.pos += 1

    def escaped(self, out):
        """A backslash not ending the line: drop it, keep the next byte as is
        (there is no \\n decoding). At the very end of the file it vanishes."""
        self.pos += 1
        c = self.peek()
        if c != _END:
            out.append(c)
            self.pos += 1

    def single_quoted(self, out):
        """Everything up to the next ' is literal, newlines included."""
        opened = self.line
        end = self.data.find(b"'", self.pos + 1)
        if end < 0:
            raise UciError(opened, "unterminated ' (the quote opened here runs to the end of the file)")
        text = self.data[self.pos + 1:end]
        out.extend(text)
        self.line += text.count(b"\n")
        self.pos = end + 1

    def double_quoted(self, out):
        """Up to the next unescaped "; a backslash escapes the next byte."""
        opened = self.line
        self.pos += 1
        while True:
            c = self.peek()
            if c == _END:
                raise UciError(opened, 'unterminated " (the quote opened here runs to the end of the file)')
            if c == _DQUOTE:
                self.pos += 1
                return
            if c == _BACKSLASH:
                if not self.continuation():
                    self.escaped(out)
                continue
            if c == _NEWLINE:
                self.line += 1
            out.append(c)
            self.pos += 1


def parse(text, path=None):
    """UCI text (str or bytes) -> [Section] in file order. Raises UciError."""
    data = text.encode() if isinstance(text, str) else bytes(text)
    scanner = _Scanner(data)
    sections = []
    named = {}
    current = None
    while True:
        scanner.skip_blanks()
        c = scanner.peek()
        if c == _END:
            break
        if c == _NEWLINE:
            scanner.pos += 1
            scanner.line += 1
            continue
        if c == _HASH:
            scanner.skip_comment()
            continue
        line = scanner.line
        if c == _SEMICOLON:
            raise UciError(line, "';' without a command after it", path)
        word = scanner.command()
        command = _COMMANDS.get(word)
        if command is None:
            if not word:
                raise UciError(line, "';' without a command after it", path)
            raise UciError(line, "invalid command %r: expected package, config, option or list" % word, path)
        most = 1 if command == "package" else 2
        try:
            args = scanner.arguments(most)
        except UciError as e:
            raise UciError(e.line, e.reason, path)
        if len(args) > most and not args[-1] and scanner.peek() in _BLANKS:
            # libuci steps over the one blank that ended the empty word and
            # splits the rest of the line at spaces and tabs only: a line end
            # (or another blank) left there is read as a command.
            scanner.pos += 1
            while scanner.peek() in (_SPACE, _TAB):
                scanner.pos += 1
            if scanner.peek() in _BLANKS or scanner.peek() == _NEWLINE:
                raise UciError(line, "blanks after an empty argument: libuci reads the line end as a command", path)
        if scanner.peek() == _SEMICOLON:
            # libuci takes `; # comment` but refuses `;` at the end of a line.
            scanner.pos += 1
            scanner.skip_blanks()
            if scanner.peek() in (_NEWLINE, _END):
                raise UciError(line, "';' without a command after it", path)
        current = _apply(command, args, line, sections, named, current, path)

    # Anonymous sections are addressed by their index among the sections of
    # their type, named ones included (uci_lookup_ext_section).
    seen = {}
    for section in sections:
        index = seen.get(section.type, 0)
        seen[section.type] = index + 1
        if section.anonymous:
            section.name = "@%s[%d]" % (section.type, index)
    return sections


def _apply(command, args, line, sections, named, current, path):
    """Carry out one command; returns the section that options now go to."""
    def fail(message):
        raise UciError(line, message, path)

    most = 1 if command == "package" else 2
    if len(args) > most and not args[-1]:
        args.pop()  # an empty word after the last argument ends the command (libuci's assert_eol)
    if len(args) > most:
        # Name the command, never the extra word: it may be half a password.
        what = "%s %r" % (command, args[0]) if command in ("option", "list") else command
        fail("too many arguments to %s (quote a value that has spaces)" % what)
    if command == "package":
        if not args:
            fail("package without a name")
        if not _is_name(args[0], "-"):
            fail("invalid package name %r: use A-Z, a-z, 0-9, _ and -" % args[0])
        return current  # a file read as one config names its package by its path
    if command == "config":
        if not args or not args[0]:
            fail("config without a section type")
        type = args[0]
        if not _is_type(type):
            fail("invalid section type %r: use printable characters without spaces" % type)
        name = args[1] if len(args) > 1 and args[1] else None
        if name is None:
            section = Section(type, None, line)
            sections.append(section)
            return section
        if not _is_name(name):
            fail("invalid section name %r: use A-Z, a-z, 0-9 and _" % name)
        section = named.get(name)
        if section is None:
            section = named[name] = Section(type, name, line)
            sections.append(section)
        elif section.type != type:
            fail("section %r was declared as %r on line %d, not %r" % (name, section.type, section.line, type))
        return section
    # option or list
    if current is None:
        fail("%s before the first config section" % command)
    if not args or not args[0]:
        fail("%s without a name" % command)
    name = args[0]
    if not _is_name(name):
        fail("invalid option name %r: use A-Z, a-z, 0-9 and _" % name)
    value = args[1] if len(args) > 1 else ""
    options = current.options
    if command == "list":
        old = options.get(name)
        if old is None:
            options[name] = [value]
        elif isinstance(old, list):
            old.append(value)
        else:
            options[name] = [old, value]  # an option followed by list items becomes a list
    elif value:
        options[name] = value  # in its place, as libuci's uci_set replaces it
    return current


def load(path):
    """Read and parse one UCI file; errors name the path."""
    with open(path, "rb") as f:
        data = f.read()
    return parse(data, path)
