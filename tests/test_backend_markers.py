"""`scripts/test.sh` leaves out `backend_independent` tests after the first
backend (KERAS_VAE_BACKEND_TESTS_ONLY=1, tests/conftest.py), keeping those
also marked `every_backend`, and runs them all otherwise."""

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.backend_independent

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FILE = "tests/datasets/test_datasets_pipeline.py"


def collected(backend_tests_only):
    env = dict(os.environ, KERAS_VAE_BACKEND_TESTS_ONLY=backend_tests_only)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            FILE,
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return [line for line in result.stdout.splitlines() if "::" in line]


def test_only_every_backend_tests_are_kept_on_later_backends():
    everything = collected("0")
    kept = collected("1")
    assert len(everything) > 20
    assert kept == [f"{FILE}::test_fit_on_the_current_backend"]
