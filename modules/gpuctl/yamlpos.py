"""Where things are in a YAML file: the line and column of any node, from one rapidyaml parse.

rapidyaml parses the file in place and its tree points into that buffer, so a scalar's byte offset gives its
line and column. A pointer is only believed when it can be checked:

* a scalar whose escapes grow when decoded (`"\\L"` is 2 bytes in the file, 3 in UTF-8) is written to
  rapidyaml's arena, outside the buffer: its offset would be garbage (the old `line -45662093708111`);
* a quoted scalar is rewritten in place from where it starts, so it is trusted when the quote that opens it
  sits right before it; a plain scalar when the file holds its own first bytes there;
* a block scalar (`|`, `>`) loses its indentation in place, and an empty scalar has no bytes at all: neither
  has a position of its own.

What cannot be checked falls back to the nearest node that can (a value to its key, a key to its mapping),
never to a guess. Empty flow collections (`racks: [{}]`) hold no scalar, and a quoted scalar moved to the arena
has no usable pointer: their bracket or quote is found by scanning the source from the end of the node before
them, and only when the scan meets exactly what YAML allows there.

Columns count characters, not bytes (a tab or a multi-byte UTF-8 character is one column); lines end at LF,
CRLF or a lone CR, as YAML defines them. Lookups are indexed: a sequence's children, and its items by name,
are listed once on first use, so locating one finding per rack on 50,000 racks is linear.
"""

from __future__ import annotations

import bisect
import contextlib
import ctypes
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import ryml

Loc = tuple[str | int, ...]
_SEGMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:\[([^\]]*)\])?")
_NAME_KEYS = (b"name", b"id")
_BREAKS = re.compile(rb"\r\n|\r|\n")
_SPACE = b" \t\r\n"
_DQUOTE, _SQUOTE, _HASH = 0x22, 0x27, 0x23
_C0_DEL = bytes([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
_C1 = re.compile(rb"\xc2[\x80-\x84\x86-\x9f]")
_NONCHAR = re.compile(rb"\xef\xbf[\xbe\xbf]")
_SCAN_DEPTH = 64  # how many untrusted nodes in a row a scan may walk back through


class _PyBuffer(ctypes.Structure):
    """CPython's Py_buffer: what PyObject_GetBuffer fills in (only `buf` is read)."""

    _fields_: ClassVar[list[tuple[str, Any]]] = [
        ("buf", ctypes.c_void_p),
        ("obj", ctypes.c_void_p),
        ("len", ctypes.c_ssize_t),
        ("itemsize", ctypes.c_ssize_t),
        ("readonly", ctypes.c_int),
        ("ndim", ctypes.c_int),
        ("format", ctypes.c_char_p),
        ("shape", ctypes.c_void_p),
        ("strides", ctypes.c_void_p),
        ("suboffsets", ctypes.c_void_p),
        ("internal", ctypes.c_void_p),
    ]


_get_buffer = ctypes.pythonapi.PyObject_GetBuffer
_get_buffer.argtypes = [ctypes.py_object, ctypes.POINTER(_PyBuffer), ctypes.c_int]
_get_buffer.restype = ctypes.c_int
_release_buffer = ctypes.pythonapi.PyBuffer_Release
_release_buffer.argtypes = [ctypes.POINTER(_PyBuffer)]
_release_buffer.restype = None


def _address(obj: Any) -> int:
    """Address of the first byte of a buffer (rapidyaml's read-only views have no other way to tell it;
    numpy could, at 0.2 s of import)."""
    view = _PyBuffer()
    _get_buffer(obj, ctypes.byref(view), 0)  # PyBUF_SIMPLE; raises on an object without a buffer
    try:
        return int(view.buf or 0)
    finally:
        _release_buffer(ctypes.byref(view))


def _written_tag(view: Any) -> str:
    """A tag as the file writes it: rapidyaml drops the "!" of a verbatim tag (`!<tag:yaml.org,2002:str>`)."""
    tag = bytes(view).decode("utf-8", "replace")
    return "!" + tag if tag.startswith("<") else tag


def _head(view: Any) -> bytes:
    """The first word of a scalar: all that a folded plain scalar keeps of its source at its start."""
    return bytes(view[:64]).split(b"\n", 1)[0].split(b" ", 1)[0]


@dataclass(frozen=True)
class Position:
    line: int  # 1-based
    column: int  # 1-based, in characters: a tab or a multi-byte UTF-8 character is one column


@dataclass(frozen=True)
class ParseFailure:
    """rapidyaml could not parse the text: its message, and where (None when it named no usable place)."""

    message: str
    position: Position | None


def parse_path(path: str) -> list[tuple[str, str | None]]:
    """`racks[rack-a].servers[gpu-a03].mode` -> [("racks","rack-a"),("servers","gpu-a03"),("mode",None)]."""
    out: list[tuple[str, str | None]] = []
    pos = 0
    while pos < len(path):
        m = _SEGMENT.match(path, pos)
        if not m:
            break
        out.append((m.group(1), m.group(2)))
        pos = m.end()
        if pos < len(path) and path[pos] == ".":
            pos += 1
    return out


@contextlib.contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """rapidyaml's C++ error handler prints to file descriptor 2 before it raises. The error is reported as a
    located problem instead, so what it prints goes to /dev/null for the duration of the parse."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no file descriptor 2 (a daemon), or sys.stderr closed
        yield
        return
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, 2)
        finally:
            os.close(null)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class Locator:
    """Positions of nodes addressed by a loc tuple (("racks", 0, "name")) or a target path (racks[rack-a])."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._parsed = False
        self._tree: Any = None
        self.failure: ParseFailure | None = None
        self._src = b""  # the file's bytes (tabs as spaces), untouched (ryml rewrites its own copy while parsing)
        self._tabs = False
        self._buf = bytearray()
        self._base = 0
        self._line_starts: list[int] | None = None
        self._kids: dict[int, list[int]] = {}
        self._named: dict[int, dict[str, int]] = {}
        self._keyed: dict[int, dict[bytes, int]] = {}
        self._positions: dict[int, dict[int, int]] = {}

    # ----- parsing -----
    def parse(self) -> bool:
        """Parse once; False (and `failure` set) when rapidyaml cannot."""
        if not self._parsed:
            self._parsed = True
            self._source()
            self._buf = bytearray(self._src)  # must outlive the tree: the tree points into it
            try:
                with _native_stderr_silenced():
                    self._tree = ryml.parse_in_place(self._buf)
            except Exception as exc:  # ryml.ExceptionParse and kin; nothing else is raised by a parse
                self._tree = None
                self.failure = self._failure(exc)
                return False
            self._base = _address(self._buf) if self._buf else 0
        return self._tree is not None

    def _failure(self, exc: BaseException) -> ParseFailure:
        message = str(getattr(exc, "msg", None) or exc).strip() or type(exc).__name__
        loc = getattr(getattr(exc, "errdata_parse", None), "ymlloc", None)
        offset = getattr(loc, "offset", None)
        position = None
        if isinstance(offset, int) and 0 <= offset <= len(self._src):
            position = self.position_of_offset(offset)
        return ParseFailure(message or "malformed YAML", position)

    def _source(self) -> bytes:
        """The file's bytes as rapidyaml reads them: a tab as a space. rapidyaml refuses a tab where YAML allows
        one (`key:<TAB>1` after a colon) and yaml-rs does not; one byte for one, so offsets, lines and columns
        (a tab is one column) stay those of the file. Data never comes from this tree when the file has a tab."""
        if not self._src:
            src = self._text.encode("utf-8")
            self._tabs = b"\t" in src
            self._src = src.replace(b"\t", b" ") if self._tabs else src
        return self._src

    def first_unprintable(self) -> tuple[Position, int] | None:
        """The first character YAML does not allow in a file (YAML 1.2 c-printable: no C0 control but tab, LF
        and CR, no DEL, no C1 control but NEL, no U+FFFE or U+FFFF), and its code point."""
        src = self._source()
        candidates = []
        if len(src.translate(None, _C0_DEL)) != len(src):
            candidates.append(min(i for i in (src.find(bytes([c])) for c in _C0_DEL) if i >= 0))
        if b"\xc2" in src and (m := _C1.search(src)):
            candidates.append(m.start())
        if b"\xef\xbf" in src and (m := _NONCHAR.search(src)):
            candidates.append(m.start())
        if not candidates:
            return None
        off = min(candidates)
        return self.position_of_offset(off), ord(src[off:].decode("utf-8", "replace")[0])

    @property
    def tree(self) -> Any:
        """The rapidyaml tree (None when the text did not parse)."""
        return self._tree if self.parse() else None

    def documents(self) -> list[int]:
        """Node ids of the documents: one for a plain file, several for a `---` stream, none when empty."""
        if not self.parse():
            return []
        t = self._tree
        root = int(t.root_id())
        if t.is_stream(root):
            return self._children(root)
        return [root] if t.has_val(root) or t.is_container(root) else []

    def root(self) -> int | None:
        docs = self.documents()
        return docs[0] if docs else None

    # ----- offsets and positions -----
    def position_of_offset(self, offset: int) -> Position:
        """Line and column (in characters) of a byte offset into the file."""
        if self._line_starts is None:
            self._line_starts = self._index_lines()
        line = bisect.bisect_right(self._line_starts, offset)
        start = self._line_starts[line - 1]
        column = len(self._src[start:offset].decode("utf-8", "replace")) + 1
        return Position(line, column)

    def _index_lines(self) -> list[int]:
        self._source()
        starts = [0]
        if b"\r" in self._src:
            starts.extend(m.end() for m in _BREAKS.finditer(self._src))
            return starts
        pos = 0
        for piece in self._src.split(b"\n")[:-1]:
            pos += len(piece) + 1
            starts.append(pos)
        return starts

    def _address(self, view: Any) -> int | None:
        if view is None or len(view) == 0:
            return None
        off = _address(view) - self._base
        # An expanded escape lives in rapidyaml's arena, outside the buffer.
        return off if off >= 0 and off + len(view) <= len(self._src) else None

    def _scalar_start(self, node: int, key: bool, depth: int = 0) -> int | None:
        """Byte offset of a node's key or value scalar, or None when it cannot be trusted."""
        t = self._tree
        view = t.key(node) if key else t.val(node)
        style = self._style(node, key)
        off = self._address(view)
        src = self._src
        if off is not None:
            if style == "dquo" and off > 0 and src[off - 1] == _DQUOTE:
                return off
            if style == "squo" and off > 0 and src[off - 1] == _SQUOTE:
                return off
            if style == "plain" and src.startswith(_head(view), off):
                return off
        if style in ("dquo", "squo"):  # expanded escapes moved it to the arena, or it is empty: find its quote
            quote = self._scan(node, key, depth)
            return None if quote is None else quote + 1
        return None  # a block scalar is rewritten without its indentation: no reliable start

    def _style(self, node: int, key: bool) -> str:
        t = self._tree
        if t.is_key_dquo(node) if key else t.is_val_dquo(node):
            return "dquo"
        if t.is_key_squo(node) if key else t.is_val_squo(node):
            return "squo"
        if key and (t.is_key_literal(node) or t.is_key_folded(node)):
            return "block"
        if not key and (t.is_val_literal(node) or t.is_val_folded(node)):
            return "block"
        return "plain"

    def _scalar_end(self, node: int, key: bool, depth: int = 0) -> int | None:
        """Byte offset just past a key or value scalar in the source, or None when it cannot be found."""
        start = self._scalar_start(node, key, depth)
        if start is None:
            return None
        t, src = self._tree, self._src
        style = self._style(node, key)
        if style == "dquo":
            pos = start
            while (pos := src.find(b'"', pos)) >= 0:
                slashes = 0
                while src[pos - 1 - slashes] == 0x5C:  # a quote after an odd number of backslashes is escaped
                    slashes += 1
                if slashes % 2 == 0:
                    return pos + 1
                pos += 1
            return None
        if style == "squo":
            pos = start
            while (pos := src.find(b"'", pos)) >= 0:
                if src[pos + 1 : pos + 2] != b"'":  # '' is an escaped quote
                    return pos + 1
                pos += 2
            return None
        data = bytes(t.key(node) if key else t.val(node))
        return start + len(data) if src.startswith(data, start) else None  # a single-line plain scalar

    def _skip(self, pos: int, *, colon: bool = False) -> int:
        """Past whitespace, comments, `,`, block indicators (`- `, `? `; one `:` when colon), anchors, tags,
        document markers and directives: whatever may stand between two nodes."""
        src, n = self._src, len(self._src)
        while pos < n:
            c = src[pos]
            at_line_start = pos == 0 or src[pos - 1] in b"\r\n"
            if c in _SPACE or c == 0x2C:  # ","
                pos += 1
            elif c == _HASH or (c == 0x25 and at_line_start):  # a comment, a %YAML or %TAG directive
                end = _BREAKS.search(src, pos)
                pos = n if end is None else end.end()
            elif c == 0x3A and colon:  # the ":" after a key
                pos, colon = pos + 1, False
            elif c in b"-?" and (pos + 1 == n or src[pos + 1] in _SPACE):
                pos += 1
            elif c in b"&!":  # an anchor or a tag before the node
                while pos < n and src[pos] not in _SPACE and src[pos] not in b",[]{}":
                    pos += 1
            elif at_line_start and src.startswith(b"---", pos):
                pos += 3
            else:
                break
        return pos

    def _lower_bound(self, node: int, key: bool, depth: int) -> tuple[int, bool] | None:
        """Where a scan for node's key (key) or value may start, and whether a `:` may come first."""
        if depth > _SCAN_DEPTH:
            return None
        t = self._tree
        if not key and t.has_key(node):
            end = self._scalar_end(node, True, depth)
            return None if end is None else (end, True)
        prev = int(t.prev_sibling(node))
        if prev != ryml.NONE:
            end = self._end(prev, depth)
            return None if end is None else (end, False)
        parent = int(t.parent(node))
        if parent == ryml.NONE or t.is_stream(parent):  # the document itself
            return (0, False) if len(self.documents()) == 1 else None
        if t.is_flow(parent):  # the first entry of a flow collection starts after its bracket
            opened = self._scan(parent, False, depth)
            return None if opened is None else (opened + 1, False)
        return self._lower_bound(parent, False, depth + 1)  # the first entry of a block collection

    def _scan(self, node: int, key: bool, depth: int) -> int | None:
        """Offset of a node's key or value found by scanning the source from the node before it; for a quoted
        scalar the offset of its opening quote, for a flow collection its bracket. None unless the scan meets
        exactly what YAML allows between two nodes."""
        if depth > _SCAN_DEPTH:
            return None
        t = self._tree
        bound = self._lower_bound(node, key, depth + 1)
        if bound is None:
            return None
        pos = self._skip(bound[0], colon=bound[1])
        if pos >= len(self._src):
            return None
        got = self._src[pos]
        if not key and t.is_container(node):
            if not t.is_flow(node):
                return None
            return pos if got == (0x7B if t.is_map(node) else 0x5B) else None
        style = self._style(node, key)
        if style == "dquo":
            return pos if got == _DQUOTE else None
        if style == "squo":
            return pos if got == _SQUOTE else None
        if style == "plain":
            view = t.key(node) if key else t.val(node)
            return pos if view is not None and len(view) and self._src.startswith(_head(view), pos) else None
        return None

    def _end(self, node: int, depth: int = 0) -> int | None:
        """Offset just past a node's text (a scalar, or a collection with its closing bracket)."""
        if depth > _SCAN_DEPTH:
            return None
        t = self._tree
        if t.is_container(node):
            last = int(t.last_child(node))
            if not t.is_flow(node):
                return self._end(last, depth + 1) if last != ryml.NONE else None
            if last != ryml.NONE:
                end = self._end(last, depth + 1)
            else:
                opened = self._scan(node, False, depth + 1)
                end = None if opened is None else opened + 1
            if end is None:
                return None
            pos = self._skip(end)
            close = 0x7D if t.is_map(node) else 0x5D
            return pos + 1 if pos < len(self._src) and self._src[pos] == close else None
        val = t.val(node) if t.has_val(node) else None
        if val is not None and (len(val) or t.is_val_quoted(node)):
            return self._scalar_end(node, False, depth + 1)
        if t.has_key(node):  # `key:` with no value ends at its colon
            end = self._scalar_end(node, True, depth + 1)
            if end is None:
                return None
            pos = self._skip(end)
            return pos + 1 if pos < len(self._src) and self._src[pos] == 0x3A else None
        return None

    def _offset(self, node: int, prefer_key: bool, depth: int = 0) -> int | None:
        """Where a node starts: its key or its value scalar, a collection's first entry or bracket."""
        if depth > _SCAN_DEPTH:
            return None
        t = self._tree
        has_key = t.has_key(node)
        if (prefer_key or t.is_container(node)) and has_key and (off := self._scalar_start(node, True)) is not None:
            return off
        if t.is_container(node):
            first = int(t.first_child(node))
            if first != ryml.NONE and (off := self._offset(first, True, depth + 1)) is not None:
                return off
            return self._scan(node, False, 0)
        if t.has_val(node) and t.val(node) is not None and (off := self._scalar_start(node, False)) is not None:
            return off
        if has_key:
            return self._scalar_start(node, True)
        return None

    def _node_position(self, node: int, prefer_key: bool) -> Position | None:
        """Position of node, or of its nearest ancestor whose position can be trusted."""
        t = self._tree
        current = node
        while current != ryml.NONE:
            off = self._offset(current, prefer_key=prefer_key or current != node)
            if off is not None:
                return self.position_of_offset(off)
            current = int(t.parent(current))
        return None

    # ----- tree helpers, indexed on first use -----
    def _children(self, node: int) -> list[int]:
        kids = self._kids.get(node)
        if kids is None:
            t = self._tree
            kids = []
            child = int(t.first_child(node))
            while child != ryml.NONE:
                kids.append(child)
                child = int(t.next_sibling(child))
            self._kids[node] = kids
        return kids

    def _child(self, node: int | None, part: str | int) -> int | None:
        t = self._tree
        if node is None:
            return None
        if isinstance(part, str) and t.is_map(node):
            return self._map_child(node, part.encode("utf-8"))
        if isinstance(part, int) and t.is_seq(node):
            kids = self._children(node)
            return kids[part] if 0 <= part < len(kids) else None
        return None

    def _map_child(self, node: int, key: bytes) -> int | None:
        t = self._tree
        if t.num_children(node) <= 16:
            child = t.find_child(node, key)
            return None if child == ryml.NONE else int(child)
        index = self._keyed.get(node)
        if index is None:
            index = {}
            for child in self._children(node):
                if t.has_key(child):
                    index.setdefault(bytes(t.key(child)), child)
            self._keyed[node] = index
        return index.get(key)

    def _name(self, node: int) -> str | None:
        t = self._tree
        if not t.is_map(node):
            return None
        for key in _NAME_KEYS:
            child = t.find_child(node, key)
            if child != ryml.NONE and t.has_val(child) and t.val(child) is not None:
                return bytes(t.val(child)).decode("utf-8", "replace")
        return None

    def _item_named(self, node: int, name: str) -> int | None:
        t = self._tree
        if t.is_seq(node):
            index = self._named.get(node)
            if index is None:
                index = {}
                for item in self._children(node):
                    label = self._name(item)
                    if label is not None:
                        index.setdefault(label, item)
                self._named[node] = index
            found = index.get(name)
            if found is None and name.isdigit():
                return self._child(node, int(name))
            return found
        if t.is_map(node):  # e.g. power.a: feed ids are keys
            return self._child(node, name)
        return None

    # ----- by loc: the tuple pydantic and the reference checks produce -----
    def node(self, loc: Loc) -> tuple[int | None, int]:
        """The deepest node along loc, and how many parts of loc it consumed."""
        node = self.root()
        if node is None:
            return None, 0
        for depth, part in enumerate(loc):
            child = self._child(node, part)
            if child is None:
                return node, depth
            node = child
        return node, len(loc)

    def position(self, loc: Loc, at_key: bool = False) -> Position | None:
        """Where loc is: a scalar at its value (at_key: its key), a collection at its key or first entry.

        A part of loc that is not in the file (a missing key) leaves the position at its parent."""
        node, depth = self.node(loc)
        if node is None:
            return None
        t = self._tree
        whole = depth == len(loc)
        return self._node_position(node, prefer_key=(at_key and whole) or not t.has_val(node) or not whole)

    def key_position(self, loc: Loc, index: int) -> Position | None:
        """The index-th key of the mapping at loc (for a key that is not a string, which no loc can name)."""
        node, depth = self.node(loc)
        if node is None or depth != len(loc) or not self._tree.is_map(node):
            return self.position(loc)
        kids = self._children(node)
        if 0 <= index < len(kids):
            return self._node_position(kids[index], prefer_key=True)
        return self.position(loc)

    def key_text(self, loc: Loc, index: int) -> str | None:
        """The index-th key of the mapping at loc as the file writes it (`null`, `~`, `1`)."""
        node, depth = self.node(loc)
        if node is None or depth != len(loc) or not self._tree.is_map(node):
            return None
        kids = self._children(node)
        if not 0 <= index < len(kids) or not self._tree.has_key(kids[index]):
            return None
        key = self._tree.key(kids[index])
        return bytes(key).decode("utf-8", "replace") if key is not None else ""

    def pretty(self, loc: Loc) -> str:
        """`racks[rack-a].servers[gpu-a03].model` from ("racks", 0, "servers", 2, "model")."""
        node = self.root()
        out = ""
        for part in loc:
            child = self._child(node, part) if node is not None else None
            if isinstance(part, int):
                label = self._name(child) if child is not None else None
                out += f"[{label if label is not None else part}]"
            else:
                out += f".{part}" if out else str(part)
            node = child
        return out

    # ----- by target path: what rule findings carry -----
    def find(self, path: str) -> Position | None:
        """Position of a finding's target; a part that is not in the file leaves it at the deepest that is."""
        node = self.root()
        if node is None:
            return None
        t = self._tree
        best = node
        for key, name in parse_path(path):
            child = self._child(node, key)
            if child is None:
                break
            best = child
            if name is not None:
                child = self._item_named(child, name)
                if child is None:
                    break
            node = best = child
        return self._node_position(best, prefer_key=not t.has_val(best))

    # ----- whole-tree questions, asked only when the text suggests the answer is not "none" -----
    def duplicate_keys(self, key: str | None = None) -> Iterator[tuple[str, Position, Position]]:
        """Keys defined twice in one mapping (only `key`, when given): (key, first, second).

        One pass over the tree's node table (ids follow the document), grouping keys by their mapping."""
        if not self.parse():
            return
        t = self._tree
        wanted = key.encode("utf-8") if key is not None else None
        has_key, key_of, parent_of = t.has_key, t.key, t.parent
        seen: dict[tuple[int, bytes], int] = {}
        for node in range(int(t.capacity())):  # a free slot has no key
            if not has_key(node):
                continue
            view = key_of(node)
            if view is None or (wanted is not None and view != wanted):
                continue
            slot = (int(parent_of(node)), bytes(view))
            first_node = seen.setdefault(slot, node)
            if first_node != node:
                first = self._node_position(first_node, prefer_key=True)
                second = self._node_position(node, prefer_key=True)
                if first and second:
                    yield slot[1].decode("utf-8", "replace"), first, second

    def tags(self) -> Iterator[tuple[str, Position | None, int, bool]]:
        """Every explicit tag (`!!str`, `!foo`, `!<tag:...>`): the tag as written, where, its node, and whether
        it tags the node's key."""
        if not self.parse():
            return
        t = self._tree
        for node in range(int(t.capacity())):  # the node table, in document order; a free slot has no tag
            if t.has_key(node) and t.has_key_tag(node):
                tag = _written_tag(t.key_tag(node))
                yield tag, self._tag_position(node, tag, key=True), node, True
            if t.has_val_tag(node):
                tag = _written_tag(t.val_tag(node))
                yield tag, self._tag_position(node, tag, key=False), node, False

    def _tag_position(self, node: int, tag: str, key: bool) -> Position | None:
        """The tag's own text, searched between what precedes the node and the scalar it tags."""
        t = self._tree
        written = tag.encode("utf-8")
        bound = self._lower_bound(node, key, 0)
        scalar = key or not t.is_container(node)
        hi = self._scalar_start(node, key) if scalar and (key or t.val(node) is not None) else None
        if bound is not None:
            off = self._src.find(written, bound[0], hi if hi is not None else bound[0] + 4096)
            if off >= 0:
                return self.position_of_offset(off)
        return self._node_position(node, prefer_key=key or not scalar)

    def kind(self, node: int, key: bool = False) -> str:
        """'map', 'seq' or 'scalar': what a node's value (or its key) is."""
        t = self._tree
        if key or not t.is_container(node):
            return "scalar"
        return "map" if t.is_map(node) else "seq"

    def scalar(self, node: int, key: bool = False) -> str | None:
        """A node's value (or key) as rapidyaml read it; None for a collection or a null."""
        t = self._tree
        has, get = (t.has_key, t.key) if key else (t.has_val, t.val)
        view = get(node) if has(node) else None
        return None if view is None else bytes(view).decode("utf-8", "replace")

    def node_position(self, node: int) -> Position | None:
        """Where a node (an id from `documents` or `tags`) is: at its key when it has one."""
        return self._node_position(node, prefer_key=True) if self.parse() else None

    def path_of(self, node: int) -> str:
        """The YAML path of a node, as `pretty` writes it."""
        t = self._tree
        loc: list[str | int] = []
        while (parent := int(t.parent(node))) != ryml.NONE and not t.is_stream(parent):
            if t.is_seq(parent):
                index = self._positions.get(parent)
                if index is None:
                    index = self._positions[parent] = {c: i for i, c in enumerate(self._children(parent))}
                loc.append(index[node])
            else:
                loc.append(bytes(t.key(node)).decode("utf-8", "replace"))
            node = parent
        return self.pretty(tuple(reversed(loc)))

    def json(self, node: int) -> str | None:
        """rapidyaml's JSON of a node, or None when it cannot write one (a tree nested too deeply)."""
        if not self.parse() or self._tabs:  # tabs were read as spaces: the tree's strings are not the file's
            return None
        try:
            with _native_stderr_silenced():
                out = ryml.emit_json(self._tree, node)
        except Exception:  # ryml.ExceptionVisit and kin
            return None
        return out if isinstance(out, str) else None

    def scalars_at(self, seq_key: str, field: str) -> list[str]:
        """The string values of `field` in the items of the top-level sequence `seq_key` (deployments' models)."""
        seq = self._child(self.root(), seq_key) if self.parse() else None
        if seq is None or not self._tree.is_seq(seq):
            return []
        out = []
        for item in self._children(seq):
            child = self._child(item, field)
            if child is not None and self._tree.has_val(child) and self._tree.val(child) is not None:
                out.append(bytes(self._tree.val(child)).decode("utf-8", "replace"))
        return out
