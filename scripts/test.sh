#!/usr/bin/env bash
# Run every test: each notebook through nbdev_test, then the pytest suite in tests/.
# NBDEV_FLAGS="slow" also runs the cells marked #| slow (real data, minutes of CPU).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -x .venv/bin/python ]; then export PATH="$PWD/.venv/bin:$PATH"; fi
echo "== nbdev_test (flags: ${NBDEV_FLAGS:-none})"
nbdev_test --n_workers 1 --do_print ${NBDEV_FLAGS:+--flags "$NBDEV_FLAGS"}   # a line as each notebook starts and ends
echo "== pytest tests/"
python -m pytest -q tests
