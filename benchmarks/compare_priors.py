"""Priors and posteriors compared: the test NLL of one MNIST architecture.

The `mnist_mlp_32` architecture (784-1024-512-(32)-512-1024-784, Bernoulli
decoder), trained the same way for the same short budget (default 50
epochs of dynamically binarized MNIST, batch 128, Adam 1e-3, KL warm-up
over the first 10 epochs), with four choices of prior and posterior:

- `standard`: N(0, I) prior, diagonal Gaussian posterior (the default);
- `mog`: a learnable mixture of 10 Gaussians as the prior;
- `vamp`: a VampPrior with 500 pseudo-inputs (Tomczak & Welling, 2018);
- `iaf`: an inverse autoregressive flow posterior (Kingma et al., 2016).

Each model is then scored on the 10,000 test images of the fixed
binarization with `VAE.log_likelihood` (k importance samples, default
1000, the same seed for all), and each is compared with `standard` image
by image: the mean paired difference and its standard error (negative:
better than `standard`).

Run it in the background; it checkpoints every epoch and every
likelihood step, and a second run continues where a stopped one ended:

    nohup python benchmarks/compare_priors.py > compare_priors.log 2>&1 &

It prints a table and writes it, with the command and the settings, to
`docs/benchmarks.json` (key `priors`), which the docs' "Choosing a
likelihood, a prior and a posterior" guide shows. `--epochs 1 --limit 200
--num-samples 10` is a quick smoke run (its results are not written to
the docs).
"""

import argparse
import json
import os
import sys
import time

# The repository's `zoo` package (not installed) holds the architectures.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

CONFIGS = ("standard", "mog", "vamp", "iaf")
FIGURE = "priors_samples.png"
LABELS = {
    "standard": "N(0, I) prior",
    "mog": "mixture of 10 Gaussians",
    "vamp": "VampPrior (500)",
    "iaf": "IAF posterior",
}
LATENT_DIM = 32
STEPS_PER_EPOCH = 469  # 60,000 images, batch 128.


def build(name, warmup_epochs):
    import keras_vae
    from keras_vae.training import architectures

    encoder, decoder = architectures.mlp(LATENT_DIM, hidden=(1024, 512))
    kwargs = {}
    if name == "mog":
        kwargs["prior"] = keras_vae.priors.MixtureOfGaussians(
            num_components=10
        )
    elif name == "vamp":
        kwargs["prior"] = keras_vae.priors.VampPrior(num_components=500)
    elif name == "iaf":
        kwargs["posterior"] = keras_vae.posteriors.InverseAutoregressiveFlow(
            LATENT_DIM
        )
    return keras_vae.VAE(
        encoder,
        decoder,
        latent_dim=LATENT_DIM,
        kl_warmup_steps=warmup_epochs * STEPS_PER_EPOCH,
        seed=0,
        name=f"vae_{name}",
        **kwargs,
    )


def train(name, args, directory):
    """Trains (or continues) one model; returns it and its seconds/epoch."""
    import keras

    import keras_vae
    from keras_vae.utils.files import atomic_path

    path = os.path.join(directory, f"{name}.keras")
    state_path = os.path.join(directory, f"{name}.json")
    state = {"epoch": 0, "seconds": 0.0}
    if os.path.exists(path) and os.path.exists(state_path):
        with open(state_path) as f:
            state = json.load(f)
        vae = keras.saving.load_model(path)
        print(f"{name}: continuing from epoch {state['epoch']}", flush=True)
    else:
        vae = build(name, args.warmup_epochs)
        vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    data = keras_vae.datasets.load_dataset(
        "mnist", "train", batch_size=128, binarization="dynamic", seed=0
    )
    while state["epoch"] < args.epochs:
        began = time.time()
        history = vae.fit(
            data,
            epochs=state["epoch"] + 1,
            initial_epoch=state["epoch"],
            verbose=0,
        )
        state["seconds"] += time.time() - began
        state["epoch"] += 1
        logs = {k: round(v[-1], 2) for k, v in history.history.items()}
        print(f"{name}: epoch {state['epoch']} {logs}", flush=True)
        with atomic_path(
            path, keep_extension=True
        ) as temporary:
            vae.save(temporary)
        with keras_vae.utils.atomic_write(state_path, "w") as f:
            json.dump(state, f)
    return vae, state["seconds"] / max(state["epoch"], 1)


def _unfinished(name, args, num_images):
    """Why `name` has no result yet (None if it has one)."""
    state_path = os.path.join(args.directory, f"{name}.json")
    epoch = 0
    if os.path.exists(state_path):
        with open(state_path) as f:
            epoch = json.load(f)["epoch"]
    if epoch < args.epochs:
        return f"unfinished: trained {epoch} of {args.epochs} epochs"
    scores = os.path.join(
        args.directory, f"{name}.k{args.num_samples}.n{num_images}.npy"
    )
    if not os.path.exists(scores):
        return "unfinished: trained, test likelihood not computed"
    return None


def samples_figure(models, rows, path):
    """64 samples of each model (the same seed), side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from keras_vae.utils.files import atomic_path
    from keras_vae.utils.images import image_grid

    figure, axes = plt.subplots(
        1, len(models), figsize=(3.2 * len(models), 3.6)
    )
    for axis, (name, vae) in zip(axes, models.items()):
        grid = image_grid(vae.sample(64, seed=0), columns=8)
        axis.imshow(grid, cmap="gray", vmin=0, vmax=255)
        axis.set_title(
            f"{LABELS[name]}\nNLL {rows[name]['nll']:.2f}", fontsize=10
        )
        axis.axis("off")
    figure.tight_layout()
    with atomic_path(path, keep_extension=True) as temporary:
        figure.savefig(temporary, dpi=100, bbox_inches="tight")
    plt.close(figure)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--warmup-epochs", type=int, default=10)
    parser.add_argument("--num-samples", type=int, default=1000)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--directory", default="artifacts/compare_priors")
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="train nothing: report the configs that are done, mark the "
        "others unfinished, and write the docs' table",
    )
    args = parser.parse_args()

    import numpy as np

    import keras_vae

    names = [n for n in args.configs.split(",") if n]
    for name in names:
        if name not in CONFIGS:
            parser.error(f"unknown config {name!r}; choose from {CONFIGS}")
    os.makedirs(args.directory, exist_ok=True)
    x, _ = keras_vae.datasets.load_binarized_test_set("mnist")
    if args.limit:
        x = x[: args.limit]
    rows = {}
    models = {}
    for name in names:
        if args.report_only:
            unfinished = _unfinished(name, args, len(x))
            if unfinished:
                rows[name] = {"unfinished": unfinished}
                print(f"{name}: {unfinished}", flush=True)
                continue
        vae, seconds = train(name, args, args.directory)
        scores = os.path.join(
            args.directory, f"{name}.k{args.num_samples}.n{len(x)}.npy"
        )
        if not os.path.exists(scores):
            log_px = vae.log_likelihood(
                x,
                num_samples=args.num_samples,
                seed=0,
                progress_path=scores + ".progress.npz",
            )
            with keras_vae.utils.atomic_write(scores, "wb") as f:
                np.save(f, log_px)
        log_px = np.load(scores)
        models[name] = vae
        rows[name] = {
            "nll": float(-log_px.mean()),
            "seconds_per_epoch": round(seconds, 1),
            "log_px": log_px,
        }
        print(f"{name}: test NLL {rows[name]['nll']:.2f}", flush=True)

    print(
        f"\nmnist_mlp_32 architecture, {args.epochs} epochs, test NLL with "
        f"k={args.num_samples} on {len(x)} images (nats)"
    )
    print(f"{'config':<10}{'NLL':>9}{'vs standard':>20}{'s/epoch':>9}")
    base = rows.get("standard")
    for name, row in rows.items():
        if "unfinished" in row:
            print(f"{name:<10}{row['unfinished']:>38}")
            continue
        if base is not None and name != "standard":
            difference = base["log_px"] - row["log_px"]  # NLL(row) - NLL(b)
            row["difference"] = float(difference.mean())
            row["difference_standard_error"] = float(
                difference.std(ddof=1) / np.sqrt(len(difference))
            )
            versus = (
                f"{row['difference']:+.2f} +/- "
                f"{row['difference_standard_error']:.2f}"
            )
        else:
            versus = "-"
        print(
            f"{name:<10}{row['nll']:>9.2f}{versus:>20}"
            f"{row['seconds_per_epoch']:>9.1f}"
        )
    full = (
        not args.limit
        and args.epochs >= 50
        and args.num_samples >= 1000
        and len(rows) == len(CONFIGS)
    )
    if not (full or (args.report_only and not args.limit)):
        return
    import keras

    samples_figure(
        models,
        {n: r for n, r in rows.items() if n in models},
        os.path.join("docs", "figures", FIGURE),
    )
    path = os.path.join("docs", "benchmarks.json")
    with open(path) as f:
        benchmarks = json.load(f)
    benchmarks["priors"] = {
        "command": "python benchmarks/compare_priors.py",
        "hardware": "this project's shared 2-core CPU machine",
        "date": time.strftime("%Y-%m-%d"),
        "keras_vae_version": keras_vae.__version__,
        "backend": keras.backend.backend(),
        "epochs": args.epochs,
        "num_samples": args.num_samples,
        "num_images": len(x),
        "results": [
            {k: v for k, v in row.items() if k != "log_px"} | {"config": n}
            for n, row in rows.items()
        ],
    }
    with keras_vae.utils.atomic_write(path, "w") as f:
        json.dump(benchmarks, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
