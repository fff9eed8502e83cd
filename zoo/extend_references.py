"""Adds the encoder's reference outputs to presets published without them.

    KERAS_BACKEND=jax python -m zoo.extend_references mnist_mlp_2 ...

Presets published before 2026-12-03 carry in `reference.npz` only the
decoder's outputs for fixed latents (`z`, `decoded`), so a preset loaded on
another backend was checked through its decoder alone. This adds `mean` and
`log_var`, the encoder's outputs for the stored `decoded` images, computed
on the backend given (the presets' own, jax: run it there), and updates the
file's SHA-256 in `metadata.json`; the weights, the other files and the
rest of the metadata are untouched. The new version of the preset is made
in a copy beside it and swapped in whole, as a publish is. A preset whose
reference already has them is left alone.

Run once, on 2026-12-03 under jax, for the five presets of the zoo.
"""

import argparse
import json
import os

import keras
import numpy as np

import keras_vae
from keras_vae.presets import PRESETS_DIR
from keras_vae.presets import _preset_io


def extend(directory):
    """Adds `mean` and `log_var` to the preset's `reference.npz`.

    Returns:
        True if the preset was changed, False if it had them already.
    """
    directory = os.path.abspath(directory)
    path = os.path.join(directory, _preset_io.REFERENCE_FILE)
    with np.load(path) as reference:
        reference = dict(reference)
    if "mean" in reference:
        return False
    vae = keras_vae.VAE.from_preset(directory)  # Verified first.
    arrays = _preset_io.reference_outputs(
        vae, reference["z"], decoded=reference["decoded"]
    )
    with _preset_io.staged_version(directory, copy=True) as staging:
        staged = os.path.join(staging, _preset_io.REFERENCE_FILE)
        with open(staged, "wb") as f:
            np.savez(f, **arrays)
        metadata_path = os.path.join(staging, _preset_io.METADATA_FILE)
        with open(metadata_path) as f:
            metadata = json.load(f)
        metadata["files"][_preset_io.REFERENCE_FILE] = _preset_io.sha256_file(
            staged
        )
        with open(metadata_path, "w") as f:
            json.dump(metadata, f, indent=2)
    if os.path.dirname(directory) == os.path.realpath(PRESETS_DIR):
        _preset_io.pin(os.path.basename(directory), directory)
    return True


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m zoo.extend_references",
        description="Add the encoder's outputs to presets' reference.npz.",
    )
    parser.add_argument("presets", nargs="+")
    args = parser.parse_args(argv)
    for name in args.presets:
        directory = os.path.join(PRESETS_DIR, name)
        changed = extend(directory)
        print(
            f"{name}: {'extended' if changed else 'already complete'} "
            f"({keras.backend.backend()})"
        )


if __name__ == "__main__":
    main()
