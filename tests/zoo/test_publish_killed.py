"""A publish killed at any point leaves the old version of the preset or
the new one, and nothing that survives the next publish. Runs on jax only
(scripts/test.sh): the writing is backend-neutral, and each kill costs a
subprocess that loads a model and the test set."""

import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import keras_vae
from keras_vae.presets import _preset_io
from zoo import publish

REPO = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))

_PUBLISHER = textwrap.dedent(
    """
    import itertools
    from zoo import publish

    for version in itertools.count(1):
        publish.publish(
            "mnist_mlp_2", workdir={workdir!r}, output_root={root!r},
            partial=True, hardware=f"version {{version}}",
        )
        print(flush=True)
    """
)


def test_a_killed_publish_leaves_a_whole_version(trained_run, tmp_path):
    workdir = trained_run
    root = tmp_path / "presets"
    directory = publish.publish(
        "mnist_mlp_2", workdir=workdir, output_root=str(root), partial=True
    )
    (root / "README.txt").write_text("the user's own file\n")
    env = {**os.environ, "PYTHONPATH": REPO, "TF_CPP_MIN_LOG_LEVEL": "3"}
    script = _PUBLISHER.format(workdir=workdir, root=str(root))
    rng = random.Random(0)
    for attempt in range(3):
        with subprocess.Popen(
            [sys.executable, "-c", script],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        ) as process:
            # Two whole publishes (lines "published ..." and ""), timed,
            # then a kill anywhere in the third: in its loading, its
            # figures, its writing or its swap.
            for _ in range(2):
                process.stdout.readline()
            began = time.monotonic()
            for _ in range(2):
                process.stdout.readline()
            time.sleep(rng.uniform(0.0, time.monotonic() - began))
            process.send_signal(signal.SIGKILL)
            process.wait()
        metadata = _preset_io.verify(directory)  # Whole: old or new.
        # The last whole publish, or the killed one if its swap was done.
        label, version = metadata["training"]["hardware"].split()
        assert label == "version" and int(version) >= 2
        keras_vae.VAE.from_preset(directory)
        publish.publish(
            "mnist_mlp_2", workdir=workdir, output_root=str(root), partial=True
        )
        assert sorted(os.listdir(root)) == ["README.txt", "mnist_mlp_2"], (
            attempt
        )
