#!/usr/bin/python3
"""Stand-in for a vLLM replica's metrics endpoint, where no vLLM can run: `/metrics` exports the families one
vLLM release defines (a fixture extracted from that release's sdist, tests/obs/fixtures/engine_metrics/), with
vLLM's labels (model_name, engine) and its HTTP instrumentator's http_requests_total{handler,method,status};
`/health` answers 200. Values come from a state file a test changes; everything not in it is 0.

    vllm_metrics.py --listen 127.0.0.1:8000 --fixture vllm-0.11.0.json --model NAME --state state.json

state.json: {"gauges": {"vllm:num_requests_waiting": 9}, "counters": {"vllm:num_preemptions_total": 3},
             "observations": {"vllm:time_to_first_token_seconds": [0.2, 0.3]}, "http": {"2xx": 10, "5xx": 0}}
A dead replica is the process stopped by its PID.
"""

import argparse
import json
import sys

from metrics_http import serve


def fmt(edge):
    return repr(float(edge))  # prometheus_client's floatToGoString for ordinary edges: 0.5, 1.0, 2560.0


def render(fixture, model, state):
    labels = f'engine="0",model_name="{model}"'
    out = []
    for name, spec in fixture["metrics"].items():
        kind = spec["kind"]
        base = name[: -len("_total")] if kind == "counter" and name.endswith("_total") else name
        out.append(f"# TYPE {base} {kind}")
        if kind == "gauge":
            out.append(f"{name}{{{labels}}} {state.get('gauges', {}).get(name, 0)}")
        elif kind == "counter":
            out.append(f"{name}{{{labels}}} {state.get('counters', {}).get(name, 0)}")
        else:
            seen = sorted(state.get("observations", {}).get(name, []))
            for edge in spec.get("buckets", []):
                out.append(f'{name}_bucket{{{labels},le="{fmt(edge)}"}} {sum(1 for v in seen if v <= edge)}')
            out.append(f'{name}_bucket{{{labels},le="+Inf"}} {len(seen)}')
            out.append(f"{name}_count{{{labels}}} {len(seen)}")
            out.append(f"{name}_sum{{{labels}}} {sum(seen)}")
    out.append("# TYPE http_requests_total counter")
    for status, count in sorted(state.get("http", {"2xx": 0}).items()):
        out.append(f'http_requests_total{{handler="/v1/completions",method="POST",status="{status}"}} {count}')
    return "\n".join(out) + "\n"


def main():
    parser = argparse.ArgumentParser()
    for flag in ("--listen", "--fixture", "--model", "--state"):
        parser.add_argument(flag, required=True)
    args = parser.parse_args()
    with open(args.fixture) as fh:
        fixture = json.load(fh)

    def scrape():
        with open(args.state) as fh:
            return render(fixture, args.model, json.load(fh))

    serve(args.listen, {"/metrics": scrape, "/health": lambda: ""})
    return 0


if __name__ == "__main__":
    sys.exit(main())
