#!/usr/bin/env bash
# Installs keras_vae in development mode with the CPU builds of all three
# Keras backends, the test tools and the docs tools:
#
#     bash scripts/install.sh
#
# PyTorch: a plain `pip install torch` pulls a multi-GB CUDA build on Linux,
# so the CPU build is installed first, from the PyTorch CPU wheel index, or
# from a local CPU wheel where the machine provides one (as CI's does).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

if ! "$PYTHON" -c "import torch" 2>/dev/null; then
  local_wheel=$(ls /opt/wheels/torch-*+cpu-*.whl 2>/dev/null | head -n 1 || true)
  if [ -n "$local_wheel" ]; then
    "$PYTHON" -m pip install --quiet "$local_wheel"
  else
    "$PYTHON" -m pip install --quiet torch \
      --index-url https://download.pytorch.org/whl/cpu
  fi
fi
"$PYTHON" -m pip install --quiet -e ".[jax,torch,test,docs,export]"
echo "installed: $("$PYTHON" -c 'import keras, keras_vae; print("keras_vae", keras_vae.__version__, "keras", keras.__version__)')"
