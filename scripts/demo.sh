#!/usr/bin/env bash
# Set up, then run the main job on the bundled example site: pre-flight validation and the plan summary.
# Needs only the core install (`pip install gpuctl`); a .venv set up with more keeps it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/bootstrap.sh core
export PATH="$PWD/.venv/bin:$PATH"
site=${1:-inventories/fra1/site.yaml}
echo "== gpuctl validate $site"
gpuctl validate "$site"
echo
echo "== gpuctl plan $site"
gpuctl plan "$site"
