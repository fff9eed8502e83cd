"""Training throughput: keras_vae.VAE against the same network in plain Keras.

The network is a small 784-512-256-(32)-256-512-784 MLP VAE with a
Bernoulli decoder. The plain-Keras version is written as the Keras VAE
example writes it: a `Sampling` layer that adds the KL with `add_loss`, and
a summed binary cross-entropy as the compiled loss. Both train on the same
60,000 MNIST-shaped binary images, batch 128, in the same process. After a
warm-up epoch each, the two models alternate single epochs (`--epochs`
pairs); the median epoch time of each gives its samples/s, and the ratio
is the median over the pairs of plain time / keras_vae time, with its
quartiles: on a shared machine the time of an epoch varies by 20% from
one to the next, so a neighbouring pair, under the same load, is the
fair comparison, and many pairs are needed (e.g. `--epochs 20
--num-examples 12800`).

Run one backend, or all three (each in its own process):

    python benchmarks/bench_training.py --backend tensorflow
    python benchmarks/bench_training.py --backend all

It prints a table and the ratio keras_vae / plain (target >= 0.97).

`--model cvae` and `--model hvae` compare the families the same way:
`keras_vae.ConditionalVAE` (labels one-hot inside the model, the networks
of `ConditionalVAE.mlp` around the same MLP) against a plain-Keras CVAE
fed one-hot labels, and `keras_vae.HierarchicalVAE` (two levels, 32 and
16 dimensions, `hidden_units=256`) against a plain-Keras ladder VAE with
the same layers, the same precision-weighted merge and the same closed-form
KLs, written below:

    python benchmarks/bench_training.py --backend all --model hvae

`--policy mixed_bfloat16` measures mixed precision instead: the same
keras_vae VAE built under float32 and under the policy, from the same
initial weights, trained on the same MNIST images (binarized once),
alternating epochs; it prints the speed-up (median over
the pairs of float32 time / mixed time) and each model's loss on its last
epoch and on 2,000 test images (the negative ELBO, nats per image):

    python benchmarks/bench_training.py --backend all --policy mixed_bfloat16
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

BACKENDS = ("tensorflow", "jax", "torch")


def build_models(keras, keras_vae, latent_dim=32, with_plain=True):
    from keras import ops

    def encoder_body(inputs):
        h = keras.layers.Flatten()(inputs)
        h = keras.layers.Dense(512, activation="relu")(h)
        return keras.layers.Dense(256, activation="relu")(h)

    def decoder_body(z):
        h = keras.layers.Dense(256, activation="relu")(z)
        h = keras.layers.Dense(512, activation="relu")(h)
        h = keras.layers.Dense(784)(h)
        return keras.layers.Reshape((28, 28, 1))(h)

    # keras_vae.
    inputs = keras.Input((28, 28, 1))
    encoder = keras.Model(inputs, encoder_body(inputs))
    latent = keras.Input((latent_dim,))
    decoder = keras.Model(latent, decoder_body(latent))
    vae = keras_vae.VAE(encoder, decoder, latent_dim=latent_dim, seed=0)
    vae.compile(optimizer="adam")
    if not with_plain:
        return vae, None

    # Plain Keras, as in the Keras VAE example.
    class Sampling(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.seed_generator = keras.random.SeedGenerator(0)

        def call(self, inputs):
            z_mean, z_log_var = inputs
            kl = -0.5 * (
                1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var)
            )
            self.add_loss(ops.mean(ops.sum(kl, axis=1)))
            eps = keras.random.normal(
                ops.shape(z_mean), seed=self.seed_generator
            )
            return z_mean + ops.exp(0.5 * z_log_var) * eps

    def reconstruction_loss(x, logits):
        bce = keras.losses.binary_crossentropy(
            x, logits, from_logits=True, axis=()
        )
        return ops.sum(bce, axis=(1, 2, 3))

    inputs = keras.Input((28, 28, 1))
    h = encoder_body(inputs)
    z_mean = keras.layers.Dense(latent_dim)(h)
    z_log_var = keras.layers.Dense(latent_dim)(h)
    z = Sampling()([z_mean, z_log_var])
    plain = keras.Model(inputs, decoder_body(z))
    plain.compile(optimizer="adam", loss=reconstruction_loss)
    return vae, plain


def _gaussian_kl(keras, mean_q, log_var_q, mean_p=None, log_var_p=None):
    """KL(N(mean_q, exp(log_var_q)) || N(mean_p, exp(log_var_p))), summed
    over the last axis; N(0, I) when `mean_p` is None."""
    ops = keras.ops
    if mean_p is None:
        mean_p = ops.zeros_like(mean_q)
        log_var_p = ops.zeros_like(log_var_q)
    kl = 0.5 * (
        log_var_p
        - log_var_q
        + (ops.exp(log_var_q) + ops.square(mean_q - mean_p))
        / ops.exp(log_var_p)
        - 1.0
    )
    return ops.sum(kl, axis=-1)


def build_cvae(keras, keras_vae, latent_dim=32, num_classes=10):
    """keras_vae's CVAE, and plain Keras's: the same MLP, one-hot labels
    concatenated to the image and to the code."""
    ops = keras.ops
    layers = keras.layers
    cvae = keras_vae.ConditionalVAE.mlp(
        (28, 28, 1),
        latent_dim=latent_dim,
        num_classes=num_classes,
        hidden_units=(512, 256),
        seed=0,
    )
    cvae.compile(optimizer="adam")

    class Sampling(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.seed_generator = keras.random.SeedGenerator(0)

        def call(self, inputs):
            mean, log_var = inputs
            self.add_loss(ops.mean(_gaussian_kl(keras, mean, log_var)))
            eps = keras.random.normal(ops.shape(mean), seed=self.seed_generator)
            return mean + ops.exp(0.5 * log_var) * eps

    x_in = keras.Input((28, 28, 1))
    c_in = keras.Input((num_classes,))
    h = layers.Concatenate()([layers.Flatten()(x_in), c_in])
    h = layers.Dense(512, activation="relu")(h)
    h = layers.Dense(256, activation="relu")(h)
    z = Sampling()([layers.Dense(latent_dim)(h), layers.Dense(latent_dim)(h)])
    h = layers.Concatenate()([z, c_in])
    h = layers.Dense(256, activation="relu")(h)
    h = layers.Dense(512, activation="relu")(h)
    logits = layers.Reshape((28, 28, 1))(layers.Dense(784)(h))
    plain = keras.Model([x_in, c_in], logits)
    plain.compile(optimizer="adam", loss=_summed_bce(keras))
    return cvae, plain


def build_hvae(keras, keras_vae, dims=(32, 16), hidden=256):
    """keras_vae's two-level ladder VAE, and the same in plain Keras."""
    ops = keras.ops
    layers = keras.layers

    def encoder_body(inputs):
        h = layers.Flatten()(inputs)
        h = layers.Dense(512, activation="relu")(h)
        return layers.Dense(256, activation="relu")(h)

    def decoder_body(z):
        h = layers.Dense(256, activation="relu")(z)
        h = layers.Dense(512, activation="relu")(h)
        return layers.Reshape((28, 28, 1))(layers.Dense(784)(h))

    inputs = keras.Input((28, 28, 1))
    encoder = keras.Model(inputs, encoder_body(inputs))
    latent = keras.Input((dims[0],))
    decoder = keras.Model(latent, decoder_body(latent))
    hvae = keras_vae.HierarchicalVAE(
        encoder, decoder, latent_dims=dims, hidden_units=hidden, seed=0
    )
    hvae.compile(optimizer="adam")

    class Ladder(layers.Layer):
        """Samples the top level, then the bottom one from the merge of its
        bottom-up Gaussian and its conditional prior; adds both KLs."""

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.seed_generator = keras.random.SeedGenerator(0)
            self.top_down = layers.Dense(hidden, activation="elu")
            self.prior_mean = layers.Dense(dims[0])
            self.prior_log_var = layers.Dense(dims[0])

        def sample(self, mean, log_var):
            eps = keras.random.normal(ops.shape(mean), seed=self.seed_generator)
            return mean + ops.exp(0.5 * log_var) * eps

        def call(self, inputs):
            top_mean, top_log_var, bu_mean, bu_log_var = inputs
            z_top = self.sample(top_mean, top_log_var)
            h = self.top_down(z_top)
            p_mean, p_log_var = self.prior_mean(h), self.prior_log_var(h)
            precision_bu = ops.exp(-bu_log_var)
            precision_p = ops.exp(-p_log_var)
            log_var = -ops.log(precision_bu + precision_p)
            mean = (bu_mean * precision_bu + p_mean * precision_p) * ops.exp(
                log_var
            )
            kl = _gaussian_kl(keras, top_mean, top_log_var) + _gaussian_kl(
                keras, mean, log_var, p_mean, p_log_var
            )
            self.add_loss(ops.mean(kl))
            return self.sample(mean, log_var)

    inputs = keras.Input((28, 28, 1))
    d1 = encoder_body(inputs)
    d2 = layers.Dense(hidden, activation="elu")(d1)
    z1 = Ladder()(
        [
            layers.Dense(dims[1])(d2),
            layers.Dense(dims[1])(d2),
            layers.Dense(dims[0])(d1),
            layers.Dense(dims[0])(d1),
        ]
    )
    plain = keras.Model(inputs, decoder_body(z1))
    plain.compile(optimizer="adam", loss=_summed_bce(keras))
    return hvae, plain


def _summed_bce(keras):
    def reconstruction_loss(x, logits):
        bce = keras.losses.binary_crossentropy(
            x, logits, from_logits=True, axis=()
        )
        return keras.ops.sum(bce, axis=(1, 2, 3))

    return reconstruction_loss


def run_policy(args):
    """float32 against `args.policy`, alternating epochs."""
    import keras
    import numpy as np

    import keras_vae

    # Real images here: the losses are compared, not only the speed.
    rng = np.random.default_rng(0)
    x, _ = keras_vae.datasets.load("mnist", f"train[:{args.num_examples}]")
    x = (rng.random(x.shape) < x).astype("float32")
    held_out = keras_vae.datasets.load_binarized_test_set("mnist")[0][:2000]
    models = {}
    for policy in ("float32", args.policy):
        keras.config.set_dtype_policy(policy)
        try:
            keras.utils.set_random_seed(0)  # The same initial weights.
            models[policy], _ = build_models(keras, keras_vae, with_plain=False)
        finally:
            keras.config.set_dtype_policy("float32")
    options = {"batch_size": args.batch_size, "epochs": 1, "verbose": 0}
    for model in models.values():  # Warm-up: compilation, caches.
        model.fit(x[: args.batch_size * 4], **options)
    times = {policy: [] for policy in models}
    losses = {}
    for _ in range(args.epochs):
        for policy, model in models.items():
            start = time.perf_counter()
            history = model.fit(x, **options)
            times[policy].append(time.perf_counter() - start)
            losses[policy] = float(history.history["loss"][-1])
    ratios = sorted(
        base / mixed for base, mixed in zip(*(times[p] for p in models))
    )
    result = {
        "backend": keras.backend.backend(),
        "policy": args.policy,
        "speedup": statistics.median(ratios),
        "pairs": len(ratios),
    }
    if len(ratios) >= 4:
        quartiles = statistics.quantiles(ratios, n=4)
        result["speedup_quartiles"] = [quartiles[0], quartiles[2]]
    for policy, model in models.items():
        key = "float32" if policy == "float32" else "mixed"
        result[f"{key}_samples_per_second"] = args.num_examples / (
            statistics.median(times[policy])
        )
        result[f"{key}_last_epoch_loss"] = losses[policy]
        logs = model.evaluate(
            held_out, batch_size=500, verbose=0, return_dict=True
        )
        result[f"{key}_held_out_loss"] = -float(logs["elbo"])
    return result


def run_one_backend(args):
    import keras
    import numpy as np

    import keras_vae

    if args.policy:
        return run_policy(args)

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = (rng.random((args.num_examples, 28, 28, 1)) < 0.13).astype("float32")
    options = {"batch_size": args.batch_size, "epochs": 1, "verbose": 0}
    if args.model == "cvae":
        labels = rng.integers(0, 10, args.num_examples)
        one_hot = np.eye(10, dtype="float32")[labels]
        vae, plain = build_cvae(keras, keras_vae)
        fits = {
            "keras_vae": lambda: vae.fit((x, labels), **options),
            "plain_keras": lambda: plain.fit([x, one_hot], x, **options),
        }
    else:
        build = build_hvae if args.model == "hvae" else build_models
        vae, plain = build(keras, keras_vae)
        fits = {
            "keras_vae": lambda: vae.fit(x, **options),
            "plain_keras": lambda: plain.fit(x, x, **options),
        }
    for fit in fits.values():  # Warm-up: compilation, caches.
        fit()
    times = {name: [] for name in fits}
    for _ in range(args.epochs):
        for name, fit in fits.items():
            start = time.perf_counter()
            fit()
            times[name].append(time.perf_counter() - start)
    result = {"backend": keras.backend.backend(), "model": args.model}
    for name, values in times.items():
        result[name] = args.num_examples / statistics.median(values)
    # Each pair of neighbouring epochs ran under the same machine load: the
    # median of the pairs' ratios, and its spread (the quartiles), say more
    # on a shared machine than the ratio of two medians.
    ratios = sorted(
        plain / ours
        for ours, plain in zip(times["keras_vae"], times["plain_keras"])
    )
    result["ratio"] = statistics.median(ratios)
    if len(ratios) >= 4:
        quartiles = statistics.quantiles(ratios, n=4)
        result["ratio_quartiles"] = [quartiles[0], quartiles[2]]
    result["pairs"] = len(ratios)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", default="all", choices=BACKENDS + ("all",))
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--num-examples", type=int, default=60_000)
    parser.add_argument(
        "--model",
        default="vae",
        choices=("vae", "cvae", "hvae"),
        help="VAE, ConditionalVAE or HierarchicalVAE (default: vae)",
    )
    parser.add_argument(
        "--record",
        action="store_true",
        help="write the results into docs/benchmarks.json",
    )
    parser.add_argument(
        "--policy",
        choices=("mixed_bfloat16", "mixed_float16"),
        help="compare float32 with this dtype policy instead",
    )
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if (
        args.backend != "all"
        and os.environ.get("KERAS_BACKEND") == args.backend
    ):
        result = run_one_backend(args)
        if args.json:
            print("RESULT " + json.dumps(result))
            return
        results = [result]
    else:
        backends = BACKENDS if args.backend == "all" else (args.backend,)
        results = []
        for backend in backends:
            command = [sys.executable, __file__, "--backend", backend, "--json"]
            command += ["--epochs", str(args.epochs)]
            command += ["--batch-size", str(args.batch_size)]
            command += ["--num-examples", str(args.num_examples)]
            command += ["--model", args.model]
            if args.policy:
                command += ["--policy", args.policy]
            env = {**os.environ, "KERAS_BACKEND": backend}
            env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
            output = subprocess.run(
                command, env=env, capture_output=True, text=True, check=True
            ).stdout
            lines = output.splitlines()
            line = [x for x in lines if x.startswith("RESULT ")]
            results.append(json.loads(line[-1][len("RESULT ") :]))
            print(f"  {backend}: done", file=sys.stderr)

    if args.policy:
        print(
            f"VAE MLP 784-512-256-(32), float32 against {args.policy}, "
            f"{args.num_examples} examples, batch {args.batch_size}, "
            f"{args.epochs} alternating pairs of epochs"
        )
        for r in results:
            spread = r.get("speedup_quartiles")
            spread = f" ({spread[0]:.2f}-{spread[1]:.2f})" if spread else ""
            print(
                f"{r['backend']:<12} speed-up {r['speedup']:.2f}x{spread}; "
                f"loss, last epoch: float32 {r['float32_last_epoch_loss']:.2f}"
                f", mixed {r['mixed_last_epoch_loss']:.2f}; held out: "
                f"float32 {r['float32_held_out_loss']:.2f}, mixed "
                f"{r['mixed_held_out_loss']:.2f}"
            )
        if args.record:
            _record("mixed_precision", args, results, ("backend",))
        return
    model = {"vae": "VAE", "cvae": "ConditionalVAE", "hvae": "HierarchicalVAE"}
    print(
        f"{model[args.model]}: MLP 784-512-256-(32), {args.num_examples} "
        f"examples, batch "
        f"{args.batch_size}, {args.epochs} alternating pairs of epochs after "
        "a warm-up; ratio: the median over the pairs (quartiles)"
    )
    print(f"{'backend':<12}{'keras_vae':>14}{'plain Keras':>14}{'ratio':>8}")
    for r in results:
        spread = r.get("ratio_quartiles")
        spread = f" ({spread[0]:.3f}-{spread[1]:.3f})" if spread else ""
        print(
            f"{r['backend']:<12}{r['keras_vae']:>10.0f} s/s"
            f"{r['plain_keras']:>10.0f} s/s{r['ratio']:>8.3f}{spread}"
        )
    if args.record and args.model != "vae":
        _record("family_throughput", args, results, ("model", "backend"))


def _record(key, args, results, identity):
    """Merges `results` into `docs/benchmarks.json[key]`: a row replaces
    the row of the same `identity` fields (model, backend)."""
    sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))
    from benchmarks._record import record_benchmark

    with open(os.path.join("docs", "benchmarks.json")) as f:
        rows = json.load(f).get(key, {}).get("results", [])
    ids = {tuple(r[k] for k in identity) for r in results}
    rows = [r for r in rows if tuple(r.get(k) for k in identity) not in ids]
    command = ["python benchmarks/bench_training.py --backend", args.backend]
    command += [f"--epochs {args.epochs} --num-examples {args.num_examples}"]
    command += [f"--policy {args.policy}" if args.policy else ""]
    command += [f"--model {args.model}" if args.model != "vae" else ""]
    record_benchmark(
        key,
        " ".join(c for c in command if c),
        results=rows + list(results),
    )


if __name__ == "__main__":
    main()
