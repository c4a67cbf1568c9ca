#!/usr/bin/python3
"""Stand-in daemon for the gpuctl lab (nv-hostengine, nv-fabricmanager, nvidia-persistenced; dcgm-exporter has its
own stand-in, dcgm_exporter.py).

Listens on a TCP port when given one (answers "ok" to any connection), writes its pid file, and exits on SIGTERM.
Started by the package's /etc/init.d script with start-stop-daemon."""

import signal
import socketserver
import sys
import threading


class Raw(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.sendall(b"ok\n")


def main():
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if port:
        socketserver.TCPServer.allow_reuse_address = True
        server = socketserver.ThreadingTCPServer(("0.0.0.0", port), Raw)
        threading.Thread(target=server.serve_forever, daemon=True).start()
    stop.wait()


if __name__ == "__main__":
    main()
