"""The weights staging script (render/stage_weights.sh) run for real: sh, curl, sha256sum and flock against a local
HTTP server that serves byte ranges (what a mirror or an S3-compatible store does) and can be made to fail.

What it must do: fetch every file of the manifest, resume a partial file, refetch a corrupt one, refuse a manifest
whose digest is not the pinned one and entries that leave the directory, refuse to start without the space, and
put the model in place with a rename (never a half-staged directory under the final name); a second run is a
no-op."""

from __future__ import annotations

import hashlib
import http.server
import os
import subprocess
import threading
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest

SCRIPT = resources.files("gpuctl.render").joinpath("stage_weights.sh").read_text(encoding="utf-8")
FILES = {"config.json": b'{"model_type": "llama"}\n', "model-00001.safetensors": os.urandom(300_000)}


class RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Serves a directory with single byte ranges (bytes=N-), counting requests, optionally behind a token."""

    requests: list[tuple[str, str | None]]
    token: str | None

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.requests.append((self.path, self.headers.get("Range")))
        if self.token is not None and self.headers.get("Authorization") != f"Bearer {self.token}":
            self.send_error(401)
            return
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        start = 0
        rng = self.headers.get("Range")
        if rng:
            start = int(rng.removeprefix("bytes=").split("-")[0])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, type[RangeHandler], Path]]:
    source = tmp_path / "source"
    source.mkdir()
    for name, data in FILES.items():
        (source / name).write_bytes(data)
    sums = "".join(f"{hashlib.sha256(d).hexdigest()}  {n}\n" for n, d in FILES.items())
    (source / "SHA256SUMS").write_text(sums)
    handler = type("Handler", (RangeHandler,), {"requests": [], "token": None})

    def make(*args: object, **kwargs: object) -> RangeHandler:
        return handler(*args, directory=str(source), **kwargs)  # type: ignore[arg-type]

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), make)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", handler, source
    finally:
        httpd.shutdown()
        httpd.server_close()


def stage(tmp_path: Path, url: str, source: Path, **env: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "stage.sh"
    script.write_text(SCRIPT)
    manifest = hashlib.sha256((source / "SHA256SUMS").read_bytes()).hexdigest()
    environ = {
        "PATH": os.environ["PATH"],
        "STAGE_DEST": str(tmp_path / "cache" / "m"),
        "STAGE_SOURCE_URL": url,
        "STAGE_SOURCE_DIR": "",
        "STAGE_MANIFEST_SHA256": manifest,
        "STAGE_SIZE_KIB": "400",
        **env,
    }
    return subprocess.run(["sh", str(script)], env=environ, capture_output=True, text=True, timeout=60)


def staged(tmp_path: Path) -> dict[str, bytes]:
    dest = tmp_path / "cache" / "m"
    return {p.name: p.read_bytes() for p in dest.iterdir() if p.name in FILES}


def test_stages_verifies_and_renames_into_place_once(tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    url, handler, source = server
    done = stage(tmp_path, url, source)
    assert done.returncode == 0, done.stderr
    assert staged(tmp_path) == FILES
    assert not (tmp_path / "cache" / "m.partial").exists()
    fetched = len(handler.requests)
    assert fetched == 3  # the manifest and two files
    again = stage(tmp_path, url, source)
    assert again.returncode == 0 and "already staged" in again.stderr
    assert len(handler.requests) == fetched  # idempotent: nothing fetched


def test_an_interrupted_download_resumes_where_it_stopped(tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    """A pod killed mid-download leaves the first bytes in the partial directory; the next run asks for the rest."""
    url, handler, source = server
    partial = tmp_path / "cache" / "m.partial"
    partial.mkdir(parents=True)
    (partial / "model-00001.safetensors").write_bytes(FILES["model-00001.safetensors"][:100_000])
    done = stage(tmp_path, url, source)
    assert done.returncode == 0, done.stderr
    assert [r for p, r in handler.requests if p.endswith(".safetensors")] == ["bytes=100000-"]
    assert staged(tmp_path) == FILES


def test_a_corrupt_partial_file_is_fetched_again(tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    url, _, source = server
    partial = tmp_path / "cache" / "m.partial"
    partial.mkdir(parents=True)
    (partial / "model-00001.safetensors").write_bytes(b"x" * 300_000)  # full length, wrong bytes
    done = stage(tmp_path, url, source)
    assert done.returncode == 0, done.stderr
    assert staged(tmp_path) == FILES


def test_a_manifest_that_is_not_the_pinned_one_is_refused(tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    url, _, source = server
    done = stage(tmp_path, url, source, STAGE_MANIFEST_SHA256="0" * 64)
    assert done.returncode == 4 and "does not match manifest_sha256" in done.stderr
    assert not (tmp_path / "cache" / "m").exists()


def test_a_manifest_entry_leaving_the_directory_is_refused(tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    url, _, source = server
    (source / "SHA256SUMS").write_text(f"{'0' * 64}  ../../etc/passwd\n")
    done = stage(tmp_path, url, source)
    assert done.returncode == 4 and "refusing manifest entry '../../etc/passwd'" in done.stderr
    assert not (tmp_path / "cache" / "m").exists()


def test_a_file_that_stays_wrong_fails_without_replacing_the_model(tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    url, _, source = server
    (source / "config.json").write_bytes(b"tampered\n")  # the manifest still pins the original
    done = stage(tmp_path, url, source)
    assert done.returncode == 4 and "config.json does not match its checksum" in done.stderr
    assert not (tmp_path / "cache" / "m").exists()


def test_no_space_no_start(tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    url, handler, source = server
    done = stage(tmp_path, url, source, STAGE_SIZE_KIB=str(2**50))
    assert done.returncode == 3 and "not enough space" in done.stderr
    assert handler.requests == []


def test_the_token_goes_in_a_header_never_on_the_command_line(tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    url, handler, source = server
    handler.token = "s3cr3t-token"
    refused = stage(tmp_path, url, source)
    assert refused.returncode != 0
    done = stage(tmp_path, url, source, STAGE_TOKEN="s3cr3t-token")
    assert done.returncode == 0, done.stderr
    assert "s3cr3t-token" not in SCRIPT.replace("$STAGE_TOKEN", "")
    assert 'printf \'header = "Authorization: Bearer %s"\\n\' "$STAGE_TOKEN" |' in SCRIPT


def test_an_nfs_source_is_copied_and_verified(tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    _, handler, source = server
    done = stage(tmp_path, "", source, STAGE_SOURCE_DIR=str(source))
    assert done.returncode == 0, done.stderr
    assert staged(tmp_path) == FILES and handler.requests == []
