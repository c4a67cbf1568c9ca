"""NVIDIA Triton Inference Server behind its OpenAI-compatible frontend, the process the `triton` engine runs:
command line, port, health and metrics routes and core metrics, in `TritonServer`, the base the engine extends.

Why the frontend and not `tritonserver`: every deployment is reached through the OpenAI-speaking vllm-router, the
mTLS gateway that allow-lists OpenAI paths and the burst gateway, while `tritonserver` speaks only KServe v2
(`/v2/models/<m>/infer`). The frontend (`python/openai/openai_frontend/main.py`, in Triton since v2.52.0) runs the
same server in process (the `tritonserver` Python API over the same model repository) and serves `/v1/completions`,
`/v1/chat/completions` and `/v1/models` on its own port.

Sources (Triton 2.54.0 = NGC release 25.01; tag v2.54.0 = commit 8da6a4f8ebfa17bd6c80f10046f413f5328d137d):
- the options: python/openai/openai_frontend/main.py `parse_args()` (OpenAI port default 9000; the KServe
  frontends are off unless --enable-kserve-frontends), extracted with the file's SHA-256 into
  tests/engines/fixtures/triton-openai-frontend-v2.54.0-options.json; https://github.com/triton-inference-server/server/blob/v2.54.0/python/openai/openai_frontend/main.py
- `/health/ready` (200 once the server is ready; the frontend only listens after `start(wait_until_ready=True)`)
  and `/metrics` (the in-process server's Prometheus text, the same nv_* families as tritonserver's port 8002,
  which the in-process server does not open): python/openai/openai_frontend/frontend/fastapi/routers/observability.py;
- shipped in the images: build.py's production stage copies python/openai to /opt/tritonserver/python/openai and
  pip-installs the tritonserver/tritonfrontend wheels and python/openai/requirements.txt,
  https://github.com/triton-inference-server/server/blob/v2.54.0/build.py (lines 1237-1243, 1941-1943);
- TensorRT-LLM through the frontend: an ensemble (or BLS) model in orchestrator mode, requests in the TensorRT-LLM
  format (`--backend tensorrtllm`): python/openai/README.md "TensorRT-LLM" and "Model Parallelism Support", v2.54.0;
- metric names: docs/user_guide/metrics.md,
  https://github.com/triton-inference-server/server/blob/v2.54.0/docs/user_guide/metrics.md
  (labels `model` and `version` on every series).
"""

from __future__ import annotations

from collections.abc import Mapping

from ..model.serving import Deployment
from .base import CONFIG_DIR, Metric

RELEASE = "25.01"  # NGC container release (Triton 2.54.0) of the default images
FRONTEND = "/opt/tritonserver/python/openai/openai_frontend/main.py"
OPENAI_PORT = 9000
HEALTH_PATH = "/health/ready"  # the frontend's only health route (liveness and readiness alike)
METRICS_PATH = "/metrics"  # on OPENAI_PORT
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
    port = OPENAI_PORT
    liveness_path = HEALTH_PATH
    readiness_path = HEALTH_PATH
    metrics_port = OPENAI_PORT
    metrics_path = METRICS_PATH

    def image(self, version: str | None) -> str:
        return self.image_ref  # the release is the image's; engine_version does not select it

    @property
    def model_label(self) -> str:
        return "model"

    def served_model(self, deployment: Deployment) -> str:
        return "tensorrt_llm"  # the model of the generated repository

    def command(self, deployment: Deployment) -> list[str]:
        return ["python3", FRONTEND]

    def args(
        self, deployment: Deployment, max_model_len: int | None, compute_capability: float | None = None
    ) -> list[str]:
        """The frontend over the model repository gpuctl generates (REPOSITORY, mounted from a ConfigMap), OpenAI
        and metrics on OPENAI_PORT. main.py sets no further server option, so its in-process server runs the
        Python API's defaults: model control NONE (every model of the repository loads at start, i.e. exactly the
        generated ones), strict readiness and exit on error (`Options` in triton-inference-server/core r25.01
        python/tritonserver/_api/_server.py, lines 280 and 300-301)."""
        return [f"--model-repository={REPOSITORY}", f"--openai-port={OPENAI_PORT}"]
