#!/usr/bin/env bash
# Set up, then run lint, type checks and the test suite. This is what CI runs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/bootstrap.sh
export PATH="$PWD/.venv/bin:$PATH"
echo "== ruff"; ruff check modules tests benchmarks stacks policy playbooks
echo "== mypy"; mypy; mypy benchmarks
echo "== import layers"; lint-imports --no-cache
echo "== yamllint"; yamllint --strict playbooks
echo "== ansible-lint"; ansible-lint -q playbooks
echo "== docs/rules.md is current"; gpuctl rules --format markdown | diff -u docs/rules.md -
echo "== pytest"
set +e
python -m pytest "$@"
code=$?
set -e
if [ "$code" = 5 ]; then echo "pytest collected no tests: that is a failure here" >&2; exit 1; fi
exit "$code"
