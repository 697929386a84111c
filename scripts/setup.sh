#!/usr/bin/env bash
# Sets up everything the demo and the tests need, once: a virtual environment
# in .venv with the package and its test dependencies, and (as root, on Debian)
# the Fashion-MNIST files and clip-art pictures that the real-data tests read.
# Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv with $PYTHON"
  "$PYTHON" -m venv .venv
fi
# Installs again whenever setup.cfg (the dependency list) changes.
STAMP=".venv/.installed-$(sha1sum setup.cfg | cut -c1-12)"
if [ ! -e "$STAMP" ]; then
  echo "==> installing keras-contrastive and its test dependencies into .venv"
  .venv/bin/pip install --quiet --upgrade pip
  .venv/bin/pip install --quiet -e ".[test]"
  # Only the PredictRequest/PredictResponse protos are used (by the gRPC test
  # and the README's client); its own dependency on tensorflow would pull a
  # second TensorFlow, hence --no-deps.
  .venv/bin/pip install --quiet --no-deps "tensorflow-serving-api==2.21.*"
  rm -f .venv/.installed-* && touch "$STAMP"
fi
# --with-data: the Debian packages of real data the tests read, Fashion-MNIST,
# openclipart's PNG clip-art and its SVGs (whose titles and keywords caption it,
# kc.data.load_pairs("openclipart")), Noto Color Emoji and Unicode's emoji list
# (kc.data.load_pairs("emoji")), WordNet 3.0 (kc.data.wordnet_pairs) and the
# fortune quotations (kc.data.fortunes); one apt-get update, and only what is
# missing is installed.
if [ "${1:-}" = "--with-data" ]; then
  MISSING=()
  [ -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || MISSING+=(dataset-fashion-mnist)
  [ -d /usr/share/openclipart/png ] || MISSING+=(openclipart-png)
  [ -d /usr/share/openclipart/svg ] || MISSING+=(openclipart-svg)
  [ -e /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || MISSING+=(fonts-noto-color-emoji)
  [ -e /usr/share/unicode/emoji/emoji-test.txt ] || MISSING+=(unicode-data)
  [ -e /usr/share/wordnet/data.noun ] || MISSING+=(wordnet-base)
  [ -e /usr/share/games/fortunes/computers ] || MISSING+=(fortunes)
  if [ ${#MISSING[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      echo "==> installing Debian's ${MISSING[*]}"
      apt-get update -qq && apt-get install -y -qq "${MISSING[@]}" >/dev/null
    else
      echo "NOTE: ${MISSING[*]} not installed; run 'sudo apt-get install ${MISSING[*]}'" \
           "or the real-data tests are skipped (they fail under CI=true)." >&2
    fi
  fi
fi
