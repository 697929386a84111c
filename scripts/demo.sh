#!/usr/bin/env bash
# Sets up a fresh machine (see setup.sh), then trains SimCLR on the embedded
# scikit-learn digits (no download), evaluates it against a random-init encoder
# and raw pixels, and saves it under runs/demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# TensorFlow reads this when it loads, before any of our code runs: its C++ info lines.
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
exec .venv/bin/keras-contrastive train --dataset digits --method simclr --out runs/demo "$@"
