#!/usr/bin/env bash
# The main job, from a fresh machine: install keras_vae, fetch MNIST, train
# a small MLP VAE (784-512-256) briefly and write a PNG grid of samples.
#
#     bash scripts/quickstart.sh            # writes samples.png
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-3}

"$PYTHON" -m pip install --quiet -e .
"$PYTHON" -m keras_vae.datasets fetch mnist
"$PYTHON" examples/quickstart.py --epochs "${EPOCHS:-3}" --output samples.png
