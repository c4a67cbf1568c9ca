"""The lab repository's HTTP server. http.server's HTTPServer looks up its own FQDN on bind, which in a
namespace without DNS waits for the resolver to time out (10 s); a plain threading TCP server does not."""

from __future__ import annotations

import functools
import socketserver
import sys
from http.server import SimpleHTTPRequestHandler


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def main(address: str, port: int, directory: str) -> None:
    socketserver.ThreadingTCPServer.allow_reuse_address = True
    handler = functools.partial(_Quiet, directory=directory)
    with socketserver.ThreadingTCPServer((address, port), handler) as server:
        server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
