#!/usr/bin/env bash
# Create .venv with gpuctl and what the asked-for parts need, and install the Debian packages of those parts only.
# Idempotent; used by demo.sh (core), test.sh and .ci/run (the default: everything the tests need).
#
#   bash scripts/bootstrap.sh [PART...]
#     core       validate, plan, rules, vram, tco: python3-venv, `pip install gpuctl`
#     provision  + provision and verify: ssh client, gpuctl[provision] (Ansible, ansible-runner, mitogen, testinfra)
#     pulumi     + the Pulumi program and policy pack: gpuctl[pulumi] (the Pulumi CLI itself is not installed)
#     tco        + tco --chart: gpuctl[tco] (matplotlib)
#     report     + report, colo compare --chart: gpuctl[report] (jinja2, matplotlib)
#     lab        + the lab of fake GPU hosts: mmdebstrap, apt-ftparchive, gpg, zstd, iproute2, util-linux; gpuctl[lab]
#     all        provision, pulumi, tco, report and lab
#     dev        + the checks and tests: netplan.io (rendered network configuration), nginx-light (burst gateway
#                under nginx -t and live) and mtail (its request-split counter), curl (weights staging script),
#                chromium (the report's browser test), prometheus (tco --prometheus test), gpuctl[dev], and the
#                real serving parts of the proof tests (scripts/realparts.sh: vLLM CPU, vllm-router, Prometheus)
#                prometheus-alertmanager and promtool (the observability rules and lab test)
#   Default: all dev (what scripts/test.sh runs). Parts installed before stay installed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

usage() { sed -n '5,18s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

lab_debs=(mmdebstrap apt-utils gnupg zstd openssh-client iproute2 util-linux)
security_debs=(haproxy nftables)  # the real mTLS gateway and host packet filter the security tests run
debs=(python3 python3-venv)
extras=()
realparts=0
parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(all dev)
for part in "${parts[@]}"; do
  case "$part" in
    core) ;;
    provision) debs+=(openssh-client); extras+=(provision) ;;
    pulumi | tco | report) extras+=("$part") ;;
    lab) debs+=("${lab_debs[@]}"); extras+=(lab) ;;
    all) debs+=("${lab_debs[@]}"); extras+=(all) ;;
    dev) debs+=(netplan.io nginx-light mtail curl chromium prometheus prometheus-alertmanager "${security_debs[@]}"); extras+=(dev); realparts=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "bootstrap.sh: unknown part '$part'; use core, provision, pulumi, tco, report, lab, all or dev" >&2; exit 2 ;;
  esac
done

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for d in $(printf '%s\n' "${debs[@]}" | sort -u); do
  dpkg-query -W -f='${Status}' "$d" 2>/dev/null | grep -q "ok installed" || missing+=("$d")
done
if [ ${#missing[@]} -gt 0 ]; then
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
python3 - <<'PY' || { echo "gpuctl needs Python >= 3.11" >&2; exit 2; }
import sys
raise SystemExit(0 if sys.version_info >= (3, 11) else 1)
PY

# The stamp holds pyproject.toml's hash and the extras installed: reinstall when either changes.
stamp=.venv/.gpuctl-installed
hash=$(sha256sum pyproject.toml | cut -c1-16)
read -r had_hash had_extras 2>/dev/null < "$stamp" || true
want=$(printf '%s\n' "${extras[@]}" $(tr ',' ' ' <<< "${had_extras:-}") | sed '/^$/d' | sort -u | paste -sd, -)
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
if [ "${had_hash:-}" != "$hash" ] || [ "${had_extras:-}" != "$want" ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install -q --disable-pip-version-check -e ".${want:+[$want]}"
  echo "$hash $want" > "$stamp"
fi
if [ "$realparts" = 1 ]; then
  bash scripts/realparts.sh
fi
