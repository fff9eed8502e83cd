"""Importance-weighted log-likelihood throughput: `VAE.log_likelihood`.

The k=5000 evaluation of a preset runs the decoder 5000 times per test
image: 50 million decoder passes for the 10,000 MNIST test images. This
benchmark times `VAE.log_likelihood` on the architecture of a zoo preset
(untrained weights: the work is the same) for a few shapes of the work per
compiled step (`batch_size` images times `samples_per_step` samples) and
prints the rate in decoder rows per second and the projected time of the
full k=5000 evaluation.

    python benchmarks/bench_likelihood.py --backend torch
    python benchmarks/bench_likelihood.py --backend all --preset mnist_mlp_32

Each backend runs in its own process.
"""

import argparse
import json
import os
import subprocess
import sys
import time

BACKENDS = ("tensorflow", "jax", "torch")
# (batch_size, samples_per_step): rows per compiled step = their product.
SHAPES = ((20, 100), (100, 20), (100, 200))


def measure(preset, num_images, num_samples, repeats):
    import numpy as np

    sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))
    from keras_vae.training import configs
    from keras_vae.training import run as train

    vae = train.build_vae(configs.get_config(preset))
    x = np.random.default_rng(0).random((num_images, 28, 28, 1)) < 0.3
    x = x.astype("float32")
    results = []
    for batch_size, samples_per_step in SHAPES:
        kwargs = dict(
            batch_size=batch_size, samples_per_step=samples_per_step, verbose=0
        )
        vae.log_likelihood(x[:batch_size], samples_per_step, **kwargs)
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            vae.log_likelihood(x, num_samples, **kwargs)
            best = min(best, time.perf_counter() - start)
        rate = num_images * num_samples / best
        results.append(
            {
                "batch_size": batch_size,
                "samples_per_step": samples_per_step,
                "rows_per_second": round(rate),
                "full_eval_minutes": round(10_000 * 5_000 / rate / 60, 1),
            }
        )
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", default=None, choices=BACKENDS + ("all",))
    parser.add_argument("--preset", default="mnist_mlp_32")
    parser.add_argument("--num-images", type=int, default=400)
    parser.add_argument("--num-samples", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.backend == "all":
        rows = []
        for backend in BACKENDS:
            env = dict(os.environ, KERAS_BACKEND=backend)
            env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
            command = [sys.executable, __file__, "--backend", backend, "--json"]
            command += ["--preset", args.preset]
            command += ["--num-images", str(args.num_images)]
            command += ["--num-samples", str(args.num_samples)]
            command += ["--repeats", str(args.repeats)]
            out = subprocess.run(
                command, env=env, check=True, capture_output=True, text=True
            ).stdout
            rows.append(json.loads(out.strip().splitlines()[-1]))
    else:
        if args.backend:
            os.environ["KERAS_BACKEND"] = args.backend
        import keras

        rows = [
            {
                "backend": keras.backend.backend(),
                "results": measure(
                    args.preset, args.num_images, args.num_samples, args.repeats
                ),
            }
        ]
        if args.json:
            print(json.dumps(rows[0]))
            return

    print(f"log_likelihood throughput, architecture of {args.preset}")
    print(
        f"{'backend':<11} {'batch':>5} {'k/step':>6} {'rows/s':>9} "
        f"{'k=5000 eval':>12}"
    )
    for row in rows:
        for r in row["results"]:
            print(
                f"{row['backend']:<11} {r['batch_size']:>5} "
                f"{r['samples_per_step']:>6} {r['rows_per_second']:>9,} "
                f"{r['full_eval_minutes']:>9.1f} min"
            )


if __name__ == "__main__":
    main()
