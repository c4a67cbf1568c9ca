#!/usr/bin/python3
"""Stand-in dcgm-exporter for the gpuctl lab: the real exporter's exposition (metric names, HELP/TYPE lines and
label set of dcgm-exporter 4.5.3-4.8.2, internal/pkg/rendermetrics/render_metrics.go: gpu, UUID, pci_bus_id,
device, modelName, Hostname, then label-type counters such as DCGM_FI_DRIVER_VERSION), with the values of a
state file a test changes while it runs. No GPU exists here, so nothing is measured: the state is the GPUs.

    dcgm_exporter.py --listen 127.0.0.1:9400 --state state.json [--counters default-counters.csv]

state.json (re-read on every scrape):
    {"hostname": "gpu-a01", "driver": "550.127.05", "blind": false,
     "gpus": [{"gpu": 0, "model": "NVIDIA L4", "temp_c": 40, "slowdown_temp_c": 92, "power_w": 30,
               "power_limit_w": 72, "util_pct": 0, "fb_used_mib": 0, "fb_free_mib": 22000,
               "xids": {"79": 1}, "ecc_dbe": 0, "row_remap_failure": 0}]}

Faults a test injects through the state: an XID (`xids`), temperature or power, a GPU gone (drop it from `gpus`),
blind (`"blind": true`: answers 200 with no GPU series, as an exporter whose host engine has no NVML does). A
dead exporter is the process stopped by its PID. Like the real exporter, only the counters file's fields are
exported (all known fields when none is given); DCGM_EXP_XID_ERRORS_COUNT has one series per XID seen, label xid.
"""

import argparse
import json
import sys

from metrics_http import serve

# field -> (type, help, state key) for the fields a state can set; other counters-file fields export 0.
FIELDS = {
    "DCGM_FI_DEV_GPU_TEMP": ("gauge", "GPU temperature (in C).", "temp_c"),
    "DCGM_FI_DEV_SLOWDOWN_TEMP": ("gauge", "Slowdown temperature (in C).", "slowdown_temp_c"),
    "DCGM_FI_DEV_POWER_USAGE": ("gauge", "Power draw (in W).", "power_w"),
    "DCGM_FI_DEV_ENFORCED_POWER_LIMIT": ("gauge", "Enforced power limit (in W).", "power_limit_w"),
    "DCGM_FI_DEV_GPU_UTIL": ("gauge", "GPU utilization (in %).", "util_pct"),
    "DCGM_FI_DEV_FB_USED": ("gauge", "Framebuffer memory used (in MiB).", "fb_used_mib"),
    "DCGM_FI_DEV_FB_FREE": ("gauge", "Framebuffer memory free (in MiB).", "fb_free_mib"),
    "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL": ("counter", "Total number of double-bit volatile ECC errors.", "ecc_dbe"),
    "DCGM_FI_DEV_ROW_REMAP_FAILURE": ("gauge", "Whether remapping of rows has failed.", "row_remap_failure"),
}
XID_COUNT = "DCGM_EXP_XID_ERRORS_COUNT"


def read_counters(path):
    """(field, type, help) rows of a dcgm-exporter counters file; label-type rows become labels."""
    rows = []
    with open(path) as fh:
        for line in fh:
            line = line.strip()
            if line and not line.startswith("#"):
                field, kind, help_text = (part.strip() for part in line.split(",", 2))
                rows.append((field, kind, help_text))
    return rows


def render(state, counters):
    gpus = [] if state.get("blind") else state.get("gpus", [])
    host = state.get("hostname", "")
    label_fields = {f: state.get("driver", "") for f, kind, _ in counters if kind == "label"}
    out = []
    for field, kind, help_text in counters:
        if kind == "label":
            continue
        out.append(f"# HELP {field} {help_text}")
        out.append(f"# TYPE {field} {kind}")
        for g in gpus:
            labels = (
                f'gpu="{g["gpu"]}",UUID="GPU-{host}-{g["gpu"]}",pci_bus_id="00000000:{0x10 + g["gpu"]:02X}:00.0",'
                f'device="nvidia{g["gpu"]}",modelName="{g.get("model", "")}",Hostname="{host}"'
            )
            labels += "".join(f',{k}="{v}"' for k, v in sorted(label_fields.items()))
            if field == XID_COUNT:
                for xid, count in sorted(g.get("xids", {}).items()):
                    out.append(f'{field}{{{labels},xid="{xid}"}} {count}')
                continue
            key = FIELDS.get(field, (None, None, None))[2]
            out.append(f"{field}{{{labels}}} {g.get(key, 0) if key else 0}")
    return "\n".join(out) + "\n"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen", required=True)
    parser.add_argument("--state", required=True)
    parser.add_argument("--counters")
    args = parser.parse_args()
    counters = (
        read_counters(args.counters)
        if args.counters
        else [(f, t, h) for f, (t, h, _) in FIELDS.items()] + [(XID_COUNT, "gauge", "XID errors in the window.")]
    )

    def scrape():
        with open(args.state) as fh:
            return render(json.load(fh), counters)

    serve(args.listen, {"/metrics": scrape})
    return 0


if __name__ == "__main__":
    sys.exit(main())
