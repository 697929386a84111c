#!/usr/bin/env bash
# Sets up a fresh machine (see setup.sh) and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --with-data
exec .venv/bin/python -m pytest "$@"
