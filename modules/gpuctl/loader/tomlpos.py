"""Where a key path is set in a TOML file, for error messages (the standard library's parser keeps no positions).

Each line's key is read by TOML's own parser, so quoted keys with escapes or tabs, literal keys and dotted keys
come out as the document has them: a key line is parsed as its key with a stand-in value (an inline table or a
multi-line value after the `=` does not change the path), a table header as itself. `[[array]]` headers count,
so `offers.1.price` is the `price` under the second `[[offers]]`. A line no prefix of which parses (the inside of a
multi-line string) sets nothing.
"""

from __future__ import annotations

import re
import tomllib
from typing import Any

from ..yamlpos import Position

_AT = re.compile(r"line (\d+), column (\d+)")


def _parsed(line: str) -> tuple[tuple[str, ...], str] | None:
    """The key path of a line and its kind ("key", "table" or "array"), by TOML's parser."""
    stripped = line.lstrip()
    kind = "array" if stripped.startswith("[[") else "table" if stripped.startswith("[") else "key"
    candidates = [line] if kind != "key" else [line[:i] + "= 0" for i, ch in enumerate(line) if ch == "="]
    for candidate in candidates:
        try:
            data: Any = tomllib.loads(candidate)
        except tomllib.TOMLDecodeError:
            continue
        path: list[str] = []
        while isinstance(data, dict) and len(data) == 1:
            key, data = next(iter(data.items()))
            path.append(key)
            if isinstance(data, list) and data and kind == "array":
                data = data[-1]
        return (tuple(path), kind) if path else None
    return None


def _indexed(keys: tuple[str, ...], arrays: dict[tuple[str, ...], int]) -> tuple[str, ...]:
    """A header's path with the current element of each array of tables it lies under (`[offers.extra]`)."""
    out: list[str] = []
    for i, key in enumerate(keys):
        out.append(key)
        if keys[: i + 1] in arrays and i + 1 < len(keys):
            out.append(str(arrays[keys[: i + 1]]))
    return tuple(out)


def toml_position(text: str, loc: tuple[Any, ...]) -> Position | None:
    """The line and column where `loc` (a validation error's path) is set, or the table that holds it."""
    table: tuple[str, ...] = ()
    arrays: dict[tuple[str, ...], int] = {}
    want = tuple(str(part) for part in loc)
    for number, line in enumerate(text.splitlines(), 1):
        if (parsed := _parsed(line)) is None:
            continue
        keys, kind = parsed
        column = len(line) - len(line.lstrip()) + 1
        if kind == "array":
            arrays[keys] = arrays.get(keys, -1) + 1
            table = (*_indexed(keys[:-1], arrays), keys[-1], str(arrays[keys]))
        elif kind == "table":
            table = _indexed(keys, arrays)
        if kind != "key":
            if table == want[: len(table)] and len(table) >= len(want):
                return Position(number, column)  # the value is the table itself
            continue
        path = table + keys
        if path == want[: len(path)]:
            return Position(number, column)
    return None


def syntax_position(exc: Exception, text: str) -> tuple[int | None, int | None]:
    """Line and column of a TOML or YAML syntax error: the exception's attributes where it has them, else its
    message's "line L, column C"; an error at the end of the document is on its last line."""
    message = str(exc)
    at = _AT.search(message)
    line = getattr(exc, "lineno", None) or (int(at.group(1)) if at else None)
    column = getattr(exc, "colno", None) or (int(at.group(2)) if at else None)
    if line is None and "end of document" in message:
        line = text.count("\n") + 1
    return line, column
