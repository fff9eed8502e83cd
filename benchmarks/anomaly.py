"""Novelty and out-of-distribution detection with per-example scores.

Three experiments, each a VAE (MLP 784-512-256-(32), Bernoulli decoder,
default 10 epochs of dynamically binarized training images, batch 128,
Adam 1e-3) whose `score` ranks test images (fixed binarization):

- `digit_9`: trained on the MNIST digits 0-8; in-distribution: the test
  digits 0-8, novel: the test nines;
- `mnist_vs_fashion`: trained on MNIST; in: the MNIST test set, out: the
  Fashion-MNIST test set;
- `fashion_vs_mnist`: trained on Fashion-MNIST; in: its test set, out: the
  MNIST test set (the direction in which Nalisnick et al., 2019, found
  that likelihood models rank the unseen data *higher*).

Each example gets two scores, `score(kind="elbo")` and
`score(kind="log_likelihood")` (k = `--num-samples`, default 100); a low
score flags an anomaly. The AUROC is the probability that a random
out-of-distribution image scores lower than a random in-distribution one
(1: perfect, 0.5: chance, below 0.5: the wrong way round), computed from
ranks (ties count half). Also reported: the mean log-likelihood of each
set, in nats.

    python benchmarks/anomaly.py                  # all three, 10 epochs
    python benchmarks/anomaly.py --epochs 1 --limit 500   # a quick run

A full run writes the table to `docs/benchmarks.json` (key `anomaly`),
which the anomaly-detection tutorial shows.
"""

import argparse
import json
import os
import sys
import time

# The repository's `zoo` package (not installed) holds the architectures.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

EXPERIMENTS = ("digit_9", "mnist_vs_fashion", "fashion_vs_mnist")


def auroc(in_scores, out_scores):
    """P(out < in) + P(out == in) / 2, from ranks (no sklearn needed)."""
    import numpy as np
    from scipy import stats

    scores = np.concatenate([in_scores, out_scores])
    ranks = stats.rankdata(scores)  # Ties get their average rank.
    rank_in = ranks[: len(in_scores)].sum()
    n_in, n_out = len(in_scores), len(out_scores)
    # Mann-Whitney U of the in-distribution scores above the others.
    u = rank_in - n_in * (n_in + 1) / 2
    return float(u / (n_in * n_out))


def data(name, limit):
    import numpy as np

    import keras_vae

    if name == "digit_9":
        train_x, train_y = keras_vae.datasets.load("mnist", "train")
        test_x, test_y = keras_vae.datasets.load_binarized_test_set("mnist")
        train = train_x[train_y != 9]
        inside, outside = test_x[test_y != 9], test_x[test_y == 9]
    else:
        first, second = (
            ("mnist", "fashion_mnist")
            if name == "mnist_vs_fashion"
            else ("fashion_mnist", "mnist")
        )
        train, _ = keras_vae.datasets.load(first, "train")
        inside, _ = keras_vae.datasets.load_binarized_test_set(first)
        outside, _ = keras_vae.datasets.load_binarized_test_set(second)
    if limit:
        inside, outside = inside[:limit], outside[:limit]
    return np.asarray(train, "float32"), inside, outside


def run(name, args):
    import keras
    import numpy as np

    import keras_vae
    from keras_vae.training import architectures

    train, inside, outside = data(name, args.limit)
    encoder, decoder = architectures.mlp(32, hidden=(512, 256))
    vae = keras_vae.VAE(encoder, decoder, latent_dim=32, seed=0)
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    rng = np.random.default_rng(0)
    began = time.time()
    for epoch in range(args.epochs):
        binary = (rng.random(train.shape) < train).astype("float32")
        history = vae.fit(binary, epochs=1, batch_size=128, verbose=0)
        print(
            f"{name} epoch {epoch + 1}: elbo {history.history['elbo'][-1]:.2f}",
            flush=True,
        )
    row = {
        "experiment": name,
        "train_images": len(train),
        "in_images": len(inside),
        "out_images": len(outside),
        "seconds_per_epoch": round((time.time() - began) / args.epochs, 1),
    }
    for kind in ("elbo", "log_likelihood"):
        scores = [
            vae.score(
                images,
                kind=kind,
                num_samples=args.num_samples,
                seed=0,
                verbose=0,
            )
            for images in (inside, outside)
        ]
        row[f"auroc_{kind}"] = round(auroc(*scores), 4)
        row[f"mean_{kind}_in"] = round(float(scores[0].mean()), 2)
        row[f"mean_{kind}_out"] = round(float(scores[1].mean()), 2)
        row[f"out_above_in_median_{kind}"] = round(
            float(np.mean(scores[1] > np.median(scores[0]))), 4
        )
    print(json.dumps(row), flush=True)
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--experiments", default=",".join(EXPERIMENTS))
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--num-samples", type=int, default=100)
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()
    names = [n for n in args.experiments.split(",") if n]
    for name in names:
        if name not in EXPERIMENTS:
            parser.error(f"unknown experiment {name!r}: {EXPERIMENTS}")

    import keras

    rows = [run(name, args) for name in names]
    print(
        f"\n{args.epochs} epochs, {keras.backend.backend()}, k = "
        f"{args.num_samples}; AUROC (1 = every anomaly scores lower)"
    )
    print(
        f"{'experiment':<18}{'AUROC elbo':>11}{'AUROC log p':>12}"
        f"{'log p in':>10}{'log p out':>10}"
    )
    for r in rows:
        print(
            f"{r['experiment']:<18}{r['auroc_elbo']:>11.3f}"
            f"{r['auroc_log_likelihood']:>12.3f}"
            f"{r['mean_log_likelihood_in']:>10.1f}"
            f"{r['mean_log_likelihood_out']:>10.1f}"
        )
    if args.limit or args.epochs < 10 or len(names) < len(EXPERIMENTS):
        return
    from _record import record_benchmark

    record_benchmark(
        "anomaly",
        "python benchmarks/anomaly.py",
        epochs=args.epochs,
        num_samples=args.num_samples,
        results=rows,
    )


if __name__ == "__main__":
    main()
