"""A TLS stand-in for an OpenAI-compatible engine (vLLM's routes), for where the real engine does not run.

It enforces what vLLM started with --ssl-cert-reqs 2 --ssl-ca-certs would: a client certificate from the CA
bundle, else the handshake fails. And it can disagree: it answers only for the model it serves (404 otherwise, as
vLLM does), serves the routes the gateway must block (/invocations, /pause) so a leak shows as a 200, and records
the client certificate's CN and the path of each request it saw.
"""

from __future__ import annotations

import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROUTES = ("/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/invocations", "/pause")


class StandinEngine:
    def __init__(self, model: str, cert: Path | None, key: Path | None, ca_bundle: Path | None) -> None:
        """Without a certificate it serves plain HTTP (a stand-in for a router or the burst gateway), and the
        client CN it records is ''."""
        self.model = model
        self.seen: list[tuple[str, str]] = []  # (client CN, path)
        ctx = None
        if cert is not None and key is not None and ca_bundle is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert, key)
            ctx.load_verify_locations(ca_bundle)
            ctx.verify_mode = ssl.CERT_REQUIRED
        engine = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet: the test reads `seen`
                pass

            def do_POST(self) -> None:
                peer = self.connection.getpeercert() or {} if ctx else {}  # type: ignore[attr-defined]
                cn = next((v for rdn in peer.get("subject", ()) for k, v in rdn if k == "commonName"), "")
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                engine.seen.append((cn, self.path))
                if self.path not in ROUTES:
                    self._send(404, {"error": "not found"})
                elif self.path.startswith("/v1/") and body.get("model") != engine.model:
                    self._send(404, {"error": f"The model `{body.get('model')}` does not exist."})
                else:
                    self._send(200, {"object": "chat.completion", "model": engine.model, "path": self.path})

            def _send(self, status: int, data: dict[str, Any]) -> None:
                raw = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if ctx is not None:
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> StandinEngine:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
