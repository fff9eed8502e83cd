"""docs/concepts/kl-regularizer.md: the VAE with and without its KL term.

The ablation trains its own models from random weights, the same for every
KL weight `beta`: the MLP of the presets (784-512-256 and back), Adam
(learning rate 1e-3), batches of 100, `--ablation-epochs` epochs on the
first `--ablation-images` training images of MNIST, binarized once (so
that a model can learn them by heart), seed 0. Two latent sizes: 2-d, to
look at the plane, for beta 0 and 1; 32-d, for the samples, the
train/test gap and a small sweep of beta.

How good are the samples from the prior? An independent judge answers: a
small convolutional classifier trained on the 60,000 grey-level MNIST
training images (never on a VAE's output). For 1,000 decoded draws
z ~ N(0, I) of each model it gives

- `recognised`: the fraction that it assigns to one digit class with
  probability >= 0.9, and
- `frechet`: the Fréchet distance between the draws and 1,000 real test
  images in the classifier's last hidden layer (128 features): the FID of
  image-generation papers, with an MNIST classifier in place of Inception.
  0 means the same mean and covariance of features; lower is better.

As a control, the same classifier reads each model's reconstructions of
1,000 test images (the decoding of the mean of q(z|x)): it recognises
those for both models, so what it finds in the prior draws is the prior
draws' doing, not a dislike of decoded images.

The trained models and the classifier are cached in
`runs/make_figures/kl_ablation/`, by settings; `--retrain` trains them
again.
"""

import json
import os
import time

import keras
import numpy as np

import keras_vae
from docs_figures._common import ellipse
from docs_figures._common import ink_grid
from docs_figures._common import load_test_images
from docs_figures._common import one_per_class
from docs_figures._common import prior_circles
from docs_figures._common import pyplot
from docs_figures._common import save_png
from docs_figures._registry import figure
from keras_vae import datasets

PAGE = "concepts/kl-regularizer.md"
HIDDEN = (512, 256)
PLANE_BETAS = (1.0, 0.0)
SWEEP_BETAS = (1.0, 0.3, 0.1, 0.01, 0.0)
CONFIDENT = 0.9
LINEAR = 3.0
MIN_LOG_VAR = -30.0  # The floor of GaussianEncoderHead's log-variance.
PRIOR_DRAWS = 1000
JUDGED_IMAGES = 1000


def _directory(args):
    """Where the models of these settings are cached: other settings (the
    tests') never overwrite them."""
    return os.path.join(
        args.quick_dir,
        "kl_ablation",
        f"{args.ablation_images}_images_{args.ablation_epochs}_epochs",
    )


def _judge_directory(args):
    return os.path.join(
        args.quick_dir,
        "kl_ablation",
        f"judge_{args.judge_images}_images_{args.judge_epochs}_epochs",
    )


def _name(latent_dim, beta):
    return f"mlp_{latent_dim}d_beta_{beta:g}"


def training_data(args):
    """The ablation's training images, binarized once with seed 0."""
    images, _ = datasets.load("mnist", f"train[:{args.ablation_images}]")
    return datasets.binarize(images, seed=0)


def _train(args, x_train, latent_dim, beta):
    from zoo.architectures import mlp

    keras.utils.set_random_seed(0)
    encoder, decoder = mlp(latent_dim, hidden=HIDDEN)
    vae = keras_vae.VAE(
        encoder, decoder, latent_dim=latent_dim, beta=beta, seed=0
    )
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    began = time.time()
    history = vae.fit(
        x_train,
        epochs=args.ablation_epochs,
        batch_size=100,
        shuffle=True,
        verbose=0,
    )
    return vae, {
        "latent_dim": latent_dim,
        "beta": beta,
        "epochs": args.ablation_epochs,
        "images": int(len(x_train)),
        "hidden": list(HIDDEN),
        "seconds": round(time.time() - began, 1),
        "final_loss": round(float(history.history["loss"][-1]), 2),
    }


def ablation_model(args, latent_dim, beta, x_train=None):
    """The ablation's model of `latent_dim` and `beta`, trained (and cached
    in `runs/make_figures/kl_ablation/`) on first use.

    Returns:
        `(vae, record)`: the model and a dict saying how it was trained.
    """
    directory = os.path.join(_directory(args), _name(latent_dim, beta))
    record_path = os.path.join(directory, "training.json")
    if os.path.exists(record_path) and not args.retrain:
        with open(record_path) as f:
            record = json.load(f)
        if (
            record["epochs"] == args.ablation_epochs
            and record["images"] == args.ablation_images
        ):
            return keras_vae.VAE.from_preset(directory), record
    if x_train is None:
        x_train = training_data(args)
    print(
        f"  training {_name(latent_dim, beta)} from random weights: "
        f"{args.ablation_epochs} epochs on {len(x_train):,} images...",
        flush=True,
    )
    vae, record = _train(args, x_train, latent_dim, beta)
    os.makedirs(_directory(args), exist_ok=True)
    vae.save_to_preset(directory, metadata={"kl_ablation": record})
    with open(record_path, "w") as f:
        json.dump(record, f, indent=2)
    print(f"  ... {record['seconds']:.0f} s, loss {record['final_loss']}")
    return keras_vae.VAE.from_preset(directory), record


def classifier(args):
    """The judge: a small CNN trained on the grey-level MNIST training
    images, returning `(probabilities, features)`; cached."""
    path = os.path.join(_judge_directory(args), "classifier.keras")
    record_path = os.path.join(_judge_directory(args), "classifier.json")
    record = {"epochs": args.judge_epochs, "images": args.judge_images}
    if os.path.exists(record_path) and not args.retrain:
        with open(record_path) as f:
            if json.load(f) == record:
                return keras.saving.load_model(path)
    print(
        f"  training the judge, a CNN on {args.judge_images:,} MNIST images...",
        flush=True,
    )
    keras.utils.set_random_seed(0)
    x, y = datasets.load("mnist", f"train[:{args.judge_images}]")
    inputs = keras.Input((28, 28, 1))
    h = keras.layers.Conv2D(32, 3, activation="relu")(inputs)
    h = keras.layers.MaxPooling2D()(h)
    h = keras.layers.Conv2D(64, 3, activation="relu")(h)
    h = keras.layers.MaxPooling2D()(h)
    h = keras.layers.Flatten()(h)
    features = keras.layers.Dense(128, activation="relu", name="features")(h)
    probabilities = keras.layers.Dense(10, activation="softmax")(features)
    model = keras.Model(inputs, probabilities)
    model.compile(
        optimizer="adam",
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(x, y, epochs=args.judge_epochs, batch_size=128, verbose=0)
    model = keras.Model(inputs, [probabilities, features], name="judge")
    os.makedirs(_judge_directory(args), exist_ok=True)
    model.save(path)
    with open(record_path, "w") as f:
        json.dump(record, f)
    return model


def frechet_distance(a, b):
    """The Fréchet distance between Gaussians fitted to two feature sets.

    `|mean_a - mean_b|² + tr(cov_a) + tr(cov_b) - 2 tr((cov_a cov_b)^½)`,
    the trace of the root computed as that of the symmetric
    `(cov_a^½ cov_b cov_a^½)^½`, which stays real for singular matrices.
    """
    a = np.asarray(a, "float64")
    b = np.asarray(b, "float64")
    cov_a = np.cov(a, rowvar=False)
    cov_b = np.cov(b, rowvar=False)
    values, vectors = np.linalg.eigh(cov_a)
    root_a = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    inner = np.linalg.eigvalsh(root_a @ cov_b @ root_a)
    trace_root = np.sqrt(np.clip(inner, 0, None)).sum()
    distance = (
        np.sum((a.mean(0) - b.mean(0)) ** 2)
        + np.trace(cov_a)
        + np.trace(cov_b)
        - 2 * trace_root
    )
    return float(max(distance, 0.0))


def judge(model, images):
    """`(probabilities, features)` of the classifier, as numpy arrays."""
    probabilities, features = model.predict(
        np.asarray(images, "float32"), batch_size=500, verbose=0
    )
    return np.asarray(probabilities), np.asarray(features)


def measure(vae, judge_model, x_train, x_test, real):
    """The numbers the page quotes for one model (a dict)."""
    if not vae.compiled:
        vae.compile()  # `evaluate` needs it; it trains nothing
    train = vae.evaluate(x_train, batch_size=500, verbose=0, return_dict=True)
    test = vae.evaluate(x_test, batch_size=500, verbose=0, return_dict=True)
    draws = vae.sample(PRIOR_DRAWS, seed=0)
    probabilities, features = judge(judge_model, draws)
    real_probabilities, real_features = judge(judge_model, real["images"])
    reconstructions = vae.reconstruct(real["images_binary"])
    recon_probabilities, _ = judge(judge_model, reconstructions)
    recognised = probabilities.max(1) >= CONFIDENT
    mean, log_var = vae.encode(x_train)  # the images it was trained on
    log_var = np.asarray(log_var)
    std = np.exp(0.5 * log_var)
    radius = np.linalg.norm(np.asarray(mean), axis=1)
    return {
        "train_reconstruction": round(float(train["reconstruction"]), 2),
        "test_reconstruction": round(float(test["reconstruction"]), 2),
        "gap": round(
            float(test["reconstruction"] - train["reconstruction"]), 2
        ),
        "train_kl": round(float(train["kl"]), 2),
        "test_kl": round(float(test["kl"]), 2),
        "median_sd": float(f"{np.median(std):.3g}"),
        "mean_radius_99": round(float(np.percentile(radius, 99)), 2),
        "means_within_3": round(float(np.mean(radius <= 3.0)), 3),
        "sd_at_floor": round(float(np.mean(log_var <= MIN_LOG_VAR + 0.01)), 3),
        "recognised": round(float(recognised.mean()), 3),
        "classes_recognised": int(
            len(set(probabilities[recognised].argmax(1).tolist()))
        ),
        "frechet": round(frechet_distance(features, real_features), 1),
        "reconstructions_recognised_correctly": round(
            float(
                np.mean(
                    (recon_probabilities.max(1) >= CONFIDENT)
                    & (recon_probabilities.argmax(1) == real["labels"])
                )
            ),
            3,
        ),
        "real_recognised_correctly": round(
            float(
                np.mean(
                    (real_probabilities.max(1) >= CONFIDENT)
                    & (real_probabilities.argmax(1) == real["labels"])
                )
            ),
            3,
        ),
    }


def prepare(args):
    """Trains (or loads) every model of the ablation and the judge."""
    x_train = training_data(args)
    models = {}
    for beta in PLANE_BETAS:
        models[(2, beta)] = ablation_model(args, 2, beta, x_train)
    for beta in SWEEP_BETAS:
        models[(32, beta)] = ablation_model(args, 32, beta, x_train)
    return x_train, models, classifier(args)


_MEASURED = {}


def results(args):
    """Every ablation model, measured: `(models, numbers, x_train)`, with
    `models[(latent_dim, beta)] = vae` and `numbers[name] = dict`."""
    key = (
        args.quick_dir,
        args.ablation_images,
        args.ablation_epochs,
        args.ablation_test_images,
    )
    if key not in _MEASURED:
        x_train, trained, judge_model = prepare(args)
        x_binary, _ = datasets.load_binarized_test_set("mnist")
        x_test = x_binary[: args.ablation_test_images]
        images, labels = load_test_images("mnist", JUDGED_IMAGES)
        real = {
            "images": images,
            "labels": labels,
            "images_binary": x_binary[:JUDGED_IMAGES],
        }
        models, numbers = {}, {}
        for (latent_dim, beta), (vae, record) in trained.items():
            print(f"  measuring {_name(latent_dim, beta)}...", flush=True)
            models[(latent_dim, beta)] = vae
            numbers[_name(latent_dim, beta)] = {
                **record,
                **measure(vae, judge_model, x_train, x_test, real),
            }
        _, real_features = judge(judge_model, images)
        other, _ = load_test_images("mnist", 2 * JUDGED_IMAGES)
        _, other_features = judge(judge_model, other[JUDGED_IMAGES:])
        numbers["judge"] = {
            "epochs": args.judge_epochs,
            "images": args.judge_images,
            "confident": CONFIDENT,
            "prior_draws": PRIOR_DRAWS,
            "judged_test_images": JUDGED_IMAGES,
            # The Fréchet distance between two halves of the test set: what
            # "as good as real images" scores.
            "frechet_real_vs_real": round(
                frechet_distance(other_features, real_features), 1
            ),
            "real_recognised_correctly": numbers[_name(32, 1.0)][
                "real_recognised_correctly"
            ],
        }
        _MEASURED[key] = (models, numbers, x_train)
    return _MEASURED[key]


def protocol(args):
    return {
        "images": args.ablation_images,
        "epochs": args.ablation_epochs,
        "batch_size": 100,
        "optimizer": "Adam(1e-3)",
        "hidden": list(HIDDEN),
        "binarization": "static, seed 0",
        "test_images": args.ablation_test_images,
        "seed": 0,
    }


def _plane(ax, vae, images, labels, limit, colors, title):
    mean, log_var = vae.encode(images)
    mean = np.asarray(mean)
    std = np.exp(0.5 * np.asarray(log_var))
    ax.scatter(
        mean[:, 0],
        mean[:, 1],
        c=colors(labels),
        s=3,
        alpha=0.4,
        linewidths=0,
    )
    prior_circles(ax, (1, 2, 3))
    for i in one_per_class(labels):
        ellipse(ax, mean[i], std[i], colors(labels[i]), 2.0, 0.35)
    # The same axes for both models: linear within the prior's +-3,
    # logarithmic beyond, so that both a +-3 and a +-100 plane show.
    for axis in ("x", "y"):
        getattr(ax, f"set_{axis}scale")("symlog", linthresh=LINEAR)
        getattr(ax, f"set_{axis}lim")(-limit, limit)
    ticks = [-100, -10, -3, 0, 3, 10, 100]
    ticks = [t for t in ticks if abs(t) <= limit]
    ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.set_yticks(ticks, [str(t) for t in ticks])
    ax.set_aspect("equal")
    ax.set_xlabel("z[0] (linear within ±3, logarithmic beyond)")
    ax.set_title(title, fontsize="medium")
    return mean, std


@figure("kl_ablation", page=PAGE, source="trained")
def kl_ablation(models, args, path):
    plt = pyplot()
    trained, numbers, x_train = results(args)
    _, labels = datasets.load("mnist", f"train[:{args.ablation_images}]")
    colors = plt.get_cmap("tab10")
    means = {}
    for beta in PLANE_BETAS:
        mean, _ = trained[(2, beta)].encode(x_train)
        means[beta] = np.asarray(mean)
    limit = max(4.0, 1.3 * max(float(np.abs(m).max()) for m in means.values()))

    fig = plt.figure(figsize=(11.5, 16))
    grid = fig.add_gridspec(3, 2, height_ratios=(1.1, 1.0, 0.62))
    stds = {}
    for column, beta in enumerate(PLANE_BETAS):
        n2 = numbers[_name(2, beta)]
        n32 = numbers[_name(32, beta)]
        ax = fig.add_subplot(grid[0, column])
        _, stds[beta] = _plane(
            ax,
            trained[(2, beta)],
            x_train,
            labels,
            limit,
            colors,
            ("With" if beta else "Without")
            + f" the KL term (beta = {beta:g}), 2-d latent:\n"
            f"means of the {len(x_train):,} training images\n"
            f"median sd {n2['median_sd']:.2g}, 99% within "
            f"{n2['mean_radius_99']:.1f} of 0",
        )
        if column == 0:
            ax.set_ylabel("z[1]")
        ax = fig.add_subplot(grid[1, column])
        draws = trained[(32, beta)].sample(36, seed=0)
        ax.imshow(ink_grid(draws, columns=6), cmap="gray", vmin=0, vmax=255)
        ax.axis("off")
        ax.set_title(
            f"32-d latent, beta = {beta:g}: decoded draws z ~ N(0, I)\n"
            f"a classifier recognises {100 * n32['recognised']:.0f}% of "
            f"{PRIOR_DRAWS:,}; Fréchet distance {n32['frechet']:.0f}",
            fontsize="medium",
        )

    ax = fig.add_subplot(grid[2, 0])
    lowest = min(np.log10(s).min() for s in stds.values())
    bins = np.linspace(np.floor(lowest), 0.5, 50)
    for beta, color in zip(PLANE_BETAS, ("tab:blue", "tab:red")):
        ax.hist(
            np.log10(stds[beta].ravel()),
            bins=bins,
            color=color,
            alpha=0.6,
            label=f"beta = {beta:g}",
        )
    ax.axvline(0.0, color="0.4", linestyle="--", linewidth=1)
    ax.text(0.02, ax.get_ylim()[1] * 0.9, "prior\nsd = 1", fontsize="small")
    powers = np.arange(np.floor(lowest), 1, 2 if lowest < -4 else 1)
    ax.set_xticks(powers, [f"1e{p:.0f}" if p else "1" for p in powers])
    ax.set_xlabel("sd of q(z|x), 2-d latent, log scale")
    ax.set_ylabel("count (images × dims)")
    ax.legend(fontsize="small", frameon=False)
    ax.set_title(
        "How wide the balls are (2-d latent, training images)",
        fontsize="medium",
    )

    ax = fig.add_subplot(grid[2, 1])
    width = 0.38
    for k, beta in enumerate(PLANE_BETAS):
        n32 = numbers[_name(32, beta)]
        bars = ax.bar(
            [k - width / 2, k + width / 2],
            [n32["train_reconstruction"], n32["test_reconstruction"]],
            width,
            color=["0.55", "0.2"],
        )
        for bar in bars:
            ax.annotate(
                f"{bar.get_height():.0f}",
                (bar.get_x() + width / 2, bar.get_height()),
                ha="center",
                va="bottom",
                fontsize="small",
            )
    ax.set_xticks([0, 1], [f"beta = {b:g}" for b in PLANE_BETAS])
    ax.set_ylabel("reconstruction, nats/image")
    from matplotlib.patches import Patch

    ax.legend(
        handles=[
            Patch(color="0.55", label=f"{len(x_train):,} training images"),
            Patch(
                color="0.2",
                label=f"{args.ablation_test_images:,} test images",
            ),
        ],
        fontsize="small",
        frameon=False,
        loc="upper left",
    )
    top = max(numbers[_name(32, b)]["test_reconstruction"] for b in PLANE_BETAS)
    ax.set_ylim(0, top * 1.3)
    ax.set_title("32-d latent: training against test", fontsize="medium")
    fig.suptitle(
        f"The same MLP trained from random weights, {args.ablation_epochs} "
        f"epochs on {len(x_train):,} images, with and without the KL term",
    )
    fig.tight_layout()
    save_png(fig, path)
    return {
        "protocol": protocol(args),
        "results": numbers,
        "limit": round(float(limit), 2),
    }


@figure("kl_beta_sweep", page=PAGE, source="trained")
def kl_beta_sweep(models, args, path):
    plt = pyplot()
    _, numbers, x_train = results(args)
    betas = sorted(SWEEP_BETAS)
    rows = [numbers[_name(32, b)] for b in betas]
    positions = np.arange(len(betas))
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.6))
    left.plot(
        positions,
        [r["test_reconstruction"] for r in rows],
        "o-",
        color="0.2",
        label="reconstruction, test",
    )
    left.plot(
        positions,
        [r["train_reconstruction"] for r in rows],
        "o-",
        color="0.55",
        label="reconstruction, training",
    )
    left.plot(
        positions,
        [r["test_kl"] for r in rows],
        "s--",
        color="tab:purple",
        label="KL, test",
    )
    left.set_yscale("log")
    left.set_ylabel("nats per image (log scale)")
    left.legend(fontsize="small", frameon=False)
    left.set_title("What the codes cost and buy", fontsize="medium")
    right.plot(
        positions,
        [100 * r["recognised"] for r in rows],
        "o-",
        color="tab:blue",
    )
    right.set_ylabel("prior draws the judge recognises, %", color="tab:blue")
    right.set_ylim(0, 100)
    twin = right.twinx()
    twin.plot(positions, [r["frechet"] for r in rows], "s--", color="tab:red")
    twin.set_ylabel("Fréchet distance (lower is better)", color="tab:red")
    twin.set_ylim(0, None)
    twin.spines["right"].set_visible(True)
    right.set_title("How good the prior's samples are", fontsize="medium")
    for ax in (left, right):
        ax.set_xticks(positions, [f"{b:g}" for b in betas])
        ax.set_xlabel("beta, the weight of the KL term")
    fig.suptitle(
        f"32-d latent, trained from random weights {args.ablation_epochs} "
        f"epochs on {len(x_train):,} images, for each beta",
        fontsize="medium",
    )
    fig.tight_layout()
    save_png(fig, path)
    return {"protocol": protocol(args), "betas": betas}
