#!/usr/bin/env bash
# Builds the peers' virtual environments for benchmarks/throughput.py, idempotently,
# from PyPI only:
#   benchmarks/.venvs/tfsim    tensorflow 2.21 + tf-keras 2.21.0 + tensorflow-similarity 0.17.1
#                              (run with TF_USE_LEGACY_KERAS=1)
#   benchmarks/.venvs/lightly  torch 2.14.1 + torchvision 0.29.1 + lightly 1.6
# They are kept apart because TF Similarity's import pulls torchvision in, and
# PyPI's torchvision does not import beside other torch builds.
#
#   bash benchmarks/peers/setup_peers.sh [tfsim|lightly ...]     (default: both)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venvs="$(dirname "$here")/.venvs"
python="${PYTHON:-python3}"

build() {
    local name="$1" check="$2"
    shift 2
    local venv="$venvs/$name"
    if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "$check" >/dev/null 2>&1; then
        echo "$name: ready at $venv"
        return
    fi
    echo "$name: building $venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet "$@"
    "$venv/bin/python" -c "$check"
    echo "$name: ready at $venv"
}

build_tfsim() {
    # TF Similarity imports on legacy Keras only.
    TF_USE_LEGACY_KERAS=1 build tfsim \
        "import tensorflow_similarity, tf_keras, tensorflow as tf; assert tf.__version__.startswith('2.21')" \
        "tensorflow==2.21.*" "tf-keras==2.21.0" "tensorflow-similarity==0.17.1"
}

build_lightly() {
    # torch from PyPI: the only registry reached here (a CUDA build, run on the CPU).
    build lightly \
        "import torch, torchvision, lightly; from lightly.loss import NTXentLoss; assert torch.__version__.startswith('2.14.1')" \
        "torch==2.14.1" "torchvision==0.29.1" "lightly==1.6.*"
}

mkdir -p "$venvs"
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(tfsim lightly)
for target in "${targets[@]}"; do
    case "$target" in
        tfsim) build_tfsim ;;
        lightly) build_lightly ;;
        *) echo "unknown peer '$target': expected tfsim or lightly" >&2; exit 2 ;;
    esac
done
