#!/usr/bin/env bash
# Evaluate: a thin wrapper around vae_celeba_evaluate (from the project's .venv when there is one, else from PATH).
#   scripts/evaluate.sh                        the design run's best checkpoint: outputs/checkpoints/best.pt
#   scripts/evaluate.sh outputs/demo           a run folder: its checkpoints/best.pt
#   scripts/evaluate.sh CHECKPOINT.pt [--fid-images N --bpd-images N --output-dir DIR ...]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -x .venv/bin/vae_celeba_evaluate ]; then export PATH="$PWD/.venv/bin:$PATH"; fi
command -v vae_celeba_evaluate >/dev/null || { echo "vae_celeba_evaluate is not installed: see README.md, 'Set up'" >&2; exit 1; }
target=outputs
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then target=$1; shift; fi
ck=$target
if [ -d "$target" ]; then ck=$target/checkpoints/best.pt; fi
if [ ! -f "$ck" ]; then
  echo "error: there is nothing to evaluate at $ck: train first (bash scripts/train.sh, or bash scripts/train.sh configs/demo.yaml" \
       "for the demo, whose run is outputs/demo), or give a run folder or a checkpoint: bash scripts/evaluate.sh outputs/demo" >&2
  exit 1
fi
exec vae_celeba_evaluate "$ck" "$@"
