"""`write_atomic`: never destroys what is at the path, never leaves half a file or a temporary file behind."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from gpuctl import fsutil
from gpuctl.errors import GpuctlError
from gpuctl.fsutil import OutputFileError, write_atomic


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_new_file_gets_0644_less_the_umask(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    old = os.umask(0o027)
    try:
        write_atomic(target, "{}\n")
    finally:
        os.umask(old)
    assert target.read_text() == "{}\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert leftovers(tmp_path) == []


def test_existing_file_keeps_its_mode(tmp_path: Path) -> None:
    target = tmp_path / "secret.sarif"
    target.write_text("old")
    target.chmod(0o600)
    write_atomic(target, "new")
    assert target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_explicit_mode_is_exact(tmp_path: Path) -> None:
    """The provisioning inventory passes mode=0o600 whatever the umask or the old file's mode."""
    target = tmp_path / "inventory.yml"
    target.write_text("old")
    target.chmod(0o644)
    write_atomic(target, "new", mode=0o600)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_symlink_is_written_through_and_stays_a_link(tmp_path: Path) -> None:
    real = tmp_path / "real.txt"
    real.write_text("old")
    real.chmod(0o640)
    link = tmp_path / "link.txt"
    link.symlink_to(real.name)
    chain = tmp_path / "chain.txt"
    chain.symlink_to(link.name)
    write_atomic(chain, "new")
    assert chain.is_symlink() and link.is_symlink()
    assert chain.readlink() == Path("link.txt") and link.readlink() == Path("real.txt")
    assert real.read_text() == "new"
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    assert leftovers(tmp_path) == []


def test_dangling_symlink_creates_its_target(tmp_path: Path) -> None:
    link = tmp_path / "link.txt"
    link.symlink_to("made.txt")
    write_atomic(link, "x")
    assert link.is_symlink()
    assert (tmp_path / "made.txt").read_text() == "x"


def test_refuses_a_directory(tmp_path: Path) -> None:
    with pytest.raises(OutputFileError) as err:
        write_atomic(tmp_path, "x")
    assert str(tmp_path) in err.value.render()
    assert "is a directory" in err.value.render()


def test_refuses_a_fifo_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(OutputFileError, match="is a FIFO, not a regular file"):
        write_atomic(fifo, "x")
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert leftovers(tmp_path) == []


def test_refuses_a_symlink_to_a_device(tmp_path: Path) -> None:
    link = tmp_path / "null"
    link.symlink_to("/dev/null")
    with pytest.raises(OutputFileError, match="is a character device"):
        write_atomic(link, "x")
    assert stat.S_ISCHR(Path("/dev/null").stat().st_mode)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root could replace /dev/null")
def test_dev_null_stays_a_device_as_root() -> None:
    with pytest.raises(OutputFileError, match="refusing to replace it"):
        write_atomic("/dev/null", "x")
    assert stat.S_ISCHR(Path("/dev/null").stat().st_mode)


def test_missing_directory_is_an_error_unless_parents(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "report.json"
    with pytest.raises(OutputFileError) as err:
        write_atomic(target, "x", parents=False)
    assert f"no such directory {tmp_path / 'a' / 'b'}; create it or pass --mkdir" in err.value.render()
    assert not (tmp_path / "a").exists()
    write_atomic(target, "x", parents=True)
    assert target.read_text() == "x"


def test_internal_callers_keep_their_defaults(tmp_path: Path) -> None:
    """provision/inventory.py and provision/journal.py call write_atomic(path, text[, mode=0o600])."""
    target = tmp_path / "generated" / "inventory.yml"
    write_atomic(target, "all: {}\n", mode=0o600)
    assert target.read_text() == "all: {}\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_bytes_are_written_as_is(tmp_path: Path) -> None:
    target = tmp_path / "chart.png"
    write_atomic(target, b"\x89PNG\r\n\x1a\n\x00\xff")
    assert target.read_bytes() == b"\x89PNG\r\n\x1a\n\x00\xff"


@pytest.mark.parametrize(
    ("name", "reason"),
    [("n" * 300, "File name too long"), ("file/x.svg", "Not a directory")],
    ids=["ENAMETOOLONG", "ENOTDIR"],
)
def test_os_refusals_name_the_path_and_the_reason(tmp_path: Path, name: str, reason: str) -> None:
    (tmp_path / "file").write_text("a regular file")
    target = tmp_path / name
    with pytest.raises(OutputFileError) as err:
        write_atomic(target, "x", parents=False)
    assert isinstance(err.value, GpuctlError) and err.value.exit_code == 2
    assert str(target) in err.value.render()
    assert reason in err.value.render()
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("code", [errno.EACCES, errno.EROFS, errno.ENOSPC])
def test_refusal_mid_write_keeps_the_old_file_and_removes_the_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    target = tmp_path / "report.json"
    target.write_text("old")

    def fail(fd: int, payload: bytes) -> None:
        os.write(fd, payload[:3])
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(fsutil, "_write_all", fail)
    with pytest.raises(OutputFileError) as err:
        write_atomic(target, "new contents")
    assert os.strerror(code) in err.value.render()
    assert str(target) in err.value.render()
    assert target.read_text() == "old"
    assert leftovers(tmp_path) == []


def test_keyboard_interrupt_mid_write_removes_the_temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "report.json"
    target.write_text("old")

    def interrupted(fd: int, payload: bytes) -> None:
        os.write(fd, payload[:3])
        raise KeyboardInterrupt

    monkeypatch.setattr(fsutil, "_write_all", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, "new contents")
    assert target.read_text() == "old"
    assert leftovers(tmp_path) == []
