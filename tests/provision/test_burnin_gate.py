"""The burn-in verdict from what the burnin role gives back (the lab stand-ins' real-format output), and the
gate through the test Kubernetes API (gpuctl.lab.kube_api): a passing node is labelled and uncordoned, a failing
one cordoned with the reason; verify's node checks read the same state back."""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from gpuctl.lab.kube_api import Server as ApiServer
from gpuctl.loader import load_site
from gpuctl.model import Server
from gpuctl.provision.burnin import DIAG_TASK, NCCL_FILE_TASK, XID_TASK, HostOutput, collector, judge
from gpuctl.provision.k8s_api import BURNIN_REASON, set_burnin_verdict
from gpuctl.provision.verify import check_node
from gpuctl.render.k8s import BURNIN_LABEL
from tests.conftest import ROOT

from .standins import edit, run

LAB = load_site(ROOT / "inventories" / "lab" / "site.yaml").site


def server(name: str) -> Server:
    return next(s for _, s in LAB.all_servers() if s.name == name)


def output(hw: Path, engine: str, tmp_path: Path, gpus: int = 8) -> HostOutput:
    """What the playbook's events carry for one host, produced by the stand-ins on `hw`."""
    diag = run("dcgmi", hw, "diag", "-r", "2", "-j", engine=engine)
    xid = run("dcgmi", hw, "dmon", "-e", "230", "-c", "1", engine=engine)
    nccl_path = tmp_path / f"n{len(list(tmp_path.iterdir()))}.json"
    run("all_reduce_perf", hw, "-b", "1G", "-e", "8G", "-f", "2", "-g", str(gpus), "-J", str(nccl_path))
    out = HostOutput()
    events = [
        (DIAG_TASK, {"rc": diag.returncode, "stdout": diag.stdout, "delta": "0:00:01.500000"}),
        (XID_TASK, {"rc": xid.returncode, "stdout": xid.stdout}),
    ]
    if nccl_path.exists():
        events.append((NCCL_FILE_TASK, {"content": base64.b64encode(nccl_path.read_bytes()).decode()}))
    handler = collector({"lab-dgx-1": out})
    for task, res in events:
        handler({"event": "runner_on_ok", "event_data": {"host": "lab-dgx-1", "task": task, "res": res}})
    return out


def verdict(hw: Path, engine: str, tmp_path: Path) -> tuple[bool, dict[str, tuple[bool, str]]]:
    v = judge("lab-dgx-1", output(hw, engine, tmp_path), LAB, server("lab-dgx-1"), 2)
    return v.passed, {c.name: (c.passed, c.message) for c in v.checks}


def test_a_healthy_dgx_passes(hw: Path, hostengine: str, tmp_path: Path) -> None:
    passed, checks = verdict(hw, hostengine, tmp_path)
    assert passed
    assert checks == {
        "dcgm-diag": (True, "3 tests passed"),
        "xid": (True, "no XID on 8 GPUs"),
        "nccl-allreduce": (True, "bus bandwidth 492.9 GB/s >= 432 GB/s (h100-sxm5-80gb threshold, 8 GPUs)"),
    }


def test_low_bus_bandwidth_fails_with_the_numbers(hw: Path, hostengine: str, tmp_path: Path) -> None:
    edit(hw, nccl_busbw_gbs=300.0)
    passed, checks = verdict(hw, hostengine, tmp_path)
    assert not passed
    assert checks["nccl-allreduce"] == (
        False,
        "bus bandwidth 297.7 GB/s < 432 GB/s (h100-sxm5-80gb threshold, 8 GPUs)",
    )
    assert checks["dcgm-diag"][0] and checks["xid"][0]


def test_an_xid_fails(hw: Path, hostengine: str, tmp_path: Path) -> None:
    edit(hw, gpu={6: {"xid": 79}})
    passed, checks = verdict(hw, hostengine, tmp_path)
    assert not passed and checks["xid"] == (False, "GPU 6 XID 79")


def test_a_missing_gpu_fails_nccl_and_names_it(hw: Path, hostengine: str, tmp_path: Path) -> None:
    edit(hw, gpus=json.loads(hw.read_text())["gpus"][:7])
    passed, checks = verdict(hw, hostengine, tmp_path)
    assert not passed
    assert checks["nccl-allreduce"][1].startswith("all_reduce_perf exited None")  # no JSON file was written
    assert checks["xid"] == (True, "no XID on 7 GPUs")


def test_a_failed_diagnostic_fails(hw: Path, hostengine: str, tmp_path: Path) -> None:
    edit(hw, gpu={0: {"diag_fail": {"test": "pcie", "warning": "PCIe replay rate exceeded"}}})
    _, checks = verdict(hw, hostengine, tmp_path)
    assert checks["dcgm-diag"] == (False, "pcie failed on GPU 0: PCIe replay rate exceeded")


def test_a_stopped_host_engine_fails_diag_and_xid(hw: Path, tmp_path: Path) -> None:
    _, checks = verdict(hw, "127.0.0.1:1", tmp_path)
    assert not checks["dcgm-diag"][0] and not checks["xid"][0]
    assert "dcgmi exited 235: Error: unable to establish a connection" in checks["dcgm-diag"][1]


def test_a_run_failure_is_the_verdict() -> None:
    out = HostOutput(run_failed="missing /usr/bin/all_reduce_perf: install DCGM ...")
    v = judge("lab-dgx-1", out, LAB, server("lab-dgx-1"), 3)
    assert (v.passed, v.reason) == (False, "run: missing /usr/bin/all_reduce_perf: install DCGM ...")


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[ApiServer, str]]:
    with ApiServer() as srv:
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(srv.kubeconfig())
        # registered as kubeadm join leaves it (Ready, its GPUs allocatable), cordoned until burn-in passes
        srv.cluster.add_node("lab-dgx-1", gpus=8)["spec"]["unschedulable"] = True
        yield srv, str(kubeconfig)


def node(srv: ApiServer, name: str = "lab-dgx-1") -> dict[str, Any]:
    return srv.cluster.get("nodes", None, name)


def node_checks(kubeconfig: str) -> dict[str, tuple[bool | None, str]]:
    return {cid: (ok, msg) for cid, ok, msg in check_node(kubeconfig, LAB, server("lab-dgx-1"))}


def test_passing_node_is_labelled_and_uncordoned(api: tuple[ApiServer, str]) -> None:
    srv, kubeconfig = api
    assert node_checks(kubeconfig)["node-burnin"] == (False, "cordoned (no burn-in verdict: run gpuctl burnin)")
    set_burnin_verdict(kubeconfig, "lab-dgx-1", True, "")
    assert node(srv)["metadata"]["labels"] == {BURNIN_LABEL: "passed"}
    assert node(srv)["spec"]["unschedulable"] is False
    assert node_checks(kubeconfig) == {
        "node-ready": (True, "Ready"),
        "node-gpus": (True, "allocatable nvidia.com/gpu 8, catalog 8"),
        "node-burnin": (True, "burn-in passed, schedulable"),
    }


def test_failing_node_stays_cordoned_loses_the_label_and_says_why(api: tuple[ApiServer, str]) -> None:
    srv, kubeconfig = api
    set_burnin_verdict(kubeconfig, "lab-dgx-1", True, "")
    reason = "nccl-allreduce: bus bandwidth 297.7 GB/s < 432 GB/s"
    set_burnin_verdict(kubeconfig, "lab-dgx-1", False, reason)
    assert BURNIN_LABEL not in node(srv)["metadata"].get("labels", {})
    assert node(srv)["metadata"]["annotations"] == {BURNIN_REASON: reason}
    assert node(srv)["spec"]["unschedulable"] is True
    assert node_checks(kubeconfig)["node-burnin"] == (False, f"cordoned: {reason}")


def test_node_not_ready_with_fewer_gpus_fails_both(api: tuple[ApiServer, str]) -> None:
    srv, kubeconfig = api
    node(srv)["status"] = {
        "conditions": [{"type": "Ready", "status": "False", "reason": "KubeletNotReady"}],
        "allocatable": {"nvidia.com/gpu": "7"},
    }
    got = node_checks(kubeconfig)
    assert got["node-ready"] == (False, "not Ready: KubeletNotReady")
    assert got["node-gpus"] == (False, "allocatable nvidia.com/gpu 7, catalog 8")


def test_a_node_the_cluster_does_not_have(api: tuple[ApiServer, str]) -> None:
    _, kubeconfig = api
    got = {cid: (ok, msg) for cid, ok, msg in check_node(kubeconfig, LAB, server("lab-l4-1"))}
    assert got == {"node-ready": (False, "no node lab-l4-1 in the cluster")}


def test_burnin_settings_are_the_role_defaults_and_reach_it() -> None:
    """One source per fact: every provisioning.burnin setting is a `burnin_<name>` role variable whose default is
    the model's, and `gpuctl burnin` passes each one."""
    import inspect

    from gpuctl.model.burnin import BurninSettings
    from gpuctl.provision import burnin as module
    from gpuctl.provision.roles import argument_specs, role_defaults

    model = BurninSettings()
    defaults, specs = role_defaults()["burnin"], argument_specs()["burnin"]
    source = inspect.getsource(module.burnin)
    for name in BurninSettings.model_fields:
        var = f"burnin_{name}"
        assert defaults[var] == specs[var]["default"] == getattr(model, name), var
        assert f'"{var}": settings.{name}' in source, var


class EndpointSlices(BaseHTTPRequestHandler):
    """Only the two calls the endpoint check makes, as the API server answers them: read a Service, list its
    EndpointSlices by the `kubernetes.io/service-name` label. `ready` holds each Service's endpoints' readiness."""

    ready: ClassVar[dict[tuple[str, str], list[bool]]] = {}

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        url = urlsplit(unquote(self.path))
        svc = re.match(r"^/api/v1/namespaces/([^/]+)/services/([^/]+)$", url.path)
        slices = re.match(r"^/apis/discovery.k8s.io/v1/namespaces/([^/]+)/endpointslices$", url.path)
        code, body = 404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 404}
        if svc and (svc.group(1), svc.group(2)) in EndpointSlices.ready:
            code, body = 200, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": svc.group(2)}}
        elif slices:
            selector = parse_qs(url.query).get("labelSelector", [""])[0]
            name = selector.removeprefix("kubernetes.io/service-name=")
            states = EndpointSlices.ready.get((slices.group(1), name), []) if selector != name else []
            endpoints = [{"addresses": [f"10.0.0.{i}"], "conditions": {"ready": r}} for i, r in enumerate(states, 1)]
            item = {"addressType": "IPv4", "metadata": {"name": f"{name}-x"}, "endpoints": endpoints}
            code = 200
            body = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSliceList", "metadata": {},
                    "items": [item] if states else []}  # fmt: skip
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def test_endpoints_are_checked_by_their_readiness_not_through_the_service_proxy(tmp_path: Path) -> None:
    """The site's NetworkPolicies drop the API server's service proxy (it comes from the API server's host), so the
    check reads which endpoints the kubelet's readiness probe found ready (provision/verify.check_endpoints)."""
    from gpuctl.provision.verify import check_endpoints

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), EndpointSlices)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    kubeconfig = tmp_path / "kubeconfig"
    server = f"http://127.0.0.1:{httpd.server_address[1]}"
    kubeconfig.write_text(
        f"apiVersion: v1\nkind: Config\nclusters: [{{name: p, cluster: {{server: '{server}'}}}}]\n"
        "contexts: [{name: p, context: {cluster: p, user: u}}]\ncurrent-context: p\n"
        "users: [{name: u, user: {token: t}}]\n"
    )
    try:
        assert {d.name for d in LAB.deployments} == {"qwen-7b", "llama-70b"}
        EndpointSlices.ready = {("inference", "qwen-7b"): [True, False], ("inference", "llama-70b"): [False]}
        got = {cid: (ok, msg) for cid, ok, msg in check_endpoints(str(kubeconfig), LAB)}
        probe = "(readiness probe on /health)"
        assert got["endpoint-qwen-7b"] == (True, f"inference/qwen-7b: 1 of 2 endpoints ready {probe}")
        assert got["endpoint-llama-70b"] == (False, f"inference/llama-70b: 0 of 1 endpoints ready {probe}")
        EndpointSlices.ready[("inference", "llama-70b")] = []
        assert {c: ok for c, ok, _ in check_endpoints(str(kubeconfig), LAB)}["endpoint-llama-70b"] is False
        del EndpointSlices.ready[("inference", "llama-70b")]
        got = {cid: (ok, msg) for cid, ok, msg in check_endpoints(str(kubeconfig), LAB)}
        assert got["endpoint-llama-70b"] == (None, "skipped: no Service inference/llama-70b (not deployed)")
    finally:
        httpd.shutdown()
        httpd.server_close()
