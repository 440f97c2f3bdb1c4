#!/usr/bin/env bash
# Train: a thin wrapper around vae_celeba_train (from the project's .venv when there is one).
#   scripts/train.sh                               the built-in demo (configs/demo.yaml)
#   scripts/train.sh configs/config.yaml [k=v ..]  another config, with overrides
#   scripts/train.sh --resume outputs/demo/checkpoints/last.pt
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -x .venv/bin/vae_celeba_train ]; then export PATH="$PWD/.venv/bin:$PATH"; fi
if [ $# -eq 0 ]; then exec vae_celeba_train --config configs/demo.yaml; fi
if [ "${1#--}" = "$1" ] && [ -f "$1" ]; then cfg=$1; shift; exec vae_celeba_train --config "$cfg" "$@"; fi
exec vae_celeba_train "$@"
