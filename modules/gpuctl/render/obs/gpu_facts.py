"""GPU facts the GPU alerts use: the dcgm-exporter series and label names, and which XIDs are fatal.

Series and labels: dcgm-exporter 4.8.2 (paired with DCGM 4.5.3, tag 4.5.3-4.8.2), every GPU series carries
gpu, UUID, pci_bus_id, device, modelName and Hostname
(https://github.com/NVIDIA/dcgm-exporter/blob/4.5.3-4.8.2/internal/pkg/rendermetrics/render_metrics.go, line 47).
The exporter's main branch renames Hostname to hostname after that release (commit d5e5f51, PR #655): an exporter
release with it changes HOST_LABEL;
DCGM_EXP_XID_ERRORS_COUNT adds `xid` and counts the XIDs of the last window (`--xid-count-window-size`,
internal/pkg/collector/xid_collector.go). Field IDs: DCGM_FI_DEV_SLOWDOWN_TEMP 158, DCGM_FI_DEV_ENFORCED_POWER_LIMIT
164 (https://github.com/NVIDIA/DCGM/blob/master/dcgmlib/dcgm_fields.h).

XIDs: NVIDIA's XID catalog gives each XID an immediate action
(https://docs.nvidia.com/deploy/xid-errors/analyzing-xid-catalog.html). FATAL are the XIDs after which the GPU
needs a reset or the node a reboot before it serves again: 48 double-bit ECC, 79 fallen off the bus, 94/95
contained/uncontained ECC, 119/120 GSP RPC timeout / GSP error. APPLICATION are the XIDs the NVIDIA device plugin
treats as the application's fault and does not mark the GPU unhealthy for (13, 31, 43, 45, 68:
https://github.com/NVIDIA/k8s-device-plugin/blob/main/internal/rm/health.go, `applicationErrorXids`). Any
other XID is worth a look but does not page.
"""

from __future__ import annotations

FATAL_XIDS = (48, 79, 94, 95, 119, 120)
APPLICATION_XIDS = (13, 31, 43, 45, 68)

HOST_LABEL = "Hostname"  # dcgm-exporter's label with the node's host name (released 3.x-4.8.2)
GPU_LABELS = ("gpu", "UUID", "pci_bus_id", "device", "modelName", HOST_LABEL)

TEMP = "DCGM_FI_DEV_GPU_TEMP"
SLOWDOWN_TEMP = "DCGM_FI_DEV_SLOWDOWN_TEMP"
POWER = "DCGM_FI_DEV_POWER_USAGE"
POWER_LIMIT = "DCGM_FI_DEV_ENFORCED_POWER_LIMIT"
XID_COUNT = "DCGM_EXP_XID_ERRORS_COUNT"
ECC_DBE = "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL"
ROW_REMAP_FAILURE = "DCGM_FI_DEV_ROW_REMAP_FAILURE"
GPU_UTIL = "DCGM_FI_DEV_GPU_UTIL"
FB_USED = "DCGM_FI_DEV_FB_USED"
FB_FREE = "DCGM_FI_DEV_FB_FREE"


def regex(codes: tuple[int, ...]) -> str:
    return "|".join(str(c) for c in codes)
