"""NVIDIA Triton Inference Server, the process both the `triton` and the `trtllm` engines run: command line,
ports, health endpoints and core metrics, in `TritonServer`, the base both engine classes extend.

Sources (Triton 2.54.0 = NGC release 25.01):
- ports 8000 (HTTP), 8001 (gRPC), 8002 (metrics): docs/getting_started/quickstart.md,
  https://github.com/triton-inference-server/server/blob/v2.54.0/docs/getting_started/quickstart.md;
- `/v2/health/live` and `/v2/health/ready` as Kubernetes probes: deploy/k8s-onprem/templates/deployment.yaml,
  https://github.com/triton-inference-server/server/blob/v2.54.0/deploy/k8s-onprem/templates/deployment.yaml;
- metric names: docs/user_guide/metrics.md,
  https://github.com/triton-inference-server/server/blob/v2.54.0/docs/user_guide/metrics.md
  (labels `model` and `version` on every series).
"""

from __future__ import annotations

from collections.abc import Mapping

from ..model.serving import Deployment
from .base import CONFIG_DIR, Metric

RELEASE = "25.01"  # NGC container release (Triton 2.54.0) of the default images
HTTP_PORT = 8000
METRICS_PORT = 8002
LIVENESS_PATH = "/v2/health/live"
READINESS_PATH = "/v2/health/ready"
METRICS_PATH = "/metrics"
REPOSITORY = f"{CONFIG_DIR}/repository"

# Per model, updated per request. Latencies are cumulative counters in microseconds (rate() them); the
# time-to-first-response histogram needs --metrics-config histogram_latencies=true, which is not passed.
CORE_METRICS: Mapping[str, Metric] = {
    "request_success": Metric("nv_inference_request_success", "counter", "requests"),
    "request_failure": Metric("nv_inference_request_failure", "counter", "requests"),
    "requests_waiting": Metric("nv_inference_pending_request_count", "gauge", "requests"),
    "e2e_latency": Metric("nv_inference_request_duration_us", "counter", "microseconds"),
    "queue_time": Metric("nv_inference_queue_duration_us", "counter", "microseconds"),
    "compute_time": Metric("nv_inference_compute_infer_duration_us", "counter", "microseconds"),
}


class TritonServer:
    """What every engine run by tritonserver shares; a subclass names the engine, its image, metrics and memory."""

    name: str
    image_ref: str
    port = HTTP_PORT
    liveness_path = LIVENESS_PATH
    readiness_path = READINESS_PATH
    metrics_port = METRICS_PORT
    metrics_path = METRICS_PATH

    def image(self, version: str | None) -> str:
        return self.image_ref  # the release is the image's; engine_version does not select it

    @property
    def model_label(self) -> str:
        return "model"

    def served_model(self, deployment: Deployment) -> str:
        return "tensorrt_llm"  # the model of the generated repository

    def command(self, deployment: Deployment) -> list[str]:
        return ["tritonserver"]

    def args(
        self, deployment: Deployment, max_model_len: int | None, compute_capability: float | None = None
    ) -> list[str]:
        """The server over the model repository gpuctl generates (REPOSITORY, mounted from a ConfigMap), HTTP on
        HTTP_PORT, metrics on METRICS_PORT, ready only once every model loaded. Options: src/command_line_parser.cc
        (tests/engines/fixtures/tritonserver-v2.54.0-options.json)."""
        return [
            f"--model-repository={REPOSITORY}",
            f"--http-port={HTTP_PORT}",
            f"--metrics-port={METRICS_PORT}",
            "--strict-readiness=true",
            "--exit-on-error=true",
        ]
