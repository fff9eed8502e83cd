"""Writing a benchmark's results into the docs: `docs/benchmarks.json` and
`docs/figures/figures.json`, atomically, one key each."""

import json
import os
import time


def _update(path, key, entry):
    import keras_vae

    with open(path) as f:
        content = json.load(f)
    content[key] = entry
    with keras_vae.utils.atomic_write(path, "w") as f:
        json.dump(content, f, indent=1)
        f.write("\n")


def record_benchmark(key, command, **fields):
    """`docs/benchmarks.json[key]`: the command, the machine, the date, the
    versions and backend, then `fields`."""
    import keras

    import keras_vae

    _update(
        os.path.join("docs", "benchmarks.json"),
        key,
        {
            "command": command,
            "hardware": "this project's shared 2-core CPU machine",
            "date": time.strftime("%Y-%m-%d"),
            "keras_vae_version": keras_vae.__version__,
            "backend": keras.backend.backend(),
            **fields,
        },
    )


def record_figure(key, file, command, details):
    """`docs/figures/figures.json[key]`: a figure a benchmark drew."""
    import keras

    _update(
        os.path.join("docs", "figures", "figures.json"),
        key,
        {
            "file": file,
            "source": "benchmark",
            "models": {},
            "details": details,
            "missing": [],
            "backend": keras.backend.backend(),
            "date": time.strftime("%Y-%m-%d"),
            "command": command,
        },
    )
