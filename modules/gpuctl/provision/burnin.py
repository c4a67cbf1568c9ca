"""`gpuctl burnin`: the health gate between a provisioned server and a node that may serve.

The burnin playbook runs `dcgmi diag -r <level> -j` and nccl-tests `all_reduce_perf -J` on every GPU of each
node (the levels and sizes from the site's provisioning.burnin; level `new_hardware_diag_level` for a node that
never passed); this module parses what they printed, compares the peak all-reduce bus bandwidth with the GPU
model's threshold in the hardware catalog, and records a verdict per node. With a kubeconfig, a passing node
gets the label serving pods require and is uncordoned; a failing one is cordoned, loses the label and carries
the reason as an annotation (gpuctl.provision.k8s_api.set_burnin_verdict)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..fsutil import write_atomic
from ..loader import load_site
from ..model import Server, Site
from .burnin_results import BurninParseError, parse_diag, parse_dmon, parse_nccl
from .inventory import Overlay
from .runner import STATE_DIR, provision, resolve_target

# Task names of the burnin role whose results are read (playbooks/roles/burnin/tasks/main.yml).
DIAG_TASK = "Run the DCGM diagnostic"
NCCL_TASK = "Run all_reduce_perf on every GPU of the node"
NCCL_FILE_TASK = "Read the NCCL result"
XID_TASK = "Read the last XID of every GPU"
REASON_MAX = 200


@dataclass
class Check:
    name: str
    passed: bool
    message: str
    skipped: bool = False


@dataclass
class Verdict:
    host: str
    passed: bool
    diag_level: int
    checks: list[Check] = field(default_factory=list)
    elapsed_s: float = 0.0
    node: str = "not updated (no kubeconfig)"

    @property
    def reason(self) -> str:
        """The failed checks in one short line (the node annotation's value)."""
        text = "; ".join(f"{c.name}: {c.message}" for c in self.checks if not c.passed and not c.skipped)
        return text if len(text) <= REASON_MAX else text[: REASON_MAX - 1] + "…"


@dataclass
class HostOutput:
    """What the playbook gave back for one host."""

    diag: dict[str, Any] | None = None
    nccl: dict[str, Any] | None = None
    nccl_file: dict[str, Any] | None = None
    xid: dict[str, Any] | None = None
    run_failed: str = ""
    seconds: float = 0.0


def _delta_s(res: dict[str, Any]) -> float:
    """The command module's `delta` ("0:01:02.345678") in seconds."""
    try:
        h, m, s = str(res.get("delta", "0:0:0")).split(":")
        return int(h) * 3600 + int(m) * 60 + float(s)
    except ValueError:
        return 0.0


def collector(outputs: dict[str, HostOutput]) -> Callable[[dict[str, Any]], None]:
    """An ansible-runner event handler keeping the burnin role's results per host."""

    def on_event(event: dict[str, Any]) -> None:
        data = event.get("event_data", {})
        host = data.get("host")
        if host not in outputs:
            return
        out = outputs[host]
        kind = event.get("event")
        res = data.get("res") or {}
        task = data.get("task")
        if kind in ("runner_on_failed", "runner_on_unreachable") and not data.get("ignore_errors"):
            out.run_failed = str(res.get("msg") or res.get("stderr") or kind)[:300]
        elif kind == "runner_on_ok" and not res.get("skipped"):
            if task == DIAG_TASK:
                out.diag = res
                out.seconds += _delta_s(res)
            elif task == NCCL_TASK:
                out.nccl = res
                out.seconds += _delta_s(res)
            elif task == NCCL_FILE_TASK:
                out.nccl_file = res
            elif task == XID_TASK:
                out.xid = res

    return on_event


def judge_diag(out: HostOutput) -> Check:
    res = out.diag or {}
    try:
        diag = parse_diag(str(res.get("stdout", "")))
    except BurninParseError as exc:
        err = str(res.get("stderr") or res.get("stdout") or "").strip().splitlines()
        return Check("dcgm-diag", False, f"dcgmi exited {res.get('rc')}: {err[0][:150] if err else exc}")
    if diag.passed:
        extra = f", {len(diag.warnings)} warnings" if diag.warnings else ""
        return Check("dcgm-diag", True, f"{diag.tests} tests passed{extra}")
    return Check("dcgm-diag", False, "; ".join(diag.failures))


def judge_xid(out: HostOutput) -> Check:
    """Any GPU that raised an XID since the driver loaded (DCGM_FI_DEV_XID_ERRORS holds the last one; XIDs are
    the driver's error reports, https://docs.nvidia.com/deploy/xid-errors/) fails burn-in."""
    res = out.xid or {}
    xids = parse_dmon(str(res.get("stdout", "")))
    if res.get("rc") != 0 or not xids:
        err = str(res.get("stderr") or res.get("stdout") or "").strip().splitlines()
        return Check("xid", False, f"dcgmi dmon exited {res.get('rc')}: {err[0][:150] if err else 'no GPU rows'}")
    raised = {gpu: v for gpu, v in sorted(xids.items()) if v not in ("0", "N/A")}
    if raised:
        return Check("xid", False, ", ".join(f"GPU {g} XID {v}" for g, v in raised.items()))
    return Check("xid", True, f"no XID on {len(xids)} GPUs")


def judge_nccl(out: HostOutput, site: Site, server: Server) -> Check:
    gpu = site.gpu_spec(server)
    count = site.gpu_count(server)
    if gpu is None or count < 2:
        return Check("nccl-allreduce", True, "one GPU: no all-reduce within the node", skipped=True)
    res = out.nccl or {}
    content = (out.nccl_file or {}).get("content")
    if not content:
        err = str(res.get("stderr") or res.get("stdout") or "").strip().splitlines()
        return Check("nccl-allreduce", False, f"all_reduce_perf exited {res.get('rc')}: {err[0][:150] if err else ''}")
    try:
        nccl = parse_nccl(base64.b64decode(content).decode("utf-8", "replace"))
    except BurninParseError as exc:
        return Check("nccl-allreduce", False, str(exc))
    if nccl.problems:
        return Check("nccl-allreduce", False, "; ".join(nccl.problems))
    threshold = gpu.nccl_allreduce_min_busbw_gbs
    if threshold is None:
        return Check(
            "nccl-allreduce",
            False,
            f"{nccl.peak_busbw_gbs:.1f} GB/s measured, but the catalog has no bus bandwidth threshold for {gpu.id}: "
            "give the site's catalog entry nccl_allreduce_min_busbw_gbs and nccl_source",
        )
    if nccl.ngpus != count:
        return Check("nccl-allreduce", False, f"ran on {nccl.ngpus} GPUs, the server has {count}")
    ok = nccl.peak_busbw_gbs >= threshold
    sign = ">=" if ok else "<"
    return Check(
        "nccl-allreduce",
        ok,
        f"bus bandwidth {nccl.peak_busbw_gbs:.1f} GB/s {sign} {threshold:g} GB/s ({gpu.id} threshold, {count} GPUs)",
    )


def judge(host: str, out: HostOutput, site: Site, server: Server, level: int) -> Verdict:
    if out.run_failed:
        checks = [Check("run", False, out.run_failed)]
    elif not site.gpu_count(server):
        checks = [Check("gpus", True, "no GPUs: nothing to burn in", skipped=True)]
    else:
        checks = [judge_diag(out), judge_xid(out), judge_nccl(out, site, server)]
    passed = all(c.passed for c in checks)
    return Verdict(host, passed, level, checks, round(out.seconds, 2))


def history_path(site: Site) -> Path:
    return STATE_DIR / site.name / "burnin.json"


def _history(site: Site) -> dict[str, Any]:
    path = history_path(site)
    data: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    return data


def burnin(
    site_file: str | Path,
    target: str = "all",
    *,
    overlay: Overlay | None = None,
    kubeconfig: str | None = None,
    new_hardware: bool = False,
    on_event: Callable[[dict[str, Any]], None] | None = None,
) -> tuple[list[Verdict], float]:
    """Burn in `target`'s hosts; returns the verdicts and the wall time of the run."""
    site = load_site(site_file).site
    _, hosts = resolve_target(site, target)
    settings = site.provisioning.burnin
    history = _history(site)
    new = [h for h in hosts if new_hardware or not history.get(h, {}).get("ever_passed")]
    outputs = {h: HostOutput() for h in hosts}
    keep = collector(outputs)

    def both(event: dict[str, Any]) -> None:
        keep(event)
        if on_event is not None:
            on_event(event)

    start = time.perf_counter()
    provision(
        site_file,
        target,
        playbook="burnin.yml",
        overlay=overlay,
        extra_vars={
            "burnin_diag_level": settings.diag_level,
            "burnin_new_hardware_diag_level": settings.new_hardware_diag_level,
            "burnin_new_hosts": new,
            "burnin_nccl_min_bytes": settings.nccl_min_bytes,
            "burnin_nccl_max_bytes": settings.nccl_max_bytes,
            "burnin_timeout_s": settings.timeout_s,
        },
        on_event=both,
        journal_section="burnin",
        every_result=True,  # the checks' results are unchanged ones
    )
    elapsed = time.perf_counter() - start
    servers = {s.name: s for _, s in site.all_servers()}
    verdicts = []
    for h in hosts:
        level = settings.new_hardware_diag_level if h in new else settings.diag_level
        verdicts.append(judge(h, outputs[h], site, servers[h], level))
    if kubeconfig:
        from .k8s_api import set_burnin_verdict

        for v in verdicts:
            if site.gpu_count(servers[v.host]):
                v.node = set_burnin_verdict(kubeconfig, v.host, v.passed, v.reason)
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    for v in verdicts:
        before = history.get(v.host, {})
        history[v.host] = {
            "passed": v.passed,
            "at": now,
            "reason": v.reason,
            "ever_passed": bool(before.get("ever_passed")) or v.passed,
        }
    path = history_path(site)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(history, indent=2) + "\n")
    return verdicts, elapsed


def as_json(verdicts: list[Verdict], elapsed_s: float) -> str:
    return (
        json.dumps(
            {
                "passed": all(v.passed for v in verdicts),
                "elapsed_s": round(elapsed_s, 2),
                "nodes": [asdict(v) | {"reason": v.reason} for v in verdicts],
            },
            indent=2,
        )
        + "\n"
    )
