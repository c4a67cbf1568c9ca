"""A minimal OpenAI-compatible server standing in for the cloud burst endpoint (no cloud is reachable here).

Not a real model: it answers /v1/completions and /v1/chat/completions with a fixed text that names it, so a test
can tell which side served a request. It enforces what a hosted endpoint would: the bearer credential (read from
a file, never from the command line) and the model name it serves; anything else gets OpenAI's error shapes
(401 invalid_api_key, 404 model_not_found). /metrics counts requests by outcome.

    python cloud_standin.py --port P --model NAME --api-key-file FILE
"""

from __future__ import annotations

import argparse
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

FINGERPRINT = "cloud-standin"
TEXT = "served by the cloud stand-in"


class Counts:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_outcome: dict[str, int] = {}

    def add(self, outcome: str) -> None:
        with self.lock:
            self.by_outcome[outcome] = self.by_outcome.get(outcome, 0) + 1

    def exposition(self) -> str:
        with self.lock:
            rows = [f'cloud_standin_requests_total{{outcome="{k}"}} {v}' for k, v in sorted(self.by_outcome.items())]
        return "# TYPE cloud_standin_requests_total counter\n" + "".join(r + "\n" for r in rows)


def make_handler(model: str, api_key: str, counts: Counts) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet: the test reads /metrics instead
            return

        def _send(self, status: int, body: Any, content_type: str = "application/json") -> None:
            raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def _error(self, status: int, code: str, message: str) -> None:
            counts.add(code)
            self._send(status, {"error": {"message": message, "type": "invalid_request_error", "code": code}})

        def do_GET(self) -> None:
            if self.path == "/health":
                self._send(200, {})
            elif self.path == "/metrics":
                self._send(200, counts.exposition(), "text/plain; version=0.0.4")
            elif self.path == "/v1/models":
                self._send(200, {"object": "list", "data": [{"id": model, "object": "model"}]})
            else:
                self._error(404, "not_found", f"no route {self.path}")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            try:
                request = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                return self._error(400, "invalid_json", "the body is not JSON")
            given = self.headers.get("Authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {api_key}".encode()):
                return self._error(401, "invalid_api_key", "Incorrect API key provided.")
            if request.get("model") != model:
                return self._error(404, "model_not_found", f"The model `{request.get('model')}` does not exist.")
            created = int(time.time())
            usage = {"prompt_tokens": 1, "completion_tokens": 5, "total_tokens": 6}
            if self.path == "/v1/completions":
                choice: dict[str, Any] = {"index": 0, "text": TEXT, "finish_reason": "length"}
                kind = "text_completion"
            elif self.path == "/v1/chat/completions":
                choice = {"index": 0, "message": {"role": "assistant", "content": TEXT}, "finish_reason": "length"}
                kind = "chat.completion"
            else:
                return self._error(404, "not_found", f"no route {self.path}")
            counts.add("ok")
            body = {"id": f"cmpl-standin-{created}", "object": kind, "created": created, "model": model}
            return self._send(200, {**body, "system_fingerprint": FINGERPRINT, "choices": [choice], "usage": usage})

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--api-key-file", type=Path, required=True)
    args = parser.parse_args()
    api_key = args.api_key_file.read_text().strip()
    server = ThreadingHTTPServer((args.host, args.port), make_handler(args.model, api_key, Counts()))
    server.serve_forever()


if __name__ == "__main__":
    main()
