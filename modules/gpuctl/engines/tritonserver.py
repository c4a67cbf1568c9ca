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
from .base import Metric

RELEASE = "25.01"  # NGC container release (Triton 2.54.0) of the default images
HTTP_PORT = 8000
METRICS_PORT = 8002
LIVENESS_PATH = "/v2/health/live"
READINESS_PATH = "/v2/health/ready"
METRICS_PATH = "/metrics"

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

    def args(self, deployment: Deployment, max_model_len: int | None) -> list[str]:
        """The server with the deployment's model repository, HTTP on HTTP_PORT. The context length is the model
        repository's (fixed when a TensorRT-LLM engine is built)."""
        return ["tritonserver", f"--model-repository=/models/{deployment.model}", f"--http-port={HTTP_PORT}"]
