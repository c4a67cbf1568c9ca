"""Where things are in a YAML file, found only when a message needs it.

Parsing for data uses a fast parser without positions (yaml-rs: a 1,000-rack spec in a fraction of a
second). When an error or a finding must name `file:line:col`, the file is composed once more with
PyYAML's C loader into a node tree that keeps marks, and paths are resolved against it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import yaml

Loc = tuple[str | int, ...]
_SEGMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:\[([^\]]*)\])?")
_NAME_KEYS = ("name", "id")


@dataclass(frozen=True)
class Position:
    line: int  # 1-based
    column: int  # 1-based


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


class Locator:
    def __init__(self, text: str) -> None:
        self._text = text
        self._root: yaml.Node | None = None
        self._composed = False

    @property
    def root(self) -> yaml.Node | None:
        if not self._composed:
            self._composed = True
            loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
            try:
                self._root = yaml.compose(self._text, Loader=loader)
            except yaml.YAMLError:
                self._root = None
        return self._root

    # ----- by loc: the tuple pydantic and the reference checks produce -----
    def walk_loc(self, loc: Loc) -> tuple[yaml.Node | None, int]:
        """Deepest node reached along loc, and how many parts of loc were consumed."""
        node = self.root
        used = 0
        for part in loc:
            child = _child(node, part)
            if child is None:
                break
            node, used = child, used + 1
        return node, used

    def position(self, loc: Loc) -> Position | None:
        node, used = self.walk_loc(loc)
        if node is None:
            return None
        if used == len(loc) and used > 0:
            parent, _ = self.walk_loc(loc[:-1])
            key = _key_node(parent, loc[-1])
            # A scalar is best shown at its value, a block at its key.
            if key is not None and not isinstance(node, yaml.ScalarNode):
                node = key
        return _pos(node)

    def pretty(self, loc: Loc) -> str:
        """`racks[rack-a].servers[gpu-a03].model` from ("racks", 0, "servers", 2, "model")."""
        node = self.root
        out = ""
        for part in loc:
            child = _child(node, part)
            if isinstance(part, int):
                label = _name_of(child) if child is not None else None
                out += f"[{label if label is not None else part}]"
            else:
                out += f".{part}" if out else str(part)
            node = child
        return out

    # ----- by pretty path: what rule findings carry -----
    def find(self, path: str) -> Position | None:
        node = self.root
        best = node
        for key, name in parse_path(path):
            child = _child(node, key)
            if child is None:
                break
            if name is not None:
                child = _item_named(child, name)
                if child is None:
                    break
            node = best = child
        return _pos(best) if best is not None else None

    def duplicate_keys(self) -> Iterator[tuple[str, Position, Position]]:
        """Keys defined twice in one mapping: (key, first, second)."""
        stack = [self.root] if self.root is not None else []
        while stack:
            node = stack.pop()
            if isinstance(node, yaml.MappingNode):
                seen: dict[str, yaml.Node] = {}
                for k, v in node.value:
                    if isinstance(k, yaml.ScalarNode):
                        if k.value in seen:
                            yield k.value, _pos(seen[k.value]), _pos(k)
                        seen[k.value] = k
                    stack.append(v)
            elif isinstance(node, yaml.SequenceNode):
                stack.extend(node.value)


def _pos(node: yaml.Node) -> Position:
    mark = node.start_mark
    return Position(mark.line + 1, mark.column + 1)


def _child(node: yaml.Node | None, part: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode) and isinstance(part, str):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == part:
                return v
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        return node.value[part]
    return None


def _key_node(node: yaml.Node | None, part: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode) and isinstance(part, str):
        for k, _ in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == part:
                return k
    return None


def _name_of(node: yaml.Node) -> str | None:
    for key in _NAME_KEYS:
        value = _child(node, key)
        if isinstance(value, yaml.ScalarNode):
            return str(value.value)
    return None


def _item_named(seq: yaml.Node, name: str) -> yaml.Node | None:
    if isinstance(seq, yaml.SequenceNode):
        for item in seq.value:
            if _name_of(item) == name:
                return item
        if name.isdigit() and int(name) < len(seq.value):
            return seq.value[int(name)]
    if isinstance(seq, yaml.MappingNode):  # e.g. power.a: feed ids are keys
        return _child(seq, name)
    return None
