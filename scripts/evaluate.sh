#!/usr/bin/env bash
# Evaluate a checkpoint: a thin wrapper around vae_celeba_evaluate (default outputs/checkpoints/best.pt).
#   scripts/evaluate.sh [CHECKPOINT] [--output-dir DIR] [--data-dir DIR] [--fid-images N]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -x .venv/bin/vae_celeba_evaluate ]; then export PATH="$PWD/.venv/bin:$PATH"; fi
exec vae_celeba_evaluate "$@"
