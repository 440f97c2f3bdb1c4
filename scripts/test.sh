#!/usr/bin/env bash
# Run every test: each notebook through nbdev_test, then the pytest suite in tests/.
# NBDEV_FLAGS="slow" also runs the cells marked #| slow (real data, minutes of CPU).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -x .venv/bin/python ]; then export PATH="$PWD/.venv/bin:$PATH"; fi
# a line every 50 s while a long notebook or test runs: never a silent minute, also with the output in a file
( t0=$SECONDS; while sleep 50; do echo "   ... still testing, $((SECONDS - t0)) s in"; done ) 2>/dev/null & HEARTBEAT=$!
# stop it on the way out, keeping the tests' exit status (a trap's own failed kill must not become it)
trap 'rc=$?; pkill -P $HEARTBEAT 2>/dev/null || true; kill $HEARTBEAT 2>/dev/null || true; wait $HEARTBEAT 2>/dev/null || true; exit $rc' EXIT
echo "== nbdev_test (flags: ${NBDEV_FLAGS:-none})"
nbdev_test --n_workers 1 --do_print ${NBDEV_FLAGS:+--flags "$NBDEV_FLAGS"}   # a line as each notebook starts and ends
echo "== pytest tests/"
python -m pytest -q tests
