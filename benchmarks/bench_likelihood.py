"""Importance-weighted log-likelihood throughput: `VAE.log_likelihood`,
against the machine's matmul limit at the decoder's shapes.

The k=5000 evaluation of a preset runs the decoder 5000 times per test
image: 50 million decoder passes for the 10,000 MNIST test images. This
benchmark times `VAE.log_likelihood` on the architecture of a zoo preset
(untrained weights: the work is the same) for a few shapes of the work per
compiled step (`batch_size` images times `samples_per_step` samples) and
prints the rate in decoder rows per second and the projected time of the
full k=5000 evaluation.

The limit is measured in the same process, alternating with the
estimates: the decoder's three matmuls alone (float32, 32x512, 512x1024,
1024x784, compiled by the backend), at 2,000 and 5,000 rows, the faster
of the two. The ratio of each estimate to the limit measured next to it,
median over `--repeats`, is what the target speaks of (>= 0.75); a row
`auto` is the step shape `log_likelihood` chooses by itself.

    python benchmarks/bench_likelihood.py --backend torch
    python benchmarks/bench_likelihood.py --backend all --preset mnist_mlp_32

Each backend runs in its own process.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

BACKENDS = ("tensorflow", "jax", "torch")
# (batch_size, samples_per_step): rows per compiled step = their product;
# (100, None): `log_likelihood`'s defaults, the step it chooses itself.
SHAPES = ((100, None), (10, 200), (20, 100), (100, 20), (100, 200))
LIMIT_ROWS = (2000, 5000)


def matmul_limit(keras, shapes):
    """A function `rows -> rows per second` of the decoder's matmuls alone,
    compiled by the backend (float32)."""
    import numpy as np

    rng = np.random.default_rng(0)
    weights = [rng.normal(size=s).astype("float32") * 0.05 for s in shapes]
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        @jax.jit
        def chain(a, *ws):
            for w in ws:
                a = a @ w
            return a

        def run(a):
            return jax.block_until_ready(chain(a, *weights))

    elif backend == "tensorflow":
        import tensorflow as tf

        tf_weights = [tf.constant(w) for w in weights]

        @tf.function
        def chain(a):
            for w in tf_weights:
                a = tf.matmul(a, w)
            return a

        def run(a):
            return chain(a).numpy()

    else:
        import torch

        torch_weights = [torch.from_numpy(w) for w in weights]

        def run(a):
            with torch.no_grad():
                a = torch.from_numpy(a)
                for w in torch_weights:
                    a = a @ w
            return a

    inputs = {}

    def rate(rows, calls=10):
        if rows not in inputs:
            inputs[rows] = rng.normal(size=(rows, shapes[0][0]))
            inputs[rows] = inputs[rows].astype("float32")
            run(inputs[rows])  # Compiles.
        start = time.perf_counter()
        for _ in range(calls):
            run(inputs[rows])
        return rows * calls / (time.perf_counter() - start)

    return rate


def decoder_shapes(vae):
    """The (in, out) of each Dense kernel of the decoder, in order."""
    return [
        tuple(w.shape)
        for w in vae.decoder.weights
        if len(w.shape) == 2 and w.name == "kernel"
    ]


def measure(preset, num_images, num_samples, repeats):
    import keras
    import numpy as np

    sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))
    from keras_vae.training import configs
    from keras_vae.training import run as train

    vae = train.build_vae(configs.get_config(preset))
    x = np.random.default_rng(0).random((num_images, 28, 28, 1)) < 0.3
    x = x.astype("float32")
    vae(x[:1])
    shapes = decoder_shapes(vae)
    flops = 2 * sum(a * b for a, b in shapes)
    limit = matmul_limit(keras, shapes)
    rates = {shape: [] for shape in SHAPES}
    ratios = {shape: [] for shape in SHAPES}
    limits = []
    for batch_size, samples_per_step in SHAPES:  # Compiles each shape.
        vae.log_likelihood(
            x[:batch_size],
            num_samples,
            batch_size=batch_size,
            samples_per_step=samples_per_step,
            verbose=0,
        )
    for _ in range(repeats):
        for shape in SHAPES:
            batch_size, samples_per_step = shape
            best_limit = max(limit(rows) for rows in LIMIT_ROWS)
            start = time.perf_counter()
            vae.log_likelihood(
                x,
                num_samples,
                batch_size=batch_size,
                samples_per_step=samples_per_step,
                verbose=0,
            )
            rate = num_images * num_samples / (time.perf_counter() - start)
            best_limit = max(best_limit, *(limit(r) for r in LIMIT_ROWS))
            limits.append(best_limit)
            rates[shape].append(rate)
            ratios[shape].append(rate / best_limit)
    results = []
    for shape in SHAPES:
        batch_size, samples_per_step = shape
        if samples_per_step is None:  # What the default chose.
            samples_per_step = vae._importance_weights(
                num_samples, batch_size, None, 0
            ).samples_per_step
        rate = statistics.median(rates[shape])
        rows = batch_size * samples_per_step
        results.append(
            {
                "batch_size": batch_size,
                "samples_per_step": samples_per_step,
                "default": shape[1] is None,
                # The decoder's activations of one step, float32: its
                # inputs, hidden layers and outputs (the step's peak).
                "step_activations_mb": round(
                    rows * 4 * (shapes[0][0] + sum(b for _, b in shapes)) / 1e6,
                    1,
                ),
                "rows_per_second": round(rate),
                "gflops": round(rate * flops / 1e9),
                "ratio_to_matmul_limit": round(
                    statistics.median(ratios[shape]), 3
                ),
                "full_eval_minutes": round(10_000 * 5_000 / rate / 60, 1),
            }
        )
    limit_rate = statistics.median(limits)
    return {
        "matmul_limit_rows_per_second": round(limit_rate),
        "matmul_limit_gflops": round(limit_rate * flops / 1e9),
        "results": results,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", default=None, choices=BACKENDS + ("all",))
    parser.add_argument("--preset", default="mnist_mlp_32")
    parser.add_argument("--num-images", type=int, default=400)
    parser.add_argument("--num-samples", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
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
                **measure(
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
        f"{'GFLOP/s':>8} {'/limit':>7} {'k=5000 eval':>12} {'step':>9}"
    )
    for row in rows:
        print(
            f"{row['backend']:<11} {'matmul limit':>12} "
            f"{row['matmul_limit_rows_per_second']:>9,} "
            f"{row['matmul_limit_gflops']:>8}"
        )
        for r in row["results"]:
            print(
                f"{row['backend']:<11} {r['batch_size']:>5} "
                f"{r['samples_per_step']:>6} {r['rows_per_second']:>9,} "
                f"{r['gflops']:>8} {r['ratio_to_matmul_limit']:>7.2f} "
                f"{r['full_eval_minutes']:>9.1f} min "
                f"{r['step_activations_mb']:>6.1f} MB"
                + ("  (default)" if r["default"] else "")
            )


if __name__ == "__main__":
    main()
