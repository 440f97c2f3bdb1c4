#!/usr/bin/env bash
# Everything that needs a CUDA GPU, in one command (meant to finish in under 8 minutes on one GPU):
#   1. the `#| cuda` cells of the notebooks that have them (nbdev_test --flags cuda on those notebooks);
#   2. the design run for a few hundred steps: images/s, peak memory against the hardware chapter's estimate,
#      and the share of time the GPU waits on the host (bench/gpu_check.py).
# On a machine without CUDA it prints one line and exits 0.
# A machine with no registry (a lent GPU box): carry the wheels this project needs beyond its image in .whl/
# (fastcore, nbdev, execnb and their needs; see README of the device tool); they are installed offline into
# /tmp/site, and the package is used from this tree through PYTHONPATH.
# Run: bash bench/gpu_check.sh [--steps N]
set -uo pipefail
cd "$(dirname "$0")/.."
PY=python3
[ -x .venv/bin/python ] && PY=.venv/bin/python
if ! "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
  echo "gpu_check: no CUDA device here (torch.cuda.is_available() is False): skipped; run it on a machine with a GPU"
  exit 0
fi
if ls .whl/*.whl >/dev/null 2>&1; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:${PYTHONPATH:-}
fi
export PYTHONPATH="$PWD:${PYTHONPATH:-}" PYTHONUNBUFFERED=1
fail=0
echo "=== 1. the #| cuda cells"
NBS=$(grep -l '#| cuda' nbs/*.ipynb)
for nb in $NBS; do
  T0=$SECONDS
  if "$PY" -c "from nbdev.test import nbdev_test; nbdev_test(path='$nb', flags='cuda', n_workers=0)"; then
    echo "$nb: passed in $((SECONDS - T0)) s"
  else echo "$nb: FAILED"; fail=1; fi
done
echo "=== 2. the design run"
"$PY" bench/gpu_check.py "$@" || fail=1
exit $fail
