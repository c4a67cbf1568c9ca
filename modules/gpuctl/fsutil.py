"""Reading that cannot hang; writing that never leaves a half-written file behind nor replaces what is not a file."""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
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


class OutputFileError(UsageError):
    """An output file cannot be written: its directory is missing, it names a directory or a device, or the
    operating system refuses (too long a name, no permission, read-only file system, disk full)."""


def write_atomic(
    path: str | Path, data: str | bytes, mode: int | None = None, *, parents: bool = True, what: str = "file"
) -> None:
    """Replace the contents of `path` without ever leaving a half-written file or destroying what is there.

    The bytes go to a temporary file beside the target, are fsynced, and renamed over it. A symlink is
    written through (its final target is replaced; the link stays a link). A target that exists and is not a
    regular file (directory, device, FIFO, socket) is refused. The new file keeps the mode of the file it
    replaces; a new file gets 0644 less the umask; `mode`, when given, is set exactly. A missing directory
    is created with `parents`, else refused. The temporary file is removed on every failure, including
    KeyboardInterrupt. Any OS refusal is an `OutputFileError` naming the path and the reason."""
    display = str(path)
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    tmp: Path | None = None
    target: Path | None = None
    try:
        target = Path(os.path.realpath(path))  # through symlinks (a chain, or one whose target is missing)
        try:
            st: os.stat_result | None = target.stat()
        except FileNotFoundError:
            st = None
            _ensure_directory(target.parent, display, parents, what)
        if st is not None and not stat.S_ISREG(st.st_mode):
            raise _write_error(display, _refusal(st.st_mode, what))
        tmp, fd = _create_temporary(target)
        try:
            if mode is not None:
                os.fchmod(fd, mode)
            elif st is not None:
                os.fchmod(fd, st.st_mode & 0o777)
            if st is not None and (st.st_uid, st.st_gid) != (os.getuid(), os.getgid()):
                with contextlib.suppress(OSError):  # only root (or a member of the group) may keep the owner
                    os.fchown(fd, st.st_uid, st.st_gid)
            _write_all(fd, payload)
            os.fsync(fd)
        finally:
            os.close(fd)
        tmp.replace(target)
        tmp = None
        _sync_directory(target.parent)
    except OSError as exc:
        through = f" (through the link to {target})" if target is not None and _is_link(path) else ""
        raise _write_error(display, f"cannot write{through}: {exc.strerror or exc}") from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink()


def _ensure_directory(directory: Path, display: str, parents: bool, what: str) -> None:
    if directory.is_dir():
        return
    if parents:
        directory.mkdir(parents=True, exist_ok=True)
    elif directory.exists() or directory.is_symlink():
        raise _write_error(display, f"{directory} is not a directory")
    else:
        raise _write_error(display, f"no such directory {directory}; create it or pass --mkdir")


def _create_temporary(target: Path) -> tuple[Path, int]:
    """A new file beside the target, created (O_EXCL) with 0644 so the kernel applies the umask."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
    for _ in range(100):
        tmp = target.parent / f".{target.name[:32]}.{secrets.token_hex(4)}.tmp"  # short: NAME_MAX is 255
        try:
            return tmp, os.open(tmp, flags, 0o644)
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "cannot create a temporary file", str(target.parent))


def _write_all(fd: int, payload: bytes) -> None:
    view = memoryview(payload)
    while view:
        view = view[os.write(fd, view) :]


def _sync_directory(directory: Path) -> None:
    """Make the rename durable; some file systems cannot open or fsync a directory, which is harmless."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def _is_link(path: str | Path) -> bool:
    try:
        return Path(path).is_symlink()
    except OSError:
        return False


def _refusal(mode: int, what: str) -> str:
    if stat.S_ISDIR(mode):
        return f"is a directory; name a {what} to write"
    return f"is {_kind(mode)}, not a regular file; refusing to replace it (name a {what} to write)"


def _write_error(display: str, message: str) -> OutputFileError:
    return OutputFileError(f"{display}: {message}", [Problem(message, file=display)])
