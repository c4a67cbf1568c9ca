#!/usr/bin/env bash
# Set up, then run the main job on the bundled example site: pre-flight validation and the plan summary.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/bootstrap.sh
export PATH="$PWD/.venv/bin:$PATH"
site=${1:-inventories/fra1/site.yaml}
echo "== gpuctl validate $site"
gpuctl validate "$site"
echo
echo "== gpuctl plan $site"
gpuctl plan "$site"
