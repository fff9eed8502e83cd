"""keras_vae against pythae: training throughput and test likelihood.

Both libraries train the same network, a small MNIST MLP VAE:
encoder 784-512-256 (ReLU), a 32-d diagonal Gaussian latent (one dense
layer 256 -> 2 x 32 giving the mean and the log-variance), decoder
32-256-512-784 (ReLU) and a Bernoulli likelihood. The loss of both is the
negative ELBO in nats: binary cross-entropy summed over the 784 pixels plus
the analytic KL, averaged over the batch.

- keras_vae: `keras_vae.VAE(encoder, decoder, latent_dim=32,
  likelihood="bernoulli", seed=0)`, `vae.fit(x, batch_size=128)`, with
  `KERAS_BACKEND=torch`, the backend pythae runs on, so that the
  comparison measures the libraries and not the array framework.
- pythae: `pythae.models.VAE` with `VAEConfig(input_dim=(1, 28, 28),
  latent_dim=32, reconstruction_loss="bce")` and a `BaseEncoder` and a
  `BaseDecoder` with the same layers (the decoder returns sigmoid
  probabilities as `reconstruction`, as pythae's "bce" loss expects, and
  keeps its logits readable for the evaluation), trained by pythae's own
  `BaseTrainer.train()` (its `DataLoader` over a `BaseDataset`, its
  callbacks), on the CPU.

Protocol:

1. Data: the 60,000 MNIST training images of `keras_vae.datasets.load`,
   binarized once with `keras_vae.datasets.binarize(images, seed=1)` (not
   seed 0, which `load_binarized_test_set` uses for the test images); both
   libraries train on these same binary images, shuffled each epoch.
2. Same start: by default the pythae network is given the initial weights
   of the keras_vae network (kernels transposed), so the runs differ only
   in the libraries' training code and random streams. `--native-init`
   keeps each framework's default initializer (Glorot-uniform for Keras,
   PyTorch's `nn.Linear` default).
3. Training: Adam, learning rate 1e-3, epsilon 1e-8 in both (PyTorch's
   default; Keras's default is 1e-7), batch 128, `--epochs` epochs (10).
   The two run in one process and alternate epochs: a timing callback of
   pythae's trainer runs one keras_vae epoch (`vae.fit(x, epochs=1)`)
   after each pythae epoch, so a change in machine load hits both alike.
   An epoch's time is the wall time of that `fit` call, or of pythae's
   epoch from `on_epoch_begin` to `on_epoch_end` (training plus its
   end-of-epoch bookkeeping). Throughput is 60,000 / the median epoch time
   after the first epoch.
4. Evaluation, on the first `--num-test` (1000) images of
   `keras_vae.datasets.load_binarized_test_set("mnist")`, with one
   estimator written here in PyTorch and applied to both final models:
   for `k = --num-samples` (1000) draws `z ~ q(z|x)`, the log weights
   `log w = log p(x|z) + log N(z; 0, I) - log N(z; mu, sigma)`, with
   `log p(x|z) = sum_pixels x * l - softplus(l)` from the decoder's
   logits `l`, in float64. The test NLL is `-(logsumexp_k log w - log k)`
   and the test ELBO the mean of `log w` over the k samples, each averaged
   over the images. Both models see the same noise draws (seed 0). As a
   cross-check of the estimator, keras_vae's own `VAE.log_likelihood` is
   run on its model too (other noise): the two must agree within their
   Monte-Carlo error, shown as a paired standard error over the images.

Commands:

    python benchmarks/bench_vs_pythae.py
    python benchmarks/bench_vs_pythae.py --epochs 10 --json results.json
    python benchmarks/bench_vs_pythae.py --extra-backend jax

Threads: `--threads` (default 1) caps the compute threads of each process
(`torch.set_num_threads`, and XLA's or TensorFlow's own for an extra
backend). One thread per library keeps the timings stable on a shared
machine, where multithreaded kernels wait on preempted threads; pass
`--threads 0` to keep the frameworks' defaults (on an idle machine).

`--extra-backend jax` (or `tensorflow`) also trains and evaluates keras_vae
on that backend, in its own process, after the main comparison (timed
alone, not alternated). pythae is not a dependency of keras_vae: install
it with `pip install pythae==0.1.2`. `--json PATH` writes the results.
"""

import argparse
import json
import logging
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

LATENT_DIM = 32
HIDDEN = (512, 256)
NUM_PIXELS = 28 * 28
TRAIN_BINARIZATION_SEED = 1
EVAL_SEED = 0
LEARNING_RATE = 1e-3
ADAM_EPSILON = 1e-8
LOG_2PI = math.log(2.0 * math.pi)


def limit_threads(backend, threads):
    """Caps the compute threads of torch and, before import, of `backend`."""
    if not threads:
        return
    if backend == "jax":
        flags = os.environ.get("XLA_FLAGS", "")
        os.environ["XLA_FLAGS"] = (
            f"{flags} --xla_cpu_multi_thread_eigen=false "
            f"intra_op_parallelism_threads={threads}"
        ).strip()
    elif backend == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    import torch

    torch.set_num_threads(threads)


# ----------------------------------------------------------------------
# Data.


def load_data(num_test):
    """Binary MNIST: the training set and the first test images (NHWC)."""
    from keras_vae import datasets

    images, _ = datasets.load("mnist", "train")
    x_train = datasets.binarize(images, seed=TRAIN_BINARIZATION_SEED)
    x_test, _ = datasets.load_binarized_test_set("mnist")
    return x_train, x_test[:num_test]


# ----------------------------------------------------------------------
# The two models.


def build_keras_vae(x_train):
    """The keras_vae model, built, and its dense layers in forward order."""
    import keras

    import keras_vae

    dense = [
        keras.layers.Dense(HIDDEN[0], activation="relu"),
        keras.layers.Dense(HIDDEN[1], activation="relu"),
    ]
    inputs = keras.Input((28, 28, 1))
    h = keras.layers.Flatten()(inputs)
    for layer in dense:
        h = layer(h)
    encoder = keras.Model(inputs, h, name="encoder")

    decoder_dense = [
        keras.layers.Dense(HIDDEN[1], activation="relu"),
        keras.layers.Dense(HIDDEN[0], activation="relu"),
        keras.layers.Dense(NUM_PIXELS),
    ]
    latent = keras.Input((LATENT_DIM,))
    h = latent
    for layer in decoder_dense:
        h = layer(h)
    logits = keras.layers.Reshape((28, 28, 1))(h)
    decoder = keras.Model(latent, logits, name="decoder")

    vae = keras_vae.VAE(
        encoder, decoder, latent_dim=LATENT_DIM, likelihood="bernoulli", seed=0
    )
    vae.compile(
        optimizer=keras.optimizers.Adam(LEARNING_RATE, epsilon=ADAM_EPSILON)
    )
    vae(x_train[:2])  # Builds every layer, the encoder head included.
    return vae, dense + [vae.encoder_head] + decoder_dense


def build_pythae_vae():
    """The pythae model (PyTorch) and its linear layers in forward order."""
    import torch
    from pythae.models import VAE
    from pythae.models import VAEConfig
    from pythae.models.base.base_utils import ModelOutput
    from pythae.models.nn import BaseDecoder
    from pythae.models.nn import BaseEncoder
    from torch import nn

    class Encoder(BaseEncoder):
        def __init__(self):
            super().__init__()
            self.hidden = nn.Sequential(
                nn.Flatten(),
                nn.Linear(NUM_PIXELS, HIDDEN[0]),
                nn.ReLU(),
                nn.Linear(HIDDEN[0], HIDDEN[1]),
                nn.ReLU(),
            )
            # One projection for mean and log-variance, as keras_vae's
            # GaussianEncoderHead (two separate layers compute the same).
            self.head = nn.Linear(HIDDEN[1], 2 * LATENT_DIM)

        def forward(self, x):
            out = self.head(self.hidden(x))
            return ModelOutput(
                embedding=out[:, :LATENT_DIM],
                log_covariance=out[:, LATENT_DIM:],
            )

    class Decoder(BaseDecoder):
        def __init__(self):
            super().__init__()
            self.hidden = nn.Sequential(
                nn.Linear(LATENT_DIM, HIDDEN[1]),
                nn.ReLU(),
                nn.Linear(HIDDEN[1], HIDDEN[0]),
                nn.ReLU(),
                nn.Linear(HIDDEN[0], NUM_PIXELS),
            )

        def logits(self, z):
            return self.hidden(z).reshape(-1, 1, 28, 28)

        def forward(self, z):
            # pythae's "bce" loss takes probabilities.
            return ModelOutput(reconstruction=torch.sigmoid(self.logits(z)))

    config = VAEConfig(
        input_dim=(1, 28, 28),
        latent_dim=LATENT_DIM,
        reconstruction_loss="bce",
    )
    model = VAE(config, encoder=Encoder(), decoder=Decoder())
    linears = [
        m for part in (model.encoder, model.decoder) for m in part.modules()
    ]
    linears = [m for m in linears if isinstance(m, nn.Linear)]
    return model, linears


def copy_initial_weights(keras_layers, torch_linears):
    """Gives the PyTorch layers the Keras layers' weights."""
    import torch
    from keras import ops

    if len(keras_layers) != len(torch_linears):
        raise ValueError("The two networks differ in their dense layers.")
    with torch.no_grad():
        for layer, linear in zip(keras_layers, torch_linears):
            kernel = ops.convert_to_numpy(layer.kernel)
            bias = ops.convert_to_numpy(layer.bias)
            if tuple(linear.weight.shape) != kernel.T.shape:
                raise ValueError(
                    f"Shape mismatch: Keras kernel {kernel.shape}, torch "
                    f"weight {tuple(linear.weight.shape)}"
                )
            linear.weight.copy_(torch.from_numpy(kernel.T.copy()))
            linear.bias.copy_(torch.from_numpy(bias.copy()))


# ----------------------------------------------------------------------
# The shared, independent importance-sampling estimator.


def importance_estimates(
    encode, decode_logits, x, num_samples, seed, batch_size=100, rows=10_000
):
    """Per-image IWAE estimates of log p(x) and the ELBO, in float64.

    Args:
        encode: maps a float32 array `(b, 28, 28, 1)` to the torch tensors
            `(mu, log_var)`, each `(b, LATENT_DIM)`.
        decode_logits: maps a float32 torch tensor `(m, LATENT_DIM)` to
            the decoder's Bernoulli logits, a torch tensor `(m, 784)`.
        x: float32 binary array `(n, 28, 28, 1)`.
        num_samples: int. Importance samples `k` per image.
        seed: int. Seed of the standard normal noise.
        batch_size: int. Images per step.
        rows: int. About how many decoder rows per step.

    Returns:
        Two float64 numpy arrays `(n,)`: `logsumexp_k log w - log k` and
        the mean of `log w` over the k samples.
    """
    import torch
    import torch.nn.functional as F

    generator = torch.Generator().manual_seed(seed)
    per_step = max(1, min(num_samples, rows // batch_size))
    log_px, elbo = [], []
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            images = x[start : start + batch_size]
            b = len(images)
            target = torch.from_numpy(images.reshape(b, 1, -1)).double()
            mu, log_var = (t.double() for t in encode(images))
            mu, log_var = mu[:, None], log_var[:, None]
            std = torch.exp(0.5 * log_var)
            log_w = []
            for done in range(0, num_samples, per_step):
                m = min(per_step, num_samples - done)
                eps = torch.randn(
                    (b, m, LATENT_DIM), generator=generator, dtype=torch.float64
                )
                z32 = (mu + std * eps).float()
                z = z32.double()  # The densities at the decoded z.
                logits = decode_logits(z32.reshape(b * m, LATENT_DIM))
                logits = logits.reshape(b, m, NUM_PIXELS).double()
                log_pxz = (target * logits - F.softplus(logits)).sum(-1)
                log_pz = -0.5 * (z.square() + LOG_2PI).sum(-1)
                log_qz = -0.5 * (
                    (z - mu).square() / torch.exp(log_var) + log_var + LOG_2PI
                ).sum(-1)
                log_w.append(log_pxz + log_pz - log_qz)
            log_w = torch.cat(log_w, dim=1)
            log_px.append(torch.logsumexp(log_w, 1) - math.log(num_samples))
            elbo.append(log_w.mean(1))
    return torch.cat(log_px).numpy(), torch.cat(elbo).numpy()


def keras_vae_functions(vae):
    """`encode` and `decode_logits` of a keras_vae model (any backend)."""
    import torch
    from keras import ops

    def encode(images):
        mu, log_var = vae.encode(images, batch_size=len(images))
        return torch.from_numpy(mu), torch.from_numpy(log_var)

    def decode_logits(z):
        logits = vae.decoder(z.numpy(), training=False)
        logits = ops.convert_to_numpy(logits).reshape(len(z), NUM_PIXELS)
        return torch.from_numpy(logits)

    return encode, decode_logits


def pythae_functions(model):
    """`encode` and `decode_logits` of the pythae model."""
    import torch

    model.eval()

    def encode(images):
        x = torch.from_numpy(images.transpose(0, 3, 1, 2).copy())
        out = model.encoder(x)
        return out.embedding, out.log_covariance

    def decode_logits(z):
        return model.decoder.logits(z).reshape(len(z), NUM_PIXELS)

    return encode, decode_logits


def mean_and_se(values):
    n = len(values)
    mean = float(values.mean())
    se = float(values.std(ddof=1) / math.sqrt(n)) if n > 1 else float("nan")
    return mean, se


def evaluate(encode, decode_logits, x_test, num_samples):
    start = time.perf_counter()
    log_px, elbo = importance_estimates(
        encode, decode_logits, x_test, num_samples, seed=EVAL_SEED
    )
    nll, nll_se = mean_and_se(-log_px)
    return {
        "test_nll": nll,
        "test_nll_se": nll_se,
        "test_elbo": float(elbo.mean()),
        "eval_seconds": time.perf_counter() - start,
    }, log_px


def cross_check(vae, x_test, num_samples, log_px):
    """keras_vae's own `log_likelihood` against the estimator here."""
    own = vae.log_likelihood(
        x_test, num_samples=num_samples, seed=EVAL_SEED + 1, verbose=0
    )
    difference, se = mean_and_se(own - log_px)
    return {
        "keras_vae_log_likelihood_nll": float(-own.mean()),
        "difference": difference,
        "difference_se": se,
    }


# ----------------------------------------------------------------------
# Runs.


def keras_epoch_runner(vae, x_train, batch_size, record):
    def run_epoch():
        start = time.perf_counter()
        history = vae.fit(
            x_train, batch_size=batch_size, epochs=1, shuffle=True, verbose=0
        )
        record["epoch_seconds"].append(time.perf_counter() - start)
        record["train_loss"].append(float(history.history["loss"][-1]))

    return run_epoch


def summarize_training(record, num_examples):
    times = record["epoch_seconds"]
    timed = times[1:] if len(times) > 1 else times
    median = statistics.median(timed)
    return {
        "samples_per_second": num_examples / median,
        "median_epoch_seconds": median,
        "epoch_seconds": times,
        "final_train_loss": record["train_loss"][-1],
    }


def run_comparison(args):
    """keras_vae (torch) and pythae, alternating epochs in this process."""
    import keras
    import numpy as np
    import torch
    from pythae.data.datasets import BaseDataset
    from pythae.trainers import BaseTrainer
    from pythae.trainers import BaseTrainerConfig
    from pythae.trainers.training_callbacks import TrainingCallback

    keras.utils.set_random_seed(0)
    torch.manual_seed(0)
    np.random.seed(0)
    x_train, x_test = load_data(args.num_test)
    vae, keras_layers = build_keras_vae(x_train)
    model, torch_linears = build_pythae_vae()
    if not args.native_init:
        copy_initial_weights(keras_layers, torch_linears)

    records = {
        name: {"epoch_seconds": [], "train_loss": []}
        for name in ("keras_vae", "pythae")
    }
    keras_epoch = keras_epoch_runner(
        vae, x_train, args.batch_size, records["keras_vae"]
    )

    class AlternatingTimer(TrainingCallback):
        """Times each pythae epoch, then runs one keras_vae epoch."""

        def on_epoch_begin(self, training_config, **kwargs):
            self.start = time.perf_counter()

        def on_epoch_end(self, training_config, **kwargs):
            seconds = time.perf_counter() - self.start
            records["pythae"]["epoch_seconds"].append(seconds)
            keras_epoch()

        def on_log(self, training_config, logs, **kwargs):
            loss = logs.get("train_epoch_loss")
            records["pythae"]["train_loss"].append(float(loss))

    # pythae logs each epoch's metrics at INFO on its own loggers.
    for name in list(logging.root.manager.loggerDict):
        if name.startswith("pythae"):
            logging.getLogger(name).setLevel(logging.WARNING)

    dataset = BaseDataset(
        torch.from_numpy(x_train.transpose(0, 3, 1, 2).copy()),
        torch.zeros(len(x_train)),
    )
    with tempfile.TemporaryDirectory() as output_dir:
        config = BaseTrainerConfig(
            output_dir=output_dir,
            num_epochs=args.epochs,
            learning_rate=LEARNING_RATE,
            optimizer_cls="Adam",
            optimizer_params={"eps": ADAM_EPSILON},
            per_device_train_batch_size=args.batch_size,
            seed=0,
            no_cuda=True,
        )
        trainer = BaseTrainer(
            model,
            train_dataset=dataset,
            training_config=config,
            callbacks=[AlternatingTimer()],
        )
        trainer.train()
        # The loader alone: a pass over its batches, no model.
        start = time.perf_counter()
        for _ in trainer.train_loader:
            pass
        loader_seconds = time.perf_counter() - start
    model = trainer.model  # The last weights, as for keras_vae.

    rows = []
    log_px = {}
    for name, functions in (
        ("keras_vae", keras_vae_functions(vae)),
        ("pythae", pythae_functions(model)),
    ):
        result = {"library": name, "backend": "torch"}
        result.update(summarize_training(records[name], len(x_train)))
        metrics, log_px[name] = evaluate(*functions, x_test, args.num_samples)
        result.update(metrics)
        rows.append(result)
        print(f"  {name}: done", file=sys.stderr)
    rows[0]["cross_check"] = cross_check(
        vae, x_test, args.num_samples, log_px["keras_vae"]
    )
    difference, se = mean_and_se(log_px["keras_vae"] - log_px["pythae"])
    extras = {
        "nll_pythae_minus_keras_vae": difference,
        "nll_pythae_minus_keras_vae_se": se,
        "pythae_loader_seconds_per_epoch": loader_seconds,
        "torch_threads": torch.get_num_threads(),
    }
    return rows, extras


def run_keras_only(args):
    """keras_vae alone, on the backend of this process."""
    import keras
    import numpy as np

    keras.utils.set_random_seed(0)
    np.random.seed(0)
    x_train, x_test = load_data(args.num_test)
    vae, _ = build_keras_vae(x_train)
    record = {"epoch_seconds": [], "train_loss": []}
    keras_epoch = keras_epoch_runner(vae, x_train, args.batch_size, record)
    for _ in range(args.epochs):
        keras_epoch()
    result = {"library": "keras_vae", "backend": keras.backend.backend()}
    result["threads"] = args.threads
    result.update(summarize_training(record, len(x_train)))
    metrics, log_px = evaluate(
        *keras_vae_functions(vae), x_test, args.num_samples
    )
    result.update(metrics)
    result["cross_check"] = cross_check(vae, x_test, args.num_samples, log_px)
    return result


def run_in_subprocess(backend, args):
    command = [sys.executable, __file__, "--worker-backend", backend]
    command += ["--epochs", str(args.epochs)]
    command += ["--batch-size", str(args.batch_size)]
    command += ["--num-test", str(args.num_test)]
    command += ["--num-samples", str(args.num_samples)]
    command += ["--threads", str(args.threads)]
    env = {**os.environ, "KERAS_BACKEND": backend}
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    output = subprocess.run(
        command, env=env, capture_output=True, text=True, check=True
    ).stdout
    line = [x for x in output.splitlines() if x.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT ") :])


# ----------------------------------------------------------------------
# Report.


def versions():
    from importlib import metadata

    found = {}
    for package in ("keras_vae", "keras", "torch", "pythae", "jax"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    return found


def print_table(args, rows, extras, found):
    k = args.num_samples
    print(
        f"keras_vae {found['keras_vae']} vs pythae {found['pythae']} "
        f"(torch {found['torch']}, keras {found['keras']}, "
        f"{extras['torch_threads']} torch threads)"
    )
    print(
        "MLP VAE 784-512-256-(32)-256-512-784, Bernoulli; binarized MNIST "
        f"train (seed {TRAIN_BINARIZATION_SEED}), {args.epochs} epochs, "
        f"batch {args.batch_size}, Adam {LEARNING_RATE:g}; "
        + ("framework default inits" if args.native_init else "same init")
    )
    print(
        f"samples/s: 60000 / median epoch time after the first; test: first "
        f"{args.num_test} fixed-binarized test images, k={k}"
    )
    header = (
        f"{'library':<10}{'backend':<9}{'samples/s':>10}{'epoch s':>9}"
        f"{'train loss':>11}{'test ELBO':>11}{'test NLL k=' + str(k):>17}"
    )
    print(header)
    for r in rows:
        nll = f"{r['test_nll']:.2f} +- {r['test_nll_se']:.2f}"
        print(
            f"{r['library']:<10}{r['backend']:<9}"
            f"{r['samples_per_second']:>10,.0f}"
            f"{r['median_epoch_seconds']:>9.2f}"
            f"{r['final_train_loss']:>11.2f}{r['test_elbo']:>11.2f}"
            f"{nll:>17}"
        )
    print("(+- : standard error over the test images)")
    if "nll_pythae_minus_keras_vae" in extras:
        speed = {r["library"]: r["samples_per_second"] for r in rows[:2]}
        print(
            "throughput keras_vae / pythae (torch): "
            f"{speed['keras_vae'] / speed['pythae']:.2f}"
        )
        print(
            "NLL pythae - keras_vae (paired over images): "
            f"{extras['nll_pythae_minus_keras_vae']:+.3f} +- "
            f"{extras['nll_pythae_minus_keras_vae_se']:.3f} nats"
        )
        print(
            "pythae DataLoader alone (no model): "
            f"{extras['pythae_loader_seconds_per_epoch']:.2f} s per epoch"
        )
    for r in rows:
        check = r.get("cross_check")
        if check:
            print(
                f"cross-check keras_vae/{r['backend']}: "
                f"VAE.log_likelihood NLL "
                f"{check['keras_vae_log_likelihood_nll']:.3f}, estimator "
                f"here {r['test_nll']:.3f}, difference "
                f"{check['difference']:+.3f} +- {check['difference_se']:.3f}"
            )


def write_json(path, payload):
    directory = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(dir=directory, suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as f:
            json.dump(payload, f, indent=2)
            f.write("\n")
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument(
        "--num-test", type=int, default=1000, help="test images evaluated"
    )
    parser.add_argument(
        "--num-samples", type=int, default=1000, help="importance samples k"
    )
    parser.add_argument(
        "--native-init",
        action="store_true",
        help="keep each framework's default initializer",
    )
    parser.add_argument(
        "--extra-backend",
        action="append",
        default=[],
        choices=("jax", "tensorflow"),
        help="also run keras_vae alone on this backend (subprocess)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="compute threads per process (0: the frameworks' defaults)",
    )
    parser.add_argument("--json", metavar="PATH", help="write results here")
    parser.add_argument("--worker-backend", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error(f"--epochs must be >= 1. Received: {args.epochs}")

    # Runs from a checkout: the repository root holds keras_vae.
    sys.path.insert(
        0, os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    )
    if args.worker_backend:
        os.environ["KERAS_BACKEND"] = args.worker_backend
        limit_threads(args.worker_backend, args.threads)
        print("RESULT " + json.dumps(run_keras_only(args)))
        return

    os.environ["KERAS_BACKEND"] = "torch"  # Before keras is imported.
    limit_threads("torch", args.threads)
    rows, extras = run_comparison(args)
    for backend in args.extra_backend:
        rows.append(run_in_subprocess(backend, args))
        print(f"  keras_vae/{backend}: done", file=sys.stderr)
    found = versions()
    print_table(args, rows, extras, found)
    if args.json:
        payload = {
            "command": " ".join(["python"] + sys.argv),
            "config": {
                "epochs": args.epochs,
                "batch_size": args.batch_size,
                "num_test": args.num_test,
                "num_samples": args.num_samples,
                "native_init": args.native_init,
                "train_binarization_seed": TRAIN_BINARIZATION_SEED,
                "eval_seed": EVAL_SEED,
                "learning_rate": LEARNING_RATE,
                "adam_epsilon": ADAM_EPSILON,
                "threads": args.threads,
            },
            "versions": found,
            "rows": rows,
            **extras,
        }
        write_json(args.json, payload)


if __name__ == "__main__":
    main()
