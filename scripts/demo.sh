#!/usr/bin/env bash
# Set up, then run the main job on the bundled example site: pre-flight validation and the plan summary; as root,
# also the whole path for real on the lab (fake GPU hosts in network namespaces, the real Debian containerd and
# runc, stand-in NVIDIA and Kubernetes packages, a test Kubernetes API): lab up -> provision -> burn-in -> verify ->
# lab down, one rack of inventories/lab/site.yaml, with the time of each step.
# Without root it says what it skipped and the command that runs it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
site=${1:-inventories/fra1/site.yaml}
lab_site=inventories/lab/site.yaml
lab_rack=${GPUCTL_DEMO_RACK:-lab-a}
if [ "$(id -u)" -eq 0 ]; then parts=(core lab provision); else parts=(core); fi
bash scripts/bootstrap.sh "${parts[@]}"
export PATH="$PWD/.venv/bin:$PATH"

declare -a timings=()
lab_started=0
finish() {  # on any exit: the lab down if this script started it, then every step's time (a failed one marked)
  local code=$?
  if [ "$lab_started" = 1 ]; then gpuctl lab down >/dev/null 2>&1 || true; fi
  echo
  echo "== step times"
  printf '%s\n' "${timings[@]}"
  exit "$code"
}
trap finish EXIT
step() {  # step NAME COMMAND...: run it, print and remember how long it took; stop at the first that fails
  local name=$1 start end code=0
  shift
  echo "== $name: $*"
  start=$EPOCHREALTIME
  "$@" || code=$?
  end=$EPOCHREALTIME
  timings+=("$(awk -v n="$name" -v a="$start" -v b="$end" -v c="$code" \
    'BEGIN { printf "%-10s %7.1f s%s", n, b - a, (c ? "  FAILED (exit " c ")" : "") }')")
  if [ "$code" -ne 0 ]; then
    echo "== $name failed (exit $code): the output above says why" >&2
    exit "$code"
  fi
}

step validate gpuctl validate "$site"
echo
step plan gpuctl plan "$site"
echo

if [ "$(id -u)" -ne 0 ]; then
  echo "== skipped: the lab (lab up -> provision -> burn-in -> verify -> lab down) needs root for network"
  echo "   namespaces, overlay mounts and sshd. Run it with:  sudo bash scripts/demo.sh"
  exit 0
fi

lab_started=1
step lab-up gpuctl lab up "$lab_site" --rack "$lab_rack"
# the lab's test Kubernetes API (gpuctl.lab.kube_api): the hosts join it, burn-in labels or cordons them, verify reads it
lab_kubeconfig=$(gpuctl lab status --format json | python -c 'import json, sys; print(json.load(sys.stdin)["kubeconfig"])')
step provision gpuctl provision "$lab_rack" --site "$lab_site" --lab --kubeconfig "$lab_kubeconfig"
step burn-in gpuctl burnin "$lab_rack" --site "$lab_site" --lab --kubeconfig "$lab_kubeconfig"
step verify gpuctl verify "$lab_rack" --site "$lab_site" --lab --kubeconfig "$lab_kubeconfig"
lab_started=0
step lab-down gpuctl lab down
