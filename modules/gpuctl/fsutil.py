"""Reading that cannot hang, writing that never leaves a half-written file behind."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from .errors import Problem, UsageError

_CHUNK = 1 << 20


class InputFileError(UsageError):
    """An input file cannot be read: missing, not a regular file, too large, not text."""


def read_capped(path: str | Path, cap: int, what: str = "file") -> bytes:
    """At most `cap` bytes of a regular file, read by streaming (a FIFO or a device reports no useful size).

    The file is opened non-blocking, so a FIFO without a writer does not hang the open, then refused unless
    fstat says it is a regular file."""
    display = str(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise _error(display, f"no such {what}") from None
    except IsADirectoryError:
        raise _error(display, f"is a directory; name a {what}") from None
    except OSError as exc:
        raise _error(display, f"cannot open: {exc.strerror or exc}") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise _error(display, f"is a directory; name a {what}")
        if not stat.S_ISREG(mode):
            raise _error(display, f"is not a regular file ({_kind(mode)}); name a {what}")
        chunks: list[bytes] = []
        size = 0
        while True:
            try:
                chunk = os.read(fd, min(_CHUNK, cap + 1 - size))
            except OSError as exc:
                raise _error(display, f"cannot read: {exc.strerror or exc}") from None
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > cap:
                raise _error(display, f"larger than {_size(cap)}; is this a {what}?")
        return b"".join(chunks)
    finally:
        os.close(fd)


def decode_utf8(data: bytes, display: str) -> str:
    """UTF-8 text without a leading byte-order mark; a bad byte is reported at its line and column."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        column = len(before) - (before.rfind(b"\n") + 1) + 1
        raise InputFileError(
            f"{display}: not UTF-8",
            [
                Problem(
                    f"byte 0x{data[exc.start]:02x} at offset {exc.start} is not UTF-8 ({exc.reason})",
                    file=display,
                    line=line,
                    column=column,
                    hint="save the file as UTF-8",
                )
            ],
        ) from None


def read_text_capped(path: str | Path, cap: int, what: str = "file") -> str:
    return decode_utf8(read_capped(path, cap, what), str(path))


def _error(display: str, message: str) -> InputFileError:
    return InputFileError(f"{display}: {message}", [Problem(message, file=display)])


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _size(n: int) -> str:
    return f"{n // 2**20} MiB" if n >= 2**20 else f"{n // 1024} KiB" if n >= 1024 else f"{n} bytes"


def write_atomic(path: str | Path, text: str, mode: int = 0o644) -> None:
    """Write to a temporary file in the same directory, fsync, then rename over the target."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        Path(tmp).chmod(mode)
        Path(tmp).replace(target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
