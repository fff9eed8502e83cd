"""The VAE family on MNIST, briefly trained: one headline table.

Each family trains for the same short budget (default 10 epochs of
dynamically binarized MNIST, batch 128, Adam 1e-3) with MLP networks of
the same widths (784-512-256 and back, 10 latent dimensions, Bernoulli
decoder where there is one), then is measured on the 10,000 test images of
the fixed binarization:

- `vae`: `keras_vae.VAE`, the ELBO (the reference);
- `cvae`: `ConditionalVAE` given the labels; also the fraction of 10,000
  class-conditional samples that an independent classifier (784-512-10,
  trained here) recognises as the class asked for;
- `beta_tcvae`: `VAE(objective=BetaTCVAE(tc_weight=6))`; also the total
  correlation of the test set's posterior draws (minibatch-weighted,
  batches of 500, N = 10,000);
- `mmd`: `VAE(beta=0, objective=MMD(weight=100))` (the MMD-VAE);
- `hierarchical`: `HierarchicalVAE` with two levels (10 and 5 latent
  dimensions) and its per-level KLs;
- `vqvae`: `VQVAE` (MLPs around a grid of 16 codes of 8 values from a
  64-code book, EMA codebook, dead codes restarted): its reconstruction
  and codebook usage (it has no likelihood bound).

Figures: the test ELBO, the importance-weighted NLL (k = `--num-samples`,
default 100) where the family defines one, and the reconstruction
(`-log p(x|z)` at the posterior's draws, nats, or for the VQ-VAE the
binary cross-entropy of its decoded probabilities). So that later changes
can be compared:

    python benchmarks/bench_family.py                   # all, 10 epochs
    python benchmarks/bench_family.py --families vae,cvae --epochs 1

A full run (>= 10 epochs, all families, the whole test set) writes the
table to `docs/benchmarks.json` (key `family`) and draws
`docs/figures/traversals.png` (latent traversals of `vae` and
`beta_tcvae` side by side: each row one latent dimension, the six of
largest KL, from -3 to 3 around a test image's code),
`family_hierarchical.png` (samples and the KL of each level) and
`family_vqvae.png` (reconstructions and the use of the codes).
"""

import argparse
import json
import os
import sys
import time

# The repository's `zoo` package (not installed) holds the architectures.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

FAMILIES = ("vae", "cvae", "beta_tcvae", "mmd", "hierarchical", "vqvae")
LATENT_DIM = 10
HIDDEN = (512, 256)
FIGURE = "traversals.png"


def build(name, keras, keras_vae):
    from keras_vae.training import architectures

    objectives = keras_vae.objectives
    if name == "cvae":
        return keras_vae.ConditionalVAE.mlp(
            (28, 28, 1),
            latent_dim=LATENT_DIM,
            num_classes=10,
            hidden_units=HIDDEN,
            seed=0,
        )
    if name == "hierarchical":
        from keras_vae.models.hierarchical_vae import HierarchicalVAE

        encoder, decoder = architectures.mlp(LATENT_DIM, hidden=HIDDEN)
        return HierarchicalVAE(
            encoder, decoder, latent_dims=(LATENT_DIM, 5), seed=0
        )
    if name == "vqvae":
        return _vqvae(keras, keras_vae)
    encoder, decoder = architectures.mlp(LATENT_DIM, hidden=HIDDEN)
    kwargs = {}
    if name == "beta_tcvae":
        kwargs["objective"] = objectives.BetaTCVAE(
            tc_weight=6.0, dataset_size=60000
        )
    elif name == "mmd":
        kwargs["objective"] = objectives.MMD(weight=100.0)
        kwargs["beta"] = 0.0
    return keras_vae.VAE(
        encoder, decoder, latent_dim=LATENT_DIM, seed=0, **kwargs
    )


def _vqvae(keras, keras_vae):
    """MLPs around a grid of 16 codes of 8 values each (64 in the book)."""
    from keras_vae.models.vq_vae import VQVAE

    layers = keras.layers
    encoder = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Flatten(),
            layers.Dense(HIDDEN[0], activation="relu"),
            layers.Dense(HIDDEN[1], activation="relu"),
            layers.Dense(16 * 8),
            layers.Reshape((16, 8)),
        ],
        name="encoder",
    )
    decoder = keras.Sequential(
        [
            keras.Input((16, 8)),
            layers.Flatten(),
            layers.Dense(HIDDEN[1], activation="relu"),
            layers.Dense(HIDDEN[0], activation="relu"),
            layers.Dense(784),
            layers.Reshape((28, 28, 1)),
        ],
        name="decoder",
    )
    return VQVAE(
        encoder,
        decoder,
        num_embeddings=64,
        embedding_dim=8,
        ema=True,
        dead_code_threshold=0.002,
        likelihood="bernoulli",
        seed=0,
    )


def _inputs(name, x, labels):
    return (x, labels) if name == "cvae" else x


def train(name, model, data, epochs):
    import numpy as np

    train_x, train_y = data
    rng = np.random.default_rng(0)
    began = time.time()
    for epoch in range(epochs):
        binary = (rng.random(train_x.shape) < train_x).astype("float32")
        history = model.fit(
            _inputs(name, binary, train_y), epochs=1, batch_size=128, verbose=0
        )
        logs = {k: round(v[-1], 3) for k, v in history.history.items()}
        print(f"{name} epoch {epoch + 1}: {logs}", flush=True)
    return (time.time() - began) / max(epochs, 1)


def measure(name, model, test, args, judge):
    import keras
    import numpy as np

    import keras_vae

    x, labels = test
    inputs = _inputs(name, x, labels)
    row = {"family": name}
    logs = model.evaluate(inputs, batch_size=500, verbose=0, return_dict=True)
    for key, value in logs.items():
        if key != "loss":
            row[key] = round(float(value), 3)
    if name != "vqvae":
        given = {"condition": labels} if name == "cvae" else {}
        log_px = model.log_likelihood(
            x, num_samples=args.num_samples, seed=0, verbose=0, **given
        )
        row["nll"] = round(float(-log_px.mean()), 2)
    else:
        probs = np.clip(model.reconstruct(x), 1e-6, 1 - 1e-6)
        bce = -(x * np.log(probs) + (1 - x) * np.log(1 - probs))
        row["reconstruction_bce"] = round(float(bce.sum((1, 2, 3)).mean()), 2)
    if name == "cvae":
        asked = np.repeat(np.arange(10), 1000)
        samples = model.sample(len(asked), condition=asked, seed=0)
        seen = np.argmax(judge.predict(samples, verbose=0), axis=1)
        row["class_accuracy"] = round(float(np.mean(seen == asked)), 4)
    if name in ("vae", "beta_tcvae", "mmd"):
        tcs = []
        for start in range(0, len(x), 500):
            mean, log_var = model.encode(x[start : start + 500])
            noise = np.random.default_rng(start).standard_normal(mean.shape)
            z = mean + np.exp(log_var / 2) * noise
            tcs.append(
                float(
                    keras_vae.objectives.total_correlation(
                        z.astype("float32"), mean, log_var, len(x)
                    )
                )
            )
        row["test_total_correlation"] = round(float(np.mean(tcs)), 2)
    del keras
    return row


def classifier(keras, images, labels):
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(512, activation="relu"),
            keras.layers.Dense(10),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    model.fit(images, labels, epochs=5, batch_size=128, verbose=0)
    return model


def traversals(models, x, path):
    """Rows: the six latent dimensions of largest mean KL, from -3 to 3."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from keras_vae.utils.files import atomic_path
    from keras_vae.utils.images import image_grid

    values = np.linspace(-3, 3, 9, dtype="float32")
    fig, axes = plt.subplots(1, len(models), figsize=(4.2 * len(models), 3.4))
    for axis, (title, model) in zip(np.atleast_1d(axes), models.items()):
        mean, log_var = model.encode(x[:1000])
        kl = 0.5 * (mean**2 + np.exp(log_var) - 1 - log_var).mean(0)
        dims = np.argsort(-kl)[:6]
        base = mean[:1]
        rows = []
        for d in dims:
            z = np.repeat(base, len(values), axis=0)
            z[:, d] = values
            rows.append(model.decode(z))
        grid = image_grid(np.concatenate(rows), columns=len(values))
        axis.imshow(grid, cmap="gray", vmin=0, vmax=255)
        axis.set_title(title, fontsize=10)
        axis.set_yticks(15 + 30 * np.arange(len(dims)))
        axis.set_yticklabels(
            [f"z{d} ({kl[d]:.1f} nats)" for d in dims], fontsize=8
        )
        axis.set_xticks(15 + 30 * np.arange(len(values)))
        axis.set_xticklabels([f"{v:g}" for v in values], fontsize=8)
    fig.tight_layout()
    with atomic_path(path, keep_extension=True) as temporary:
        fig.savefig(temporary, dpi=100, bbox_inches="tight")
    plt.close(fig)


def hierarchical_figure(model, row, path):
    """64 samples, and the KL of each level on the test set."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from keras_vae.utils.files import atomic_path
    from keras_vae.utils.images import image_grid

    fig, (left, right) = plt.subplots(
        1, 2, figsize=(8.4, 3.8), gridspec_kw={"width_ratios": [1.6, 1]}
    )
    left.imshow(
        image_grid(model.sample(64, seed=0), columns=8),
        cmap="gray",
        vmin=0,
        vmax=255,
    )
    left.set_title("samples (every level drawn from its prior)", fontsize=10)
    left.axis("off")
    levels = [k for k in sorted(row) if k.startswith("kl_")]
    right.bar(
        [
            f"level {k[3:]}\n({d} dims)"
            for k, d in zip(levels, model.latent_dims)
        ],
        [row[k] for k in levels],
        color="#4c72b0",
    )
    right.set_ylabel("KL on the test set (nats)")
    right.set_title("where the information goes", fontsize=10)
    fig.tight_layout()
    with atomic_path(path, keep_extension=True) as temporary:
        fig.savefig(temporary, dpi=100, bbox_inches="tight")
    plt.close(fig)


def vqvae_figure(model, x, path):
    """Test images over their reconstructions, and how often each code is
    used on the test set."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from keras_vae.utils.files import atomic_path
    from keras_vae.utils.images import image_grid

    codes = model.encode(x)
    counts = np.bincount(codes.reshape(-1), minlength=model.num_embeddings)
    share = np.sort(counts)[::-1] / counts.sum()
    perplexity = float(
        np.exp(-np.sum(share[share > 0] * np.log(share[share > 0])))
    )
    pairs = np.concatenate([x[:12], model.reconstruct(x[:12])])
    fig, (left, right) = plt.subplots(
        1, 2, figsize=(9.0, 3.0), gridspec_kw={"width_ratios": [1.8, 1]}
    )
    left.imshow(image_grid(pairs, columns=12), cmap="gray", vmin=0, vmax=255)
    left.set_title("test images (top) and reconstructions", fontsize=10)
    left.axis("off")
    right.bar(np.arange(len(share)), share, color="#4c72b0", width=1.0)
    right.set_xlabel("code, most used first")
    right.set_ylabel("share of the test set's codes")
    right.set_title(
        f"{int((counts > 0).sum())} of {model.num_embeddings} codes used, "
        f"perplexity {perplexity:.1f}",
        fontsize=10,
    )
    fig.tight_layout()
    with atomic_path(path, keep_extension=True) as temporary:
        fig.savefig(temporary, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return perplexity


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--num-samples", type=int, default=100)
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()
    names = [n for n in args.families.split(",") if n]
    for name in names:
        if name not in FAMILIES:
            parser.error(f"unknown family {name!r}; choose from {FAMILIES}")

    import keras

    import keras_vae

    train_x, train_y = keras_vae.datasets.load("mnist", "train")
    test_x, test_y = keras_vae.datasets.load_binarized_test_set("mnist")
    if args.limit:
        test_x, test_y = test_x[: args.limit], test_y[: args.limit]
    judge = None
    if "cvae" in names:
        judge = classifier(keras, train_x, train_y)
    rows, models = [], {}
    for name in names:
        model = build(name, keras, keras_vae)
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
        seconds = train(name, model, (train_x, train_y), args.epochs)
        row = measure(name, model, (test_x, test_y), args, judge)
        row["seconds_per_epoch"] = round(seconds, 1)
        rows.append(row)
        models[name] = model
        print(json.dumps(row), flush=True)

    print(
        f"\nMNIST, {args.epochs} epochs, {keras.backend.backend()}; test "
        f"set {len(test_x):,} images, NLL with k={args.num_samples}"
    )
    print(
        f"{'family':<13}{'ELBO':>9}{'NLL':>9}{'recon':>9}{'KL':>8}"
        f"{'s/epoch':>9}  other"
    )
    for row in rows:
        other = {
            k: v
            for k, v in row.items()
            if k
            not in (
                "family",
                "elbo",
                "nll",
                "reconstruction",
                "kl",
                "seconds_per_epoch",
            )
        }

        def cell(key, width, row=row):
            value = row.get(key)
            return (
                f"{'-':>{width}}" if value is None else f"{value:>{width}.2f}"
            )

        print(
            f"{row['family']:<13}{cell('elbo', 9)}{cell('nll', 9)}"
            f"{cell('reconstruction', 9)}{cell('kl', 8)}"
            f"{row['seconds_per_epoch']:>9.1f}  {other}"
        )
    full = args.epochs >= 10 and not args.limit and len(names) == len(FAMILIES)
    if not full:
        return
    traversals(
        {
            "VAE (ELBO)": models["vae"],
            "beta-TCVAE (tc_weight 6)": models["beta_tcvae"],
        },
        test_x,
        os.path.join("docs", "figures", FIGURE),
    )
    by_name = dict(zip(names, rows))
    hierarchical_figure(
        models["hierarchical"],
        by_name["hierarchical"],
        os.path.join("docs", "figures", "family_hierarchical.png"),
    )
    by_name["vqvae"]["test_perplexity"] = round(
        vqvae_figure(
            models["vqvae"],
            test_x,
            os.path.join("docs", "figures", "family_vqvae.png"),
        ),
        1,
    )
    from _record import record_benchmark
    from _record import record_figure

    command = "python benchmarks/bench_family.py"
    record_benchmark(
        "family",
        command,
        epochs=args.epochs,
        num_samples=args.num_samples,
        results=rows,
    )
    for key, file, details in (
        (
            "traversals",
            FIGURE,
            {
                name: by_name[name].get("test_total_correlation")
                for name in ("vae", "beta_tcvae")
            },
        ),
        (
            "family_hierarchical",
            "family_hierarchical.png",
            {k: v for k, v in by_name["hierarchical"].items() if "kl" in k},
        ),
        (
            "family_vqvae",
            "family_vqvae.png",
            {"test_perplexity": by_name["vqvae"]["test_perplexity"]},
        ),
    ):
        record_figure(key, file, command, details)


if __name__ == "__main__":
    main()
