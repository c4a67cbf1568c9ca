"""Run the CLI in-process on generated input and check what every run must satisfy.

The contract every fuzzed run is held to (`issues`):

* the exit code is 0, 1 or 2 (70 is an internal error, anything else a bug), and the run ends within TIMEOUT_S;
* neither stdout nor stderr contains "Traceback" or "internal error";
* nothing reaches the terminal from native code (rapidyaml's C++ error handler writes to file descriptor 2
  directly: the user sees it above gpuctl's own message), and no raw control character (CONTROL) does either:
  input echoed in a message is escaped;
* with `-f json`, stdout (or the `-o` file) is strict JSON (no NaN/Infinity) when it is not empty, and is not
  empty for the exit codes the command reports on (`json_codes`);
* when the input that caused exit 2 lies inside a file (`Located(file)`), every stderr line starts with
  `FILE:LINE` (the file as given on the command line, a colon, a line number). Exempt (LOCATION_EXEMPT), because
  no single place in the file is at fault: the parser's alias-expansion and nesting limits (an alias bomb, 10,000
  nested brackets) and file-level refusals (larger than the cap, not a regular file). Which inputs count as
  "inside a file" is decided by each fuzz test and written in its docstring: YAML/JSON/TOML damage and wrong
  values inside the document do; option values and paths on the command line do not.

A violation is an `Issue` with a signature (`kind command detail`). Known open issues are listed in
`tests/fuzz/conftest.py` (`KNOWN_OPEN`, each with a reproducer); a run that meets one records it and goes on, a
run that meets a new one fails its test (and hypothesis shrinks the input). GPUCTL_FUZZ_TRIAGE=1 records new
issues without failing, to list every cause in one run (the session summary prints them).

The CLI runs in this process through `gpuctl.cli.app.main` (0.01-0.03 s a run instead of 0.5 s for a new
interpreter); the click command is built once (`_BuiltApp`).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import signal
import sys
import tempfile
import traceback
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gpuctl.cli.app import main

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 20

# command -> Counter(exit code -> runs). Printed by the fuzz conftest at the end of the session.
STATS: dict[str, Counter[int]] = defaultdict(Counter)
# known-issue id -> (times met, first input that met it)
KNOWN_HITS: dict[str, list[Any]] = {}
# signatures of issues no KNOWN_OPEN entry covers (the test that met one fails)
NEW_ISSUES: dict[str, str] = {}
# File-level refusals and resource limits: no line in the file is at fault.
LOCATION_EXEMPT = re.compile(r"alias replay limit|larger than \d+|not a regular file|recursion limit", re.I)


# Characters that must never reach a terminal raw from input: C0/C1 controls but tab and newline (ESC starts
# escape sequences, CR and VT/FF/NEL/U+2028 rewrite or split lines), DEL, bidirectional overrides and isolates.
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


class FuzzTimeout(BaseException):
    """A single CLI run took longer than TIMEOUT_S (raised from SIGALRM)."""


@dataclass(frozen=True)
class Located:
    """The input that makes this run fail (if it fails) lies inside `file`."""

    file: str


@dataclass
class Outcome:
    command: str
    argv: list[str]
    code: int
    stdout: str
    stderr: str
    native_stderr: str  # written to fd 2 by native code, around Python's sys.stderr: the user sees it too
    crash: str | None = None  # "ExcType in modules/gpuctl/x.py:function: message" for exit 70 / escaped exceptions
    output_file: str | None = None


@dataclass(frozen=True)
class Issue:
    # crash, hang, exit-code, traceback, native-stderr, control-char, json, output, no-location, not-equivalent
    kind: str
    command: str
    detail: str

    @property
    def signature(self) -> str:
        return f"{self.kind} {self.command} {self.detail}"


@contextlib.contextmanager
def _env(**values: str | None) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in values}
    try:
        for k, v in values.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _alarm(_signum: int, _frame: Any) -> None:
    raise FuzzTimeout()


@contextlib.contextmanager
def _native_stderr() -> Iterator[list[str]]:
    """What native code (rapidyaml's C++ error handler, C libraries) writes straight to file descriptor 2."""
    got: list[str] = []
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield got
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            got.append(tmp.read().decode("utf-8", "replace"))


class _BuiltApp:
    """gpuctl's Typer app with its click command built once. `Typer.__call__` rebuilds the command from the
    functions' signatures on every call (about 0.12 s of a 0.16 s run); main() is otherwise unchanged."""

    def __init__(self) -> None:
        import typer.main

        from gpuctl.cli import app as module

        self.module = module
        self.typer_app = module.app
        self.command = typer.main.get_command(module.app)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.command(*args, **kwargs)


_BUILT: list[_BuiltApp] = []


@contextlib.contextmanager
def _built_app() -> Iterator[None]:
    if not _BUILT:
        _BUILT.append(_BuiltApp())
    built = _BUILT[0]
    built.module.app = built  # type: ignore[assignment]
    try:
        yield
    finally:
        built.module.app = built.typer_app


class _Terminal(io.StringIO):
    """stderr as a terminal: click strips ANSI escape sequences from what it writes to anything else, which would
    hide an escape sequence echoed from the input."""

    def isatty(self) -> bool:
        return True


def _invoke(argv: Sequence[str], timeout: float = TIMEOUT_S) -> tuple[int, str, str, str, BaseException | None]:
    out, err = io.StringIO(), _Terminal()
    escaped: BaseException | None = None
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        with (
            _built_app(),
            _native_stderr() as native,
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
        ):
            try:
                main(list(argv))
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            except FuzzTimeout as exc:
                code, escaped = -1, exc
            except BaseException as exc:  # an exception main() let through is a crash too
                code, escaped = 70, exc
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    return code, out.getvalue(), err.getvalue(), "".join(native), escaped


def _where(exc: BaseException) -> str:
    """ExcType in the innermost gpuctl frame: stable across line shifts, specific enough to tell causes apart."""
    frames = traceback.extract_tb(exc.__traceback__)
    mine = [f for f in frames if "/modules/gpuctl/" in f.filename] or frames[-1:]
    place = ""
    if mine:
        f = mine[-1]
        rel = f.filename.split("/modules/", 1)[-1]
        place = f" in modules/{rel}:{f.name}"
    first = (str(exc).splitlines() or [""])[0][:160]
    return f"{type(exc).__name__}{place}: {first}"


def run_cli(command: str, argv: Sequence[str], output_file: str | None = None, timeout: float = TIMEOUT_S) -> Outcome:
    """`gpuctl ARGV` in this process, with GPUCTL_* from the environment cleared (they change defaults)."""
    with _env(GPUCTL_DEBUG=None, GPUCTL_FORMAT=None, GPUCTL_STRICT=None):
        code, out, err, native, escaped = _invoke(argv, timeout)
    crash = None
    if escaped is not None and isinstance(escaped, FuzzTimeout):
        crash = f"hang: no answer in {timeout:g} s"
    elif escaped is not None:
        crash = _where(escaped)
    elif code == 70:
        # Run again with GPUCTL_DEBUG=1: main() re-raises, which names the exception and where it came from.
        with _env(GPUCTL_DEBUG="1", GPUCTL_FORMAT=None, GPUCTL_STRICT=None):
            _, _, _, _, again = _invoke(argv, timeout)
        crash = _where(again) if again is not None else f"exit 70 (not reproduced with GPUCTL_DEBUG=1): {err[:160]}"
    STATS[command][code] += 1
    return Outcome(command, list(argv), code, out, err, native, crash, output_file)


def command_line(argv: Sequence[str]) -> str:
    """`gpuctl ARGV` to paste into a shell, long arguments shortened."""
    return "gpuctl " + " ".join(a if len(a) < 80 else f"{a[:20]}…({len(a)} chars)" for a in argv)


def _reject(token: str) -> Any:
    raise ValueError(f"non-standard JSON constant {token}")


def _nonfinite_path(text: str) -> str:
    """The first key path holding NaN or ±Infinity, with list indexes as [] (one signature per field)."""
    data = json.loads(text)

    def walk(node: Any, path: str) -> str | None:
        if isinstance(node, float) and (node != node or node in (float("inf"), float("-inf"))):
            return path or "<root>"
        if isinstance(node, dict):
            for k, v in node.items():
                found = walk(v, f"{path}.{k}" if path else str(k))
                if found:
                    return found
        if isinstance(node, list):
            for v in node:
                found = walk(v, f"{path}[]")
                if found:
                    return found
        return None

    return walk(data, "") or "?"


def issues(
    o: Outcome, *, json_format: bool = False, json_codes: tuple[int, ...] = (0, 1), located: Located | None = None
) -> list[Issue]:
    """Everything this run did that no input may make gpuctl do.

    json_format: the run asked for JSON; stdout must then be strict JSON when it is not empty, and must not be
    empty for an exit code in json_codes (`plan` reports failures on stderr only, so it passes (0,))."""
    found: list[Issue] = []
    if o.crash is not None:
        kind = "hang" if o.crash.startswith("hang") else "crash"
        found.append(Issue(kind, o.command, o.crash))
    elif o.code not in (0, 1, 2):
        found.append(Issue("exit-code", o.command, f"exit {o.code}: {o.stderr[:160]}"))

    def tags() -> str:
        return diagnose(located.file) if located is not None else ""

    if o.native_stderr.strip():
        first = o.native_stderr.strip().splitlines()[0]
        found.append(Issue("native-stderr", o.command, tags() + re.sub(r"\d+", "N", first)[:160]))
    for stream, text in (("stdout", o.stdout.replace("\r\n", "\n")), ("stderr", o.stderr)):  # CSV ends rows in CRLF
        bad = CONTROL.search(text)
        if bad:
            around = text[max(0, bad.start() - 40) : bad.end() + 20]
            found.append(Issue("control-char", o.command, f"{stream}: raw {bad.group()!r} in {around!r}"))
    for stream, text in (("stdout", o.stdout), ("stderr", o.stderr + o.native_stderr)):
        if ("Traceback" in text or "internal error" in text) and o.crash is None:
            found.append(Issue("traceback", o.command, f"{stream}: {text[:160]}"))
    text = o.stdout
    if o.output_file is not None and o.code in (0, 1):
        try:
            text = Path(o.output_file).read_text(encoding="utf-8")
        except (OSError, ValueError) as exc:
            found.append(Issue("output", o.command, f"exit {o.code} but the output file cannot be read: {exc}"))
    if json_format and o.crash is None and (o.code in json_codes or text.strip()):
        try:
            json.loads(text, parse_constant=_reject)
        except ValueError as exc:
            if "non-standard JSON constant" in str(exc):
                found.append(Issue("json", o.command, f"NaN/Infinity at {_nonfinite_path(text)}"))
            else:
                found.append(Issue("json", o.command, f"not JSON: {exc}"))
    if located is not None and o.code == 2 and o.crash is None:
        lines = [ln for ln in o.stderr.split("\n") if ln.strip()]  # only \n ends a line: see CONTROL
        at = re.compile(re.escape(located.file) + r":\d+")
        bad = [ln for ln in lines if not at.match(ln)]
        if not lines:
            found.append(Issue("no-location", o.command, "exit 2 with nothing on stderr"))
        elif bad and not any(LOCATION_EXEMPT.search(ln) for ln in lines):
            found.append(Issue("no-location", o.command, tags() + _normalize(bad[0], located.file)))
    return found


def diagnose(file: str) -> str:
    """Tags naming what is special about an input file, so one cause gives one signature whatever error it
    shows: a leading byte-order mark, a CR not followed by LF, bytes that are not UTF-8, YAML that rapidyaml (the
    loader's locator) cannot parse although yaml-rs can."""
    try:
        data = Path(file).read_bytes()
    except (OSError, ValueError):
        return ""
    tags = []
    if data.startswith(b"\xef\xbb\xbf"):
        tags.append("[BOM] ")
    if re.search(rb"\r(?!\n)", data):
        tags.append("[CR line end] ")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        tags.append("[not UTF-8] ")
    else:
        if file.endswith((".yaml", ".yml")) and not _ryml_parses(data):
            tags.append("[rapidyaml cannot parse] ")
    return "".join(tags)


def _ryml_parses(data: bytes) -> bool:
    import ryml

    with _native_stderr():
        try:
            ryml.parse_in_arena(data)
        except Exception:
            return False
    return True


def _normalize(line: str, file: str) -> str:
    """A message without the file and the offending value, so one cause gives one signature."""
    line = line.replace(file, "FILE")
    line = re.sub(r"\(got .*?\)\s*$", "(got …)", line)
    return line[:200]


def record(o: Outcome, found: list[Issue], reproducer: str) -> None:
    """Known issues are counted; a new one fails the calling test (after being recorded for the summary)."""
    from tests.fuzz.conftest import KNOWN_OPEN

    new = []
    for issue in found:
        for entry in KNOWN_OPEN:
            if re.search(entry["match"], issue.signature) and re.search(entry.get("input", ""), reproducer):
                hit = KNOWN_HITS.setdefault(entry["id"], [0, reproducer])
                hit[0] += 1
                break
        else:
            new.append(issue)
            NEW_ISSUES.setdefault(issue.signature, reproducer)
    if new and not os.environ.get("GPUCTL_FUZZ_TRIAGE"):
        detail = "\n".join(f"  {i.signature}" for i in new)
        raise AssertionError(
            f"gpuctl {' '.join(o.argv)[:300]}\nexit {o.code}\nnew issue(s):\n{detail}\n"
            f"stderr: {o.stderr[-800:]}\nreproducer: {reproducer[:2000]}"
        )


def check(
    o: Outcome,
    reproducer: str,
    *,
    json_format: bool = False,
    json_codes: tuple[int, ...] = (0, 1),
    located: Located | None = None,
) -> list[Issue]:
    found = issues(o, json_format=json_format, json_codes=json_codes, located=located)
    record(o, found, reproducer)
    return found


def fuzz_settings(examples: int) -> Any:
    """Reproducible in CI: derandomized, no example database; no deadline (the first run of a command imports)."""
    from hypothesis import HealthCheck, settings

    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )


def _scales() -> list[Any]:
    import pytest

    return [pytest.param(1, id="default"), pytest.param(10, id="long", marks=pytest.mark.fuzz_long)]


SCALES = _scales()
