"""Read a site spec file into a validated `Site`, or fail with one located problem per line.

The site file is a trust boundary: whatever it holds, the answer is a `Site` or a `SpecError` (exit 2) whose
problems read `file:line:col: path: what is wrong (how to fix it)`, never an internal error. Before any parser
sees the text: at most MAX_SPEC_BYTES of a regular file (no FIFO or device), UTF-8 (a bad byte at its line),
no byte-order mark, no character YAML forbids (a NUL would make yaml-rs drop the rest of the file).

Two ways lead from text to a `Site`, and they must agree:

* reference: yaml-rs reads the YAML 1.2 core schema into Python data, pydantic validates that;
* fast: rapidyaml parses (the same tree then gives every location), emits JSON, pydantic validates the JSON.

rapidyaml's JSON ignores tags, leaves aliases as "*name", keeps both copies of a duplicate key, types plain
scalars by its own rules (`0x1F`, `1_000`, `~`, `Null`, `True`, `.inf` stay strings; `+12` is invalid JSON) and
is more lenient than yaml-rs about odd YAML (`v: @x`, `[#c`, `? key` followed by junk). So the fast way is taken
only for files of FAST_MIN_BYTES and more (below, yaml-rs costs milliseconds), and only when: the text holds no
tag, anchor, tab, NUL, directive, explicit key, malformed block scalar header or `#` glued to a
flow indicator; no JSON string is one that yaml-rs would have typed (asked of both parsers, per distinct string)
or that starts with an indicator; and the validated model holds as many keys as the JSON did (a duplicate key
would otherwise vanish). Anything else, and every error, takes the reference way, so every message comes from
one place. tests/unit/test_loader_equivalence.py pins the agreement; benchmarks/validate_scale.py the speed.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import gc
import re
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml_rs
from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticSerializationError

from .. import catalog, engines
from ..errors import Problem, SpecError
from ..fsutil import InputFileError, read_text_capped
from ..model import ReferenceProblems, Site
from ..yamlpos import Loc, Locator, Position
from .pki import read_pki

MAX_SPEC_BYTES = 256 * 1024 * 1024
# Below this size yaml-rs costs a few milliseconds: the reference way alone reads the file, so hand-written
# specs never meet the fast way's narrower understanding of odd YAML. Above it the fast way saves seconds.
FAST_MIN_BYTES = 256 * 1024
# Explicit tags a spec may carry: the YAML 1.2 core schema's, shorthand or verbatim. Anything else (`!foo`,
# `!!python/object:...`, `!!binary`, `!!set`) names a type the model does not have.
_CORE_TAGS = ("str", "int", "float", "bool", "null", "map", "seq")
ALLOWED_TAGS = frozenset(f"!!{t}" for t in _CORE_TAGS) | frozenset(f"!<tag:yaml.org,2002:{t}>" for t in _CORE_TAGS)
# Alias expansion is capped in proportion to the file (a billion-laughs file is small and expands without end):
# an alias may replay at most a quarter as many nodes as the file has bytes, 100,000 at least, 4 million at most.
_MIN_ALIAS_EVENTS = 100_000
_MAX_ALIAS_EVENTS = 4_000_000

# A JSON string (key or value) that yaml-rs might have typed, had it been a plain scalar: the YAML 1.2 core
# schema's null, bool, inf/nan and number forms (with yaml-rs's underscores), as a superset; the empty string (an
# empty plain key is null). Or one that starts with an indicator no plain scalar may start with (`]`, `}`, `@`,
# `` ` ``, `%`, `&`, `*`, `!`, `|`, `>`, `:`, `?`): rapidyaml reads `v: @x`, `- ]x` or an undefined alias `*x`
# as strings where yaml-rs refuses the file. Only an opening quote counts (after `[`, `{`, `,`, `:` or a space in
# rapidyaml's JSON), never one that closes. One pass over the JSON; the rare matches are judged in Python.
_NUMBER = r"[-+]?(?:0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|[0-9_]*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9_]+)?)"
_SUSPECT = re.compile(
    r'"(?<=[\[{,:\s]")(?=[-+._0-9~NTFntf"\]}@`%&*!|>:?])'
    r"(~|null|true|false|Null|NULL|True|TRUE|False|FALSE|[-+]?\.(?:[iI][nN][fF]|[nN][aA][nN])|"
    + _NUMBER
    + r'|[\]}@`%&*!|>:?][^"]*|)"(:?)'
)
_INDICATOR_START = tuple("]}@`%&*!|>:?")
_EXPLICIT_KEY = re.compile(r"(?:^|(?<=[\s\[{,]))\?(?=\s|$)", re.M)  # `? key`: rapidyaml is lenient after one
_QUOTED_LOOKALIKES = frozenset({"", "null", "true", "false"})  # as JSON string values these were quoted in YAML
# A block scalar header (`|`, `>-`, `|2+`) with anything but a comment after it: rapidyaml reads on.
_BAD_BLOCK_HEADER = re.compile(r"(?:^|(?<=[:?-][ \t])|(?<=[:?-][ \t]{2}))[|>](?![-+1-9]{0,2}[ \t]*(?:#.*)?$)", re.M)
_DOCUMENT_END = re.compile(r"(?:^|(?<=\s))\.\.\.(?=\s|$)", re.M)
_LONE_CR = re.compile(r"\r(?!\n)")
_EMPTY_MAP = re.compile(r"\{\s*\}")
_ANCHOR = re.compile(r"(?:^|(?<=[\s\[\]{},]))&", re.M)  # an anchor: rapidyaml is lenient where it stands


@dataclass
class LoadedSite:
    site: Site
    file: str
    text: str
    locator: Locator = field(repr=False)
    parser: str = "yaml-rs"  # which way the data came: "rapidyaml-json" (fast) or "yaml-rs" (reference)

    def position(self, target: str) -> Position | None:
        return self.locator.find(target)


def load_site(path: str | Path) -> LoadedSite:
    """Read at most MAX_SPEC_BYTES of a regular UTF-8 file (no FIFO, device or directory) and load it."""
    p = Path(path)
    display = str(path)
    try:
        text = read_text_capped(p, MAX_SPEC_BYTES, "site spec")
    except InputFileError as exc:
        raise _file_error(p, display, exc) from None
    return load_site_text(text, display)


def _file_error(p: Path, display: str, exc: InputFileError) -> SpecError | InputFileError:
    """The messages users know for the two common mistakes; everything else as read_capped words it."""
    try:
        mode = p.stat().st_mode
    except FileNotFoundError:
        return SpecError(f"{display}: no such file", [Problem("no such file", file=display)])
    except OSError:
        return exc
    if stat.S_ISDIR(mode):
        return SpecError(f"{display}: is a directory", [Problem("is a directory; name a site.yaml", file=display)])
    return exc


def load_site_text(text: str, file: str = "<site>") -> LoadedSite:
    text = text.removeprefix("\ufeff")  # a byte-order mark is not part of the document
    if "\r" in text:  # a lone CR ends a line in YAML; rapidyaml does not know it. One byte for one: no shift.
        text = _LONE_CR.sub("\n", text)
    locator = Locator(text)
    with _collector_paused(len(text) >= FAST_MIN_BYTES):
        site, parser = _load(text, file, locator)
    return LoadedSite(site=site, file=file, text=text, locator=locator, parser=parser)


@contextlib.contextmanager
def _collector_paused(large: bool) -> Iterator[None]:
    """Building a large site allocates about a million objects, and Python's cyclic collector walks the growing
    heap again and again meanwhile (a third of the load on 1,000 racks; then once more when the rules run). For a
    large spec the collector is paused while the model is built, and the built objects are then frozen (gc.freeze:
    never walked by the cyclic collector, still freed by reference counting when dropped; the model graph has no
    cycles, so nothing is kept alive by this). On an error nothing is frozen."""
    if not large or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    except BaseException:
        gc.enable()
        raise
    gc.freeze()
    gc.enable()


def _load(text: str, file: str, locator: Locator) -> tuple[Site, str]:
    bad = locator.first_unprintable()
    if bad is not None:  # yaml-rs would read up to a NUL and silently drop the rest
        message = f"character U+{bad[1]:04X} is not allowed in a YAML file (a control character)"
        hint = "remove it; in a double-quoted string an escape such as \\t may stand for it"
        raise SpecError("unprintable character", [_at(file, bad[0], message, hint)])
    if locator.parse():
        docs = locator.documents()
        if len(docs) > 1:
            pos = _document_marker(text, locator)
            hint = "a site spec is one document: remove the '---' and what follows, or split the file"
            raise SpecError("several documents", [_at(file, pos, "a second YAML document", hint)])
        tagged = (_may_hold_tags(text) or "%TAG" in text) and _check_tags(text, file, locator)
        fast = not tagged and len(text) >= FAST_MIN_BYTES
        if fast and (data_json := _fast_json(text, locator)) is not None:
            site = _validate_json(data_json, file, locator)
            if site is not None:
                return site, "rapidyaml-json"
    else:
        raise _unparsable(text, file, locator)
    data = _parse_reference(text, file, locator)
    return _validate_python(data, file, locator), "yaml-rs"


def _unparsable(text: str, file: str, locator: Locator) -> SpecError:
    """rapidyaml cannot parse the text, so no location could be given for anything in it: the file is refused.

    yaml-rs's message is the better one when it refuses too; where yaml-rs reads what rapidyaml does not (a `|`
    inside a flow collection, `&a{`), rapidyaml's strictness stands: YAML does not allow those either."""
    failure = locator.failure
    position = failure.position if failure else None
    if failure is not None and "as keys" in failure.message:  # ryml: "trees cannot handle containers as keys"
        message = "a mapping key must be a string, not a sequence or a mapping (a YAML complex key)"
        return SpecError("complex mapping key", [_at(file, position, message, "write the key as a string")])
    try:
        yaml_rs.loads(text, parse_datetime=False, alias_limits=yaml_rs.AliasLimits(max_total_replayed_events=1))
    except yaml_rs.YAMLDecodeError as exc:
        if "alias replay limit" not in str(exc):
            return _decode_error(str(exc), file, locator, 1)
    except (TypeError, ValueError, OverflowError, RecursionError):
        pass
    detail = failure.message if failure else "cannot be parsed"
    hint = "write it in plainer YAML (no block scalar inside [ ] or { }, a space after an anchor or a tag)"
    return SpecError("malformed YAML", [_at(file, position, f"malformed YAML: {detail}", hint)])


def _at(file: str, pos: Position | None, message: str, hint: str | None = None, path: str | None = None) -> Problem:
    return Problem(
        _printable(message),
        file=file,
        line=pos.line if pos else None,
        column=pos.column if pos else None,
        path=_printable(path) if path else None,
        hint=_printable(hint) if hint else None,
    )


def _printable(text: str) -> str:
    """Names and keys come from the file: a newline, NUL, NEL or bidi override in one would break a message
    across lines or hide part of it. Each such character is shown as its escape (\\n, \\x00, \\u202e)."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode("ascii") for ch in text)


def _in_file_order(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.line or 0, p.column or 0))


def _document_marker(text: str, locator: Locator) -> Position | None:
    """Where the second document starts: its `---` (the second one when the first document has its own)."""
    markers = [m.start() for m in re.finditer(r"^---(?=\s|$)", text, re.M)]
    first_explicit = re.match(r"(?:\s|#[^\n]*|%[^\n]*)*---(?=\s|$)", text) is not None
    index = 1 if first_explicit else 0
    if len(markers) <= index:
        return None
    return locator.position_of_offset(len(text[: markers[index]].encode("utf-8")))


# ----- tags -----
def _tag_problem(file: str, tag: str, pos: Position | None, path: str | None = None) -> Problem:
    return _at(
        file,
        pos,
        f"tag '{tag}' is not allowed",
        "remove it; a spec may only use the YAML core tags " + ", ".join(f"!!{t}" for t in _CORE_TAGS),
        path,
    )


def _check_tags(text: str, file: str, locator: Locator) -> bool:
    """Refuse tags outside the core schema (and %TAG directives, which could redefine `!!`). True when the
    document has any tag at all: rapidyaml's JSON ignores them, so the data must come from yaml-rs."""
    problems = [
        _at(
            file,
            locator.position_of_offset(len(text[: m.start()].encode("utf-8"))),
            "%TAG directives are not allowed",
            "remove the directive; use the core tags !!str, !!int, ... as they are",
        )
        for m in re.finditer(r"^%TAG\b", text, re.M)
    ]
    any_tag = False
    for tag, pos, node, on_key in locator.tags():
        any_tag = True
        if tag not in ALLOWED_TAGS:
            problems.append(_tag_problem(file, tag, pos, locator.path_of(node)))
            continue
        kind = locator.kind(node, on_key)
        wants = {"map": "map", "seq": "seq"}.get(tag.rstrip(">").rsplit(":", 1)[-1].lstrip("!"), "scalar")
        if kind != wants:  # yaml-rs ignores `!!seq {a: 1}` and refuses `!!map x` without saying where
            message = f"tag '{tag}' on a {'mapping' if kind == 'map' else 'sequence' if kind == 'seq' else 'scalar'}"
            hint = "remove the tag, or make the value what it says"
            problems.append(_at(file, pos, message, hint, locator.path_of(node)))
    if problems:
        raise SpecError("tags that are not allowed", _in_file_order(problems))
    return any_tag


def _may_hold_tags(text: str) -> bool:
    """A `!` where a tag may start (after a space, a line break or a flow indicator): only then is the tree
    searched for tags. A `!` inside a word ("done!") is not one."""
    pos = text.find("!")
    while pos >= 0:
        if pos == 0 or text[pos - 1] in " \t\r\n[]{},":
            return True
        pos = text.find("!", pos + 1)
    return False


# ----- the fast way -----
def _fast_json(text: str, locator: Locator) -> str | None:
    """rapidyaml's JSON of the document, or None where it might not say what yaml-rs says."""
    if "\t" in text or "\x00" in text:  # rapidyaml reads `key:<TAB>value` as one scalar; yaml-rs refuses it
        return None
    if "\r" in text and _LONE_CR.search(text):  # load_site_text turns them into LF; this is a second lock
        return None
    root = locator.root()
    data_json = locator.json(root) if root is not None else None
    if data_json is None or _untrusted(data_json, text):
        return None
    return data_json


def _untrusted(data_json: str, text: str) -> bool:
    if not data_json.startswith(("{", "[")):  # a scalar document is not a site: the reference way says so
        return True
    if '\\\\":' in data_json:  # a key ending in a backslash would blur the key count below
        return True
    if "&" in text and _ANCHOR.search(text):
        return True
    if text.startswith("%") or "\n%" in text:  # a directive: rapidyaml skips one it cannot read
        return True
    if _comment_without_space(text):
        return True
    if "?" in text and _EXPLICIT_KEY.search(text):
        return True
    if "|" in text or ">" in text:
        if '""' in data_json:  # an empty block scalar: "" to rapidyaml, "\n" to yaml-rs
            return True
        if _BAD_BLOCK_HEADER.search(text):
            return True
    if "..." in text and _DOCUMENT_END.search(text):  # a document end marker: rapidyaml skips one after content
        return True
    if "#" in data_json and " #" in data_json:  # rapidyaml keeps a comment in a flow collection in the scalar
        return True
    if "{}" in data_json and data_json.count("{}") > len(_EMPTY_MAP.findall(text)):
        return True  # rapidyaml reads an unclosed `[:` or `[?` at the end of the file as `[{}]`
    for m in _SUSPECT.finditer(data_json):
        content = m.group(1)
        if m.group(2):  # a key: JSON quotes every key, so any key yaml-rs might type is suspect
            return True
        if content in _QUOTED_LOOKALIKES:
            continue
        if content.startswith(_INDICATOR_START) or _typed_differently(content):
            return True
    return False


def _comment_without_space(text: str) -> bool:
    """`[#x`: a `#` right after a flow indicator starts no comment in YAML (yaml-rs refuses), but does in
    rapidyaml. Checked per `#`, of which a spec has few."""
    pos = text.find("#")
    while pos >= 0:
        if pos > 0 and text[pos - 1] in "[{,":
            return True
        pos = text.find("#", pos + 1)
    return False


@functools.lru_cache(maxsize=4096)
def _typed_differently(s: str) -> bool:
    """Could a JSON string holding s come from a plain scalar that yaml-rs reads as a number, bool or null?

    Asked of both parsers: yaml-rs types it, and rapidyaml writes that plain scalar as a JSON string (if
    rapidyaml wrote it as a number, a JSON string holding s was quoted in the YAML, so it is a string)."""
    try:
        doc: Any = yaml_rs.loads(f"- {s}\n", parse_datetime=False)
        value = doc[0]
    except (yaml_rs.YAMLDecodeError, LookupError, TypeError):
        return True
    if isinstance(value, str):
        return False
    out = Locator(f"- {s}\n").json(0)
    return out is None or '"' in out


def _validate_json(data_json: str, file: str, locator: Locator) -> Site | None:
    models = _models(locator.scalars_at("deployments", "model"), file)
    try:
        site = Site.model_validate_json(data_json, context=_context(models, file))
    except (ValidationError, ReferenceProblems):
        return None  # errors are reported from the reference way, with its data and messages
    try:
        # only what the file set; warnings off (a third faster, and nothing here is shown to anyone)
        dumped = Site.__pydantic_serializer__.to_json(site, exclude_unset=True, warnings=False)
    except PydanticSerializationError:
        return None
    # rapidyaml keeps both copies of a duplicate key and JSON parsing keeps the last: a key the model lost.
    return site if _key_count(dumped) == _key_count(data_json.encode("utf-8")) else None


def _key_count(data_json: bytes) -> int:
    """Keys in a JSON text: `":` outside strings (inside one, a quote is always escaped)."""
    return data_json.count(b'":') - data_json.count(b'\\":')


# ----- the reference way -----
def _parse_reference(text: str, file: str, locator: Locator) -> Any:
    limit = min(max(_MIN_ALIAS_EVENTS, len(text) // 4), _MAX_ALIAS_EVENTS)
    try:
        data = yaml_rs.loads(
            text, parse_datetime=False, alias_limits=yaml_rs.AliasLimits(max_total_replayed_events=limit)
        )
    except yaml_rs.YAMLDecodeError as exc:
        raise _decode_error(str(exc), file, locator, limit) from None
    except (TypeError, ValueError, OverflowError, RecursionError) as exc:  # yaml-rs on keys it cannot hash
        pos = locator.failure.position if locator.failure else None
        raise SpecError("malformed YAML", [_at(file, pos, f"YAML that cannot be read: {exc}")]) from None
    if not isinstance(data, dict):
        raise SpecError(
            "not a site spec",
            [
                Problem(
                    "the document must be a mapping with name, racks, ...",
                    file=file,
                    line=1,
                    column=1,
                    hint="write keys and values (name: ..., racks: ...), not a list or a single value",
                )
            ],
        )
    problems = list(_key_problems(data, file, locator))
    if problems:
        raise SpecError("keys that are not strings", _in_file_order(problems))
    return data


def _decode_error(message: str, file: str, locator: Locator, limit: int) -> SpecError:
    if "duplicate mapping key" in message:
        m = re.search(r"duplicate mapping key: '(.*)'", message)
        dups = list(locator.duplicate_keys(m.group(1) if m else None))
        if dups:
            hint = "remove one of them"
            problems = [
                _at(file, second, f"key '{key}' appears twice in one mapping (first at line {first.line})", hint)
                for key, first, second in dups
            ]
            return SpecError("duplicate keys", problems)
    if "alias replay limit" in message:
        problem = Problem(
            f"aliases expand to more than {limit:,} nodes (alias replay limit); is this an alias bomb?",
            file=file,
            hint="expand fewer aliases, or write the repeated data out",
        )
        return SpecError("alias bomb", [problem])
    m = re.search(r"line (\d+), column (\d+)", message)
    detail = message.strip().splitlines()[-1] if message.strip() else "malformed YAML"
    pos = Position(int(m.group(1)), int(m.group(2))) if m else (locator.failure.position if locator.failure else None)
    if m is None and (bad := re.search(r"Invalid value '(.*)' for '([^']*)' tag", message)):
        # yaml-rs names the value and the tag, not the place: the first node with both
        found = (
            p
            for tag, p, node, key in locator.tags()
            if tag == bad.group(2) and locator.scalar(node, key) == bad.group(1)
        )
        pos = next(found, pos)
        return SpecError(
            "malformed YAML", [_at(file, pos, f"malformed YAML: {detail}", "remove the tag or fix the value")]
        )
    if pos is not None and (pos.line < 1 or pos.column < 1):
        pos = None
    deeper = "nest less deeply" if "recursion limit" in detail else None
    return SpecError("malformed YAML", [_at(file, pos, f"malformed YAML: {detail}", deeper)])


def _key_problems(data: dict[Any, Any], file: str, locator: Locator) -> Iterator[Problem]:
    """Mapping keys that are not strings (`1:`, `null:`, `true:`, `~:`), each at its line."""
    stack: list[tuple[Loc, Any]] = [((), data)]
    while stack:
        loc, node = stack.pop()
        if isinstance(node, dict):
            for i, (key, value) in enumerate(node.items()):
                if not isinstance(key, str):
                    kind = "null" if key is None else type(key).__name__
                    parsed = locator.tree is not None
                    written = (locator.key_text(loc, i) if parsed else None) or ("null" if key is None else str(key))
                    yield _at(
                        file,
                        locator.key_position(loc, i) if parsed else None,
                        f"key '{written}' is not a string (YAML reads it as {kind})",
                        f"quote it ('{written}': ...) or use a name",
                        locator.pretty(loc) if parsed else None,
                    )
                elif isinstance(value, dict | list):
                    stack.append((loc + (key,), value))
        elif isinstance(node, list):
            stack.extend((loc + (i,), value) for i, value in enumerate(node) if isinstance(value, dict | list))


def _validate_python(data: dict[str, Any], file: str, locator: Locator) -> Site:
    deployments = data.get("deployments")
    refs = [d.get("model") for d in deployments if isinstance(d, dict)] if isinstance(deployments, list) else []
    try:
        return Site.model_validate(data, context=_context(_models(refs, file), file))
    except ValidationError as exc:
        raise SpecError("invalid site spec", _pydantic_problems(exc, data, file, locator)) from None
    except ReferenceProblems as exc:
        problems = [_problem(msg, loc, file, locator) for loc, msg in exc.references]
        raise SpecError("invalid site spec", problems) from None


def _context(models: dict[str, Any], file: str) -> dict[str, Any]:
    return {"catalog": catalog.builtin(), "models": models, "engines": engines.names(), "pki": read_pki(file)}


def _models(refs: Iterable[object], file: str) -> dict[str, Any]:
    """Model architectures: the catalog's, plus Hugging Face config.json files (relative to the site file) that
    deployments name instead of a catalog id."""
    found = dict(catalog.models())
    base = Path(file).parent
    for model in refs:
        if isinstance(model, str) and model.endswith(".json") and model not in found and (base / model).is_file():
            from ..vram.hf import arch_from_hf_config

            found[model] = arch_from_hf_config(base / model)
    return found


# ----- messages for pydantic's errors -----
def _problem(
    message: str, loc: Loc, file: str, locator: Locator, hint: str | None = None, at_key: bool = False
) -> Problem:
    return _at(file, locator.position(loc, at_key=at_key), message, hint, locator.pretty(loc))


def _pydantic_problems(exc: ValidationError, data: Any, file: str, locator: Locator) -> list[Problem]:
    problems = []
    for err in exc.errors(include_url=False):
        loc = _clean_loc(err["loc"], data, missing=err["type"] == "missing")
        kind = err["type"]
        if kind == "extra_forbidden":
            key = loc[-1]
            fields = _fields_at(loc[:-1])
            near = difflib.get_close_matches(str(key), fields, n=1)
            hint = f"did you mean '{near[0]}'?" if near else (f"allowed: {', '.join(fields)}" if fields else None)
            if key == "<<":
                hint = "merge keys (<<) are not supported: write the keys out"
            problems.append(_problem(f"unknown key '{key}'", loc, file, locator, hint, at_key=True))
        elif kind == "missing":
            problems.append(_problem(f"missing required key '{loc[-1]}'", loc, file, locator, "add it"))
        else:
            value = err.get("input")
            shown = "" if isinstance(value, dict | list) else f" (got {_without_password(value)!r})"
            hint = "the key has no value: give it one, or remove the key" if value is None else None
            problems.append(_problem(f"{err['msg']}{shown}", loc, file, locator, hint))
    return problems


def _without_password(value: Any) -> Any:
    """A refused URL is echoed with its password masked: errors reach terminals and CI logs."""
    if isinstance(value, str):
        return re.sub(r"(://[^/@:\s]*):[^/@\s]*@", r"\1:***@", value)
    return value


def _clean_loc(loc: tuple[Any, ...], data: Any, missing: bool) -> Loc:
    """Keep the parts of pydantic's loc that are keys or indexes of the document.

    pydantic adds union-member tags ("IPv4Address", "function-after[...]") that are not YAML keys;
    walking the parsed data tells them apart from real keys. A missing key is kept as the last part.
    """
    out: list[str | int] = []
    node = data
    for i, part in enumerate(loc):
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        ):
            node = node[part]
            out.append(part)
        elif missing and i == len(loc) - 1 and isinstance(part, str):
            out.append(part)
    return tuple(out)


def _fields_at(loc: Loc) -> list[str]:
    """Field names of the model at loc (for 'did you mean'); walks the Site model's annotations."""
    model: Any = Site
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return []
        info = model.model_fields.get(part)
        if info is None:
            return []
        model = _inner_model(info.annotation)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    return []


def _inner_model(annotation: Any) -> Any:
    from typing import get_args

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None
