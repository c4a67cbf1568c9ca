#!/usr/bin/env bash
# Create .venv with gpuctl and its development tools; install the Debian packages the lab and the checks
# need. Idempotent; used by demo.sh, test.sh and .ci/run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Debian packages: python venv; the lab (mmdebstrap base, dpkg-deb/apt-ftparchive repo, gpg signing, zstd
# cache, ssh client); netplan to check rendered network configuration.
debs=(python3 python3-venv python3-pip mmdebstrap apt-utils gnupg zstd openssh-client iproute2 util-linux netplan.io)
missing=()
for d in "${debs[@]}"; do dpkg-query -W -f='${Status}' "$d" 2>/dev/null | grep -q "ok installed" || missing+=("$d"); done
if [ ${#missing[@]} -gt 0 ]; then
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
python3 - <<'PY' || { echo "gpuctl needs Python >= 3.11" >&2; exit 2; }
import sys
raise SystemExit(0 if sys.version_info >= (3, 11) else 1)
PY

stamp=.venv/.gpuctl-installed
want=$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'
  echo "$want" > "$stamp"
fi
