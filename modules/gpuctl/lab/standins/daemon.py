#!/usr/bin/python3
"""Stand-in daemon for the gpuctl lab (nv-hostengine, dcgm-exporter, nv-fabricmanager, nvidia-persistenced).

Listens on a TCP port when given one (dcgm-exporter answers HTTP /metrics from nvidia-smi's view), writes its
pid file, and exits on SIGTERM. Started by the package's /etc/init.d script with start-stop-daemon."""

import http.server
import json
import os
import signal
import socketserver
import sys
import threading


def metrics():
    try:
        with open("/etc/gpuctl-lab/gpus.json") as fh:
            spec = json.load(fh)
    except OSError:
        spec = {"count": 0}
    counters = []
    try:
        with open("/etc/dcgm-exporter/default-counters.csv") as fh:
            counters = [line.split(",")[0].strip() for line in fh if line.strip() and not line.startswith("#")]
    except OSError:
        pass
    host = os.uname().nodename
    lines = []
    for name in counters:
        lines.append(f"# TYPE {name} gauge")
        for i in range(spec.get("count", 0)):
            lines.append(f'{name}{{gpu="{i}",modelName="{spec.get("name", "")}",Hostname="{host}"}} 0')
    return "\n".join(lines) + "\n"


class Metrics(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = metrics().encode() if self.path.startswith("/metrics") else b"not found\n"
        self.send_response(200 if self.path.startswith("/metrics") else 404)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Raw(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.sendall(b"ok\n")


def main():
    name, port = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 0
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if port:
        socketserver.TCPServer.allow_reuse_address = True
        handler = Metrics if name == "dcgm-exporter" else Raw
        server = socketserver.ThreadingTCPServer(("0.0.0.0", port), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
    stop.wait()


if __name__ == "__main__":
    main()
