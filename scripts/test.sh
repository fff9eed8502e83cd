#!/usr/bin/env bash
# The full test command, from a fresh machine: install, fetch the data sets,
# lint, then run the test suite once per Keras backend.
#
#     bash scripts/test.sh              # everything
#     bash scripts/test.sh -k vae       # extra arguments go to pytest
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-3}

bash scripts/install.sh || exit 1
bash scripts/install_system_deps.sh || exit 1  # Chromium, for the docs test.
"$PYTHON" -m keras_vae.datasets fetch mnist fashion_mnist || exit 1
"$PYTHON" -m ruff check keras_vae tests benchmarks examples zoo scripts || exit 1

# Tests that do not depend on the backend run once, with the first backend,
# torch (the quickest to start small models: it compiles nothing): the docs
# site, its figures and generated pages, the docstring examples, the
# data-set tests that never touch Keras, the two-device test (it runs its
# own TensorFlow process whatever the backend) and the two-process test
# (its own JAX processes, whatever the backend). The docs' examples that
# train a VAE are trained on real MNIST on jax, the quickest here
# (tests/docs/test_training_examples.py). The docs' code blocks
# run in full on the first backend too; on the others only the pages with a block written
# for a particular backend (tests/docs/_blocks.py) run again. The zoo's
# kill-and-resume run, the killed publishes, the zoo's loop with the
# families (conditional, VQ-VAE) and the class-accuracy classifier (a
# minute of CNN training) go with jax, the zoo's backend (the saved state they rely on is tested on every backend by
# tests/test_vae.py, the preset writes by tests/test_safety_presets.py).
# Inside the other files, tests marked `backend_independent` (the command
# line's errors and files, data-set files and pipelines, public names, run
# archives) also run with the first backend only, except those marked
# `every_backend` (tests/conftest.py, KERAS_VAE_BACKEND_TESTS_ONLY below).
once=(tests/docs/test_site.py tests/docs/test_figures.py
      tests/docs/test_generated.py tests/docs/test_docstring_examples.py
      tests/datasets/test_datasets_binarize.py
      tests/datasets/test_datasets_cli.py tests/datasets/test_datasets_fetch.py
      tests/datasets/test_datasets_idx.py tests/datasets/test_datasets_real.py
      tests/datasets/test_datasets_tfds.py
      tests/test_safety_distributed.py tests/test_multiprocess.py
      tests/docs/test_api_pages.py tests/docs/test_concept_claims.py
      tests/docs/test_finetune_page.py)
jax_only=(tests/zoo/test_train_resume.py tests/zoo/test_publish_killed.py
          tests/zoo/test_families.py tests/test_class_accuracy.py)
# Two workers, each taking whole files (module fixtures are built once).
workers=(-n "${PYTEST_WORKERS:-2}" --dist loadfile)
status=0
for backend in torch tensorflow jax; do
  echo "=== KERAS_BACKEND=$backend"
  ignore=()
  if [ "$backend" != torch ]; then
    ignore+=("${once[@]/#/--ignore=}")
    export KERAS_VAE_DOCS_BACKEND_PAGES_ONLY=1
    export KERAS_VAE_BACKEND_TESTS_ONLY=1  # tests/conftest.py
  fi
  if [ "$backend" != jax ]; then
    ignore+=("${jax_only[@]/#/--ignore=}")
  fi
  # JAX compiles every op and step it meets; on the CPU, XLA's LLVM
  # backend optimising less compiles faster, and the suite's small models
  # then run about 17% quicker overall (measured on tests/test_distributions.py
  # and tests/docs/test_training_examples.py), with the same results.
  xla_flags=${XLA_FLAGS:-}
  if [ "$backend" = jax ]; then
    xla_flags="--xla_backend_optimization_level=0 $xla_flags"
  fi
  XLA_FLAGS=$xla_flags KERAS_BACKEND=$backend "$PYTHON" -m pytest -q -p no:cacheprovider \
    "${workers[@]}" "${ignore[@]}" "$@" || status=1
done
exit $status
