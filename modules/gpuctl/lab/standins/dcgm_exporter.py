#!/usr/bin/python3
"""Stand-in dcgm-exporter for the gpuctl lab: the real exporter's exposition (metric names, HELP/TYPE lines and
label set of dcgm-exporter 4.5.3-4.8.2, internal/pkg/rendermetrics/render_metrics.go: gpu, UUID, pci_bus_id,
device, modelName, Hostname) with the values of the HOST's hardware file, the one the lab's nvidia-smi and dcgmi
answer from (/etc/gpuctl-lab/hardware.json, gpuctl.lab.faults): a fault injected into the host shows in all
three. No GPU exists here, so nothing is measured: the file is the GPUs.

    dcgm_exporter.py --listen 0.0.0.0:9400 [--counters /etc/dcgm-exporter/default-counters.csv] [--pidfile F]

The hardware file is re-read on every scrape, the counters file once at start. What a test changes in it: a GPU
gone (dropped from `gpus`), its `xid` (DCGM_FI_DEV_XID_ERRORS is the last XID; DCGM_EXP_XID_ERRORS_COUNT has one
series, label xid, while it is set), `temperature_c`, `power_w`, `ecc_uncorrected` (double-bit volatile count);
`"driver_loaded": false` makes the exporter blind (it answers 200 with no GPU series, as an exporter whose host
engine has no NVML does). A dead exporter is the process stopped by its PID. Like the real exporter, only the counters file's fields are
exported; without a counters file (a host the dcgm role has not configured yet), every field below. Fields the
hardware file has no value for export 0; label-type rows (DCGM_FI_DRIVER_VERSION) are not modelled.

Runs in the lab host (`gpuctl lab up` starts it, gpuctl.lab.exporters; the lab's dcgm-exporter package's init
script runs the same file), so it needs nothing but the host's python3 and metrics_http.py beside it.
"""

import argparse
import json
import os
import sys

from metrics_http import serve

HARDWARE = os.environ.get("STANDIN_HARDWARE_FILE", "/etc/gpuctl-lab/hardware.json")
# field -> (type, help, hardware-file key of each GPU)
FIELDS = {
    "DCGM_FI_DEV_GPU_TEMP": ("gauge", "GPU temperature (in C).", "temperature_c"),
    "DCGM_FI_DEV_SLOWDOWN_TEMP": ("gauge", "Slowdown temperature (in C).", "slowdown_temp_c"),
    "DCGM_FI_DEV_POWER_USAGE": ("gauge", "Power draw (in W).", "power_w"),
    "DCGM_FI_DEV_ENFORCED_POWER_LIMIT": ("gauge", "Enforced power limit (in W).", "power_limit_w"),
    "DCGM_FI_DEV_GPU_UTIL": ("gauge", "GPU utilization (in %).", "util_pct"),
    "DCGM_FI_DEV_FB_USED": ("gauge", "Framebuffer memory used (in MiB).", "fb_used_mib"),
    "DCGM_FI_DEV_FB_FREE": ("gauge", "Framebuffer memory free (in MiB).", "memory_mib"),
    "DCGM_FI_DEV_XID_ERRORS": ("gauge", "Value of the last XID error encountered.", "xid"),
    "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL": ("counter", "Total number of double-bit volatile ECC errors.", "ecc_uncorrected"),
    "DCGM_FI_DEV_ECC_SBE_VOL_TOTAL": ("counter", "Total number of single-bit volatile ECC errors.", "ecc_corrected"),
    "DCGM_FI_DEV_ROW_REMAP_FAILURE": ("gauge", "Whether remapping of rows has failed.", "row_remap_failure"),
}
XID_COUNT = "DCGM_EXP_XID_ERRORS_COUNT"


def read_counters(path):
    """(field, type, help) rows of a dcgm-exporter counters file, label-type rows left out; None when absent."""
    try:
        with open(path) as fh:
            lines = fh.read().splitlines()
    except FileNotFoundError:
        return None
    rows = []
    for line in lines:
        line = line.strip()
        if line and not line.startswith("#"):
            field, kind, help_text = (part.strip() for part in line.split(",", 2))
            if kind != "label":
                rows.append((field, kind, help_text))
    return rows


def default_counters():
    return [(f, t, h) for f, (t, h, _) in FIELDS.items()] + [(XID_COUNT, "gauge", "XID errors in the window.")]


def read_hardware():
    try:
        with open(HARDWARE) as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return {"gpus": []}


def render(hw, counters, host):
    gpus = [] if hw.get("driver_loaded") is False else hw.get("gpus", [])
    out = []
    for field, kind, help_text in counters:
        out.append(f"# HELP {field} {help_text}")
        out.append(f"# TYPE {field} {kind}")
        for g in gpus:
            i = g["index"]
            labels = (
                f'gpu="{i}",UUID="{g.get("uuid", "")}",pci_bus_id="{g.get("pci_bus_id", "")}",device="nvidia{i}",'
                f'modelName="{g.get("name", "")}",Hostname="{host}"'
            )
            if field == XID_COUNT:
                if g.get("xid"):
                    out.append(f'{field}{{{labels},xid="{g["xid"]}"}} {g.get("xid_count", 1)}')
                continue
            key = FIELDS.get(field, (None, None, None))[2]
            out.append(f"{field}{{{labels}}} {g.get(key, 0) if key else 0}")
    return "\n".join(out) + "\n"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen", required=True)
    parser.add_argument("--counters", default="/etc/dcgm-exporter/default-counters.csv")
    parser.add_argument("--pidfile")
    args = parser.parse_args()
    if args.pidfile:  # what the package's init script would write (start-stop-daemon --make-pidfile)
        with open(args.pidfile, "w") as fh:
            fh.write(f"{os.getpid()}\n")
    host = os.uname().nodename
    counters = read_counters(args.counters) or default_counters()  # read once, as the real one (restart to change)

    def scrape():
        return render(read_hardware(), counters, host)

    serve(args.listen, {"/metrics": scrape})
    return 0


if __name__ == "__main__":
    sys.exit(main())
