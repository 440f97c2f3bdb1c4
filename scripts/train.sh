#!/usr/bin/env bash
# Train: a thin wrapper around vae_celeba_train (from the project's .venv when there is one, else from PATH).
#   scripts/train.sh                                  the design run: configs/config.yaml (CelebA, 50 epochs; a GPU)
#   scripts/train.sh configs/demo.yaml [key=value ..] another config (the demo: synthetic faces, minutes on a CPU)
#   scripts/train.sh --resume outputs/checkpoints/checkpoint_epoch_10.pt [key=value ..]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -x .venv/bin/vae_celeba_train ]; then export PATH="$PWD/.venv/bin:$PATH"; fi
command -v vae_celeba_train >/dev/null || { echo "vae_celeba_train is not installed: see README.md, 'Set up'" >&2; exit 1; }
if [ $# -eq 0 ]; then exec vae_celeba_train --config configs/config.yaml; fi
if [ "${1#--}" = "$1" ] && [ "${1#*=}" = "$1" ]; then cfg=$1; shift; exec vae_celeba_train --config "$cfg" "$@"; fi
exec vae_celeba_train "$@"
