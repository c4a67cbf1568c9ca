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
step() {  # step NAME COMMAND...: run it, print and remember how long it took
  local name=$1 start end
  shift
  echo "== $name: $*"
  start=$EPOCHREALTIME
  "$@"
  end=$EPOCHREALTIME
  timings+=("$(awk -v n="$name" -v a="$start" -v b="$end" 'BEGIN { printf "%-10s %7.1f s", n, b - a }')")
}

step validate gpuctl validate "$site"
echo
step plan gpuctl plan "$site"
echo

if [ "$(id -u)" -ne 0 ]; then
  echo "== skipped: the lab (lab up -> provision -> burn-in -> verify -> lab down) needs root for network"
  echo "   namespaces, overlay mounts and sshd. Run it with:  sudo bash scripts/demo.sh"
  printf '%s\n' "${timings[@]}"
  exit 0
fi

trap 'gpuctl lab down >/dev/null 2>&1 || true' EXIT
# the lab's test Kubernetes API (gpuctl.lab.kube_api): the hosts join it, burn-in labels or cordons them, verify reads it
lab_kubeconfig="${GPUCTL_LAB_DIR:-/var/tmp/gpuctl-lab}/kube/admin.kubeconfig"
step lab-up gpuctl lab up "$lab_site" --rack "$lab_rack"
step provision gpuctl provision "$lab_rack" --site "$lab_site" --lab --kubeconfig "$lab_kubeconfig"
step burn-in gpuctl burnin "$lab_rack" --site "$lab_site" --lab --kubeconfig "$lab_kubeconfig"
step verify gpuctl verify "$lab_rack" --site "$lab_site" --lab --kubeconfig "$lab_kubeconfig"
step lab-down gpuctl lab down
trap - EXIT
echo
echo "== step times"
printf '%s\n' "${timings[@]}"
