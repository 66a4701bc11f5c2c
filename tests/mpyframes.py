"""How big each function's frame is on MicroPython, read from mpy-cross's output.

MicroPython (1.23, as OpenWrt ships it, and later) gives a Python function
call its frame (locals, value stack, one 3-word entry per nested try) on the
C stack only while it is at most 11 words; a larger one is allocated on the
GC heap and freed on every call (py/objfun.c, VM_MAX_STATE_ON_STACK). Under
micropython.heap_lock() that allocation silently falls back to the C stack,
so a heap-lock test cannot see it; the bytecode prelude says it exactly.

The .mpy v6 layout read here: 'M', version 6, flags, small-int bits; the
qstr table (uint len<<1, or index<<1|1 for a qstr in the interpreter's own
static pool); constant objects; then the tree of raw code (uint len<<3 |
has_children<<2 | kind, bytecode, [uint n_children, children...]). Each
bytecode starts with its signature (n_state, n_exc_stack, ...: xSSSSEAA then
xFSSKAED bytes), then its size (n_info, n_cell), then the function's name
as an index into the qstr table.

Names from the static pool are resolved by compiling a probe that defines a
function of each name wanted: no copy of the interpreter's table is needed.
"""
import os
import subprocess
import tempfile

MAX_ON_STACK_WORDS = 11  # VM_MAX_STATE_ON_STACK in words, on 32- and 64-bit alike
EXC_STACK_WORDS = 3  # mp_exc_stack_t: handler, value stack pointer, previous exception


class _Reader:
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def byte(self):
        b = self.data[self.pos]
        self.pos += 1
        return b

    def bytes(self, n):
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def uint(self):
        value = 0
        while True:
            b = self.byte()
            value = (value << 7) | (b & 0x7F)
            if not b & 0x80:
                return value


_SIMPLE_OBJECTS = (1, 2, 3, 4)  # None, False, True, Ellipsis: no payload
_TUPLE = 10
_STR, _BYTES = 5, 6


def _skip_object(r):
    kind = r.byte()
    if kind in _SIMPLE_OBJECTS or kind == 0:
        return
    n = r.uint()
    if kind == _TUPLE:
        for _ in range(n):
            _skip_object(r)
        return
    r.bytes(n)
    if kind in (_STR, _BYTES):
        r.byte()  # NUL


def _signature(r):
    z = r.byte()
    s = (z >> 3) & 0xF
    e = (z >> 2) & 1
    n = 0
    while z & 0x80:
        z = r.byte()
        s |= (z & 0x30) << (2 * n)
        e |= (z & 0x02) << n
        n += 1
    return s + 1, e


def _size(r):
    n = 0
    while True:
        z = r.byte()
        n += 1
        if not z & 0x80:
            return


def functions(mpy):
    """[(path, n_state, n_exc_stack)] for every function in an .mpy, in
    definition order. path: the names from the module down, e.g.
    ('Loop', 'step'); a name in the interpreter's static qstr pool is
    ('static', index) until resolved (static_names)."""
    r = _Reader(mpy)
    header = r.bytes(4)
    if header[:2] != b"M\x06":
        raise ValueError("not an .mpy v6 file")
    n_qstr, n_obj = r.uint(), r.uint()
    qstrs = []
    for _ in range(n_qstr):
        n = r.uint()
        if n & 1:
            qstrs.append(("static", n >> 1))
        else:
            qstrs.append(r.bytes(n >> 1).decode())
            r.byte()
    for _ in range(n_obj):
        _skip_object(r)
    out = []

    def raw_code(parents):
        kind_len = r.uint()
        if kind_len & 3:
            raise ValueError("native code: only bytecode is read here")
        body = _Reader(r.bytes(kind_len >> 3))
        n_state, n_exc = _signature(body)
        _size(body)
        path = parents + (qstrs[body.uint()],)
        out.append((path, n_state, n_exc))
        if kind_len & 4:
            for _ in range(r.uint()):
                raw_code(path)

    raw_code(())
    return [(path[1:], n_state, n_exc) for path, n_state, n_exc in out[1:]]  # [0]: the module


def words(n_state, n_exc):
    """The frame MicroPython allocates for a call, in words."""
    return n_state + EXC_STACK_WORDS * n_exc


def compile_source(mpy_cross, path):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "out.mpy")
        subprocess.run([mpy_cross, "-o", out, path], check=True, capture_output=True)
        with open(out, "rb") as f:
            return f.read()


def static_names(mpy_cross, candidates):
    """{('static', index): name} for those candidate names the interpreter
    keeps in its static pool, learnt by compiling a probe that defines a
    function of each name."""
    candidates = sorted(set(candidates))
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "probe.py")
        with open(src, "w") as f:
            for name in candidates:
                f.write("def %s():\n    pass\n" % name)
        got = functions(compile_source(mpy_cross, src))
    return dict((path[0], name) for (path, _, _), name in zip(got, candidates) if isinstance(path[0], tuple))


def frames(mpy_cross, path):
    """{'Class.method' or 'function': frame words} for a source file."""
    found = functions(compile_source(mpy_cross, path))
    with open(path) as f:
        identifiers = set(ast_names(f.read()))
    static = static_names(mpy_cross, identifiers)
    out = {}
    for names, n_state, n_exc in found:
        name = ".".join(static.get(n, str(n)) if isinstance(n, tuple) else n for n in names)
        out[name] = max(out.get(name, 0), words(n_state, n_exc))
    return out


def ast_names(source):
    import ast
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            yield node.name
