"""Makes every figure of the documentation from the zoo presets.

    python scripts/make_figures.py            # every figure whose presets exist
    python scripts/make_figures.py --quick    # stand-ins for missing presets
    python scripts/make_figures.py --only latent_balls elbo_vs_k

Each figure is drawn from the presets of `keras_vae/presets/` (the 2-d
latent `mnist_mlp_2` for the pictures of the latent plane, `mnist_mlp_32`
and the convolutional presets for samples, reconstructions and likelihoods)
and written to `docs/figures/<figure>.png`, with one line per figure in
`docs/figures/figures.json` saying what made it. The documentation's hook
turns that line into the figure's caption, so a page always says which
model drew its figures.

Where a figure's preset is not published yet the script says so and skips
the figure, leaving any previous version in place. With `--quick` it draws
the figure from a stand-in instead: a model of the preset's architecture
trained for `--quick-seconds` seconds on `--quick-images` training images
(cached in `runs/make_figures/`), and the caption says so. Rerun without
`--quick` once the presets are published.

The script reads the test images from `keras_vae.datasets` (run
`python -m keras_vae.datasets fetch mnist fashion_mnist` once first) and
runs on any Keras backend.
"""

import argparse
import datetime
import io
import json
import math
import os
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_vae  # noqa: E402
from keras_vae import datasets  # noqa: E402
from keras_vae.presets import PRESETS_DIR  # noqa: E402
from keras_vae.utils import atomic_write  # noqa: E402
from keras_vae.utils import image_grid  # noqa: E402

OUTPUT_DIR = os.path.join(REPO, "docs", "figures")
MANIFEST = "figures.json"
QUICK_DIR = os.path.join(REPO, "runs", "make_figures")

# Which presets a figure needs: role -> presets to use, best first. The
# last of each list is the one a `--quick` stand-in imitates.
MNIST_2D = ("mnist_mlp_2",)
MNIST_32 = ("mnist_mlp_32",)
MNIST_BEST = ("mnist_conv", "mnist_mlp_32")
FASHION_BEST = ("fashion_mnist_conv", "fashion_mnist_mlp_32")

FIGURES = {
    "home_samples": {"mnist": MNIST_BEST, "fashion_mnist": FASHION_BEST},
    "latent_balls": {"model": MNIST_2D},
    "sampling_decoding": {"model": MNIST_2D},
    "reparametrization": {},
    "reparam_shift": {"model": MNIST_2D},
    "kl_ablation": {"plane": MNIST_2D, "samples": MNIST_32},
    "generation": {"plane": MNIST_2D, "samples": MNIST_32},
    "elbo_vs_k": {"model": MNIST_32},
    "reconstructions": {"model": MNIST_32},
    "interpolation": {"model": MNIST_32},
}

# The stand-ins: a smaller MLP (784-512-256) with the preset's latent
# dimension, the preset's data set, and a multiple of `--quick-seconds` to
# train for (a 2-d latent plane takes longer to sort itself out).
STAND_INS = {
    "mnist_mlp_2": ("mnist", 2, 2.0),
    "mnist_mlp_32": ("mnist", 32, 1.0),
    "fashion_mnist_mlp_32": ("fashion_mnist", 32, 1.0),
}


# ----------------------------------------------------------------------
# Models: the presets, or stand-ins for the ones not published yet.


class Models:
    """Finds (and caches) the model for each preset a figure asks for."""

    def __init__(self, args):
        self.args = args
        self._cache = {}

    def preset_dir(self, name):
        return os.path.join(self.args.presets_dir, name)

    def available(self, name):
        return os.path.exists(
            os.path.join(self.preset_dir(name), "metadata.json")
        )

    def choose(self, candidates):
        """(name, kind) of the first published candidate, or a stand-in."""
        for name in candidates:
            if self.available(name):
                return name, "preset"
        if self.args.quick and candidates[-1] in STAND_INS:
            return candidates[-1], "stand-in"
        return None, None

    def get(self, candidates):
        """`(vae, info)` for the first published candidate or a stand-in,
        or `(None, None)`."""
        name, kind = self.choose(candidates)
        if name is None:
            return None, None
        return self.load(name, kind)

    def load(self, name, kind):
        key = (name, kind)
        if key not in self._cache:
            if kind == "preset":
                vae = keras_vae.VAE.from_preset(self.preset_dir(name))
                self._cache[key] = (vae, {"kind": "preset", "preset": name})
            else:
                self._cache[key] = self._stand_in(name)
        return self._cache[key]

    def _stand_in(self, name):
        dataset, latent_dim, budget = STAND_INS[name]
        seconds = budget * self.args.quick_seconds
        directory = os.path.join(self.args.quick_dir, name)
        info_path = os.path.join(directory, "stand_in.json")
        if os.path.exists(info_path) and not self.args.retrain:
            with open(info_path) as f:
                info = json.load(f)
            return keras_vae.VAE.from_preset(directory), info
        from zoo.architectures import mlp

        print(
            f"  training a stand-in for {name} for {seconds:g} s ({dataset}, "
            f"{self.args.quick_images} images)...",
            flush=True,
        )
        keras.utils.set_random_seed(0)
        encoder, decoder = mlp(latent_dim, hidden=(512, 256))
        vae = keras_vae.VAE(encoder, decoder, latent_dim=latent_dim, seed=0)
        vae.compile(optimizer=keras.optimizers.Adam(1e-3))
        train = datasets.load_dataset(
            dataset,
            f"train[:{self.args.quick_images}]",
            batch_size=128,
            binarization="dynamic",
            seed=0,
        )
        stopper = _TimeBudget(seconds)
        history = vae.fit(
            train, epochs=1000, callbacks=[stopper], shuffle=False, verbose=0
        )
        epochs = len(history.history["loss"])
        info = {
            "kind": "stand-in",
            "preset": name,
            "dataset": dataset,
            "latent_dim": latent_dim,
            "seconds": round(stopper.elapsed, 1),
            "epochs": epochs,
            "images": self.args.quick_images,
            "loss": round(float(history.history["loss"][-1]), 2),
        }
        os.makedirs(self.args.quick_dir, exist_ok=True)
        vae.save_to_preset(directory, metadata={"stand_in": info})
        with open(info_path, "w") as f:
            json.dump(info, f, indent=2)
        print(f"  ... {epochs} epochs, final loss {info['loss']:.1f} nats")
        return keras_vae.VAE.from_preset(directory), info


class _TimeBudget(keras.callbacks.Callback):
    """Stops training once `seconds` have passed (checked every batch)."""

    def __init__(self, seconds):
        super().__init__()
        self.seconds = seconds
        self.elapsed = 0.0

    def on_train_begin(self, logs=None):
        self._start = time.time()

    def on_train_batch_end(self, batch, logs=None):
        self.elapsed = time.time() - self._start
        if self.elapsed >= self.seconds:
            self.model.stop_training = True


# ----------------------------------------------------------------------
# Helpers.


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            "font.size": 13,
            "axes.titlesize": 13,
            "figure.titlesize": 15,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "figure.dpi": 100,
        }
    )
    return plt


def save_png(image_or_figure, path):
    """Writes a PNG, palette-quantized (small files, same look)."""
    from PIL import Image

    if isinstance(image_or_figure, np.ndarray):
        image = Image.fromarray(image_or_figure)
    else:
        buffer = io.BytesIO()
        image_or_figure.savefig(
            buffer,
            format="png",
            facecolor="white",
            bbox_inches="tight",
            pad_inches=0.15,
        )
        _pyplot().close(image_or_figure)
        buffer.seek(0)
        image = Image.open(buffer).convert("RGB")
    if image.mode != "L":
        image = image.quantize(
            colors=256,
            method=Image.Quantize.MEDIANCUT,
            dither=Image.Dither.NONE,
        )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    with atomic_write(path) as f:
        f.write(buffer.getvalue())
    return path


def enlarge(grid, scale):
    return np.repeat(np.repeat(grid, scale, axis=0), scale, axis=1)


def test_images(dataset, limit):
    """The first `limit` test images (grey levels) and labels."""
    images, labels = datasets.load(dataset, "test")
    return images[:limit], labels[:limit]


def one_per_class(labels, count=10):
    """Indices of the first test image of each class."""
    return [int(np.flatnonzero(labels == c)[0]) for c in range(count)]


def _thumbnail(ax, image, xy, zoom=0.9, color="black"):
    from matplotlib.colors import Normalize
    from matplotlib.offsetbox import AnnotationBbox
    from matplotlib.offsetbox import OffsetImage

    box = AnnotationBbox(
        OffsetImage(
            1.0 - image[..., 0], cmap="gray", zoom=zoom, norm=Normalize(0, 1)
        ),
        xy,
        frameon=True,
        pad=0.1,
        bboxprops={"edgecolor": color, "linewidth": 1.2},
    )
    ax.add_artist(box)


def _ellipse(ax, mean, std, color, scale=2.0, alpha=0.25):
    from matplotlib.patches import Ellipse

    ax.add_patch(
        Ellipse(
            mean,
            2 * scale * std[0],
            2 * scale * std[1],
            facecolor=color,
            edgecolor=color,
            alpha=alpha,
            linewidth=1.0,
        )
    )
    ax.add_patch(
        Ellipse(
            mean,
            2 * scale * std[0],
            2 * scale * std[1],
            fill=False,
            edgecolor=color,
            linewidth=1.2,
        )
    )


def _prior_circles(ax, radii=(1, 2, 3)):
    from matplotlib.patches import Circle

    for r in radii:
        ax.add_patch(
            Circle(
                (0, 0),
                r,
                fill=False,
                linestyle="--",
                linewidth=0.8,
                edgecolor="0.5",
            )
        )


def _label(info):
    if info["kind"] == "preset":
        return f"preset {info['preset']}"
    return f"stand-in for {info['preset']}, --quick"


# ----------------------------------------------------------------------
# The figures. Each takes (models, args, output path) and returns a dict of
# the models it used.


def fig_home_samples(models, args, path):
    plt = _pyplot()
    used = {}
    panels = []
    for role, title in (("mnist", "MNIST"), ("fashion_mnist", "Fashion-MNIST")):
        name, kind = models.choose(FIGURES["home_samples"][role])
        if name is None:
            continue
        vae, info = models.load(name, kind)
        used[role] = info
        panels.append((title, info, vae.sample(64, seed=0)))
    if not panels:
        return None
    figure, axes = plt.subplots(
        1, len(panels), figsize=(4.2 * len(panels), 4.6)
    )
    axes = np.atleast_1d(axes)
    for ax, (title, info, images) in zip(axes, panels):
        ax.imshow(image_grid(images, columns=8), cmap="gray", vmin=0, vmax=255)
        ax.set_title(f"{title}: {_label(info)}", fontsize="medium")
        ax.axis("off")
    figure.suptitle("New images: decoded draws from the prior N(0, I)")
    figure.tight_layout()
    save_png(figure, path)
    return used


def fig_latent_balls(models, args, path):
    plt = _pyplot()
    vae, info = models.get(MNIST_2D)
    if vae is None:
        return None
    images, labels = test_images("mnist", args.limit)
    mean, log_var = vae.encode(images)
    std = np.exp(0.5 * log_var)
    chosen = one_per_class(labels)
    colors = plt.get_cmap("tab10")

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 5.4))
    left.scatter(
        mean[:, 0], mean[:, 1], c=colors(labels), s=3, alpha=0.35, linewidths=0
    )
    _prior_circles(left)
    for i in chosen:
        _ellipse(left, mean[i], std[i], colors(labels[i]))
    for i in chosen:
        _thumbnail(left, images[i], mean[i], zoom=0.75, color=colors(labels[i]))
    left.set_xlim(-4, 4)
    left.set_ylim(-4, 4)
    left.set_aspect("equal")
    left.set_xlabel("z[0]")
    left.set_ylabel("z[1]")
    left.set_title(
        f"Means of q(z|x) for {len(images):,} test images;\n"
        "ten of them with their balls (2 standard deviations)"
    )

    # Zoom on one image: the ball is a whole region, not a point.
    i = chosen[args.zoom_digit]
    reach = max(4 * std[i].max(), 0.3)
    near = np.all(np.abs(mean - mean[i]) < reach, axis=1)
    right.scatter(
        mean[near, 0],
        mean[near, 1],
        c=colors(labels[near]),
        s=10,
        alpha=0.5,
        linewidths=0,
    )
    for scale, alpha in ((1.0, 0.25), (2.0, 0.12), (3.0, 0.06)):
        _ellipse(right, mean[i], std[i], colors(labels[i]), scale, alpha)
    right.plot(*mean[i], "k+", markersize=12)
    right.set_xlim(mean[i, 0] - reach, mean[i, 0] + reach)
    right.set_ylim(mean[i, 1] - reach, mean[i, 1] + reach)
    right.set_aspect("equal")
    right.set_xlabel("z[0]")
    right.set_title(
        f"Zoom on one image (a {labels[i]}): its mean (+) and\n"
        f"standard deviations ({std[i, 0]:.3f}, {std[i, 1]:.3f}), 1, 2, 3 sd"
    )
    _thumbnail(
        right,
        images[i],
        (mean[i, 0] + 0.72 * reach, mean[i, 1] + 0.72 * reach),
        zoom=1.4,
    )
    figure.suptitle(f"The encoder outputs a distribution ({_label(info)})")
    figure.tight_layout()
    save_png(figure, path)
    return {"model": info}


def fig_sampling_decoding(models, args, path):
    plt = _pyplot()
    vae, info = models.get(MNIST_2D)
    if vae is None:
        return None
    images, labels = test_images("mnist", args.limit)
    i = one_per_class(labels)[args.zoom_digit]
    x = images[i : i + 1]
    mean, log_var = vae.encode(x)
    std = np.exp(0.5 * log_var[0])
    rng = np.random.default_rng(0)
    eps = rng.standard_normal((12, 2)).astype("float32")
    z = mean + std * eps
    decoded = vae.decode(z)
    decoded_mean = vae.decode(mean)

    figure = plt.figure(figsize=(11, 3.8))
    grid = figure.add_gridspec(1, 4, width_ratios=(1, 1.6, 1.6, 1))
    ax_x = figure.add_subplot(grid[0])
    ax_x.imshow(1 - x[0, ..., 0], cmap="gray", vmin=0, vmax=1)
    ax_x.set_title("x, a test image")
    ax_x.axis("off")

    ax_z = figure.add_subplot(grid[1])
    _ellipse(ax_z, mean[0], std, "tab:blue", 2.0, 0.15)
    _ellipse(ax_z, mean[0], std, "tab:blue", 1.0, 0.15)
    ax_z.plot(*mean[0], "k+", markersize=12)
    for k, point in enumerate(z):
        ax_z.plot(*point, "o", color="tab:orange", markersize=4)
        ax_z.annotate(
            str(k + 1),
            point,
            textcoords="offset points",
            xytext=(3, 3),
            fontsize="x-small",
        )
    reach = 3 * std.max()
    ax_z.set_xlim(mean[0, 0] - reach, mean[0, 0] + reach)
    ax_z.set_ylim(mean[0, 1] - reach, mean[0, 1] + reach)
    ax_z.set_aspect("equal")
    ax_z.set_title("q(z|x) and 12 samples z")
    ax_z.tick_params(labelsize=7)

    ax_d = figure.add_subplot(grid[2])
    ax_d.imshow(image_grid(decoded, columns=4), cmap="gray", vmin=0, vmax=255)
    ax_d.set_title("decoder(z) for samples 1-12")
    ax_d.axis("off")

    ax_m = figure.add_subplot(grid[3])
    ax_m.imshow(decoded_mean[0, ..., 0], cmap="gray", vmin=0, vmax=1)
    ax_m.set_title("decoder(mean)")
    ax_m.axis("off")
    figure.suptitle(f"Encode, sample, decode ({_label(info)})")
    figure.tight_layout()
    save_png(figure, path)
    return {"model": info}


def fig_reparametrization(models, args, path):
    plt = _pyplot()

    figure, axes = plt.subplots(1, 2, figsize=(11, 4.6))
    blue, green, orange = "#dbe7f7", "#dff2df", "#fde3c8"
    red = "tab:red"

    def node(ax, xy, text, color, style="round,pad=0.45"):
        return ax.text(
            *xy,
            text,
            ha="center",
            va="center",
            fontsize="medium",
            bbox={"boxstyle": style, "facecolor": color, "edgecolor": "0.3"},
        )

    def arrow(ax, source, target, color="0.3", dashed=False, rad=0.0):
        ax.annotate(
            "",
            xy=(0.5, 0.5),
            xycoords=target,
            xytext=(0.5, 0.5),
            textcoords=source,
            arrowprops={
                "arrowstyle": "-|>",
                "color": color,
                "linewidth": 1.4,
                "linestyle": "--" if dashed else "-",
                "shrinkA": 0,
                "shrinkB": 0,
                "patchA": source.get_bbox_patch(),
                "patchB": target.get_bbox_patch(),
                "connectionstyle": f"arc3,rad={rad}",
                "mutation_scale": 14,
            },
        )

    for ax in axes:
        ax.set_xlim(0, 10)
        ax.set_ylim(0, 10)
        ax.axis("off")

    left, right = axes
    x = node(left, (1.0, 8.5), "x", blue)
    encoder = node(left, (3.3, 8.5), "encoder", blue)
    mu = node(left, (6.0, 9.4), "mean μ", blue)
    sigma = node(left, (6.0, 7.5), "std σ", blue)
    z = node(left, (6.0, 5.0), "z ~ N(μ, σ²)", orange, "round4,pad=0.45")
    loss = node(left, (6.0, 2.4), "decoder, loss", green)
    for a, b in ((x, encoder), (encoder, mu), (encoder, sigma), (sigma, z)):
        arrow(left, a, b)
    arrow(left, mu, z, rad=-0.5)
    arrow(left, z, loss)
    arrow(left, loss, z, red, dashed=True, rad=-0.5)
    left.text(5.1, 3.7, "∂loss/∂z", color=red, fontsize="small", ha="right")
    left.text(5.3, 6.25, "✗", color=red, fontsize=20, ha="center", va="center")
    left.text(
        4.8,
        6.25,
        "no gradient\nto μ and σ",
        color=red,
        fontsize="small",
        ha="right",
        va="center",
    )
    left.text(
        5.0,
        0.4,
        "Drawing z is not a function of μ and σ:\n"
        "backpropagation stops at the random node.",
        ha="center",
        va="center",
        fontsize="small",
    )
    left.set_title("Without the trick: a random node in the way")

    x = node(right, (1.0, 8.5), "x", blue)
    encoder = node(right, (3.3, 8.5), "encoder", blue)
    mu = node(right, (6.0, 9.4), "mean μ", blue)
    sigma = node(right, (6.0, 7.5), "std σ", blue)
    eps = node(right, (8.9, 7.5), "ε ~ N(0, I)", orange, "round4,pad=0.45")
    z = node(right, (6.0, 5.0), "z = μ + σ·ε", blue)
    loss = node(right, (6.0, 2.4), "decoder, loss", green)
    for a, b in ((x, encoder), (encoder, mu), (encoder, sigma), (sigma, z)):
        arrow(right, a, b)
    arrow(right, mu, z, rad=-0.5)
    arrow(right, eps, z)
    arrow(right, z, loss)
    arrow(right, loss, z, red, dashed=True, rad=-0.5)
    arrow(right, z, sigma, red, dashed=True, rad=-0.5)
    arrow(right, sigma, encoder, red, dashed=True, rad=-0.3)
    right.text(5.1, 3.7, "∂loss/∂z", color=red, fontsize="small", ha="right")
    right.text(
        0.2,
        6.0,
        "∂loss/∂μ = ∂loss/∂z\n∂loss/∂σ = ε · ∂loss/∂z",
        color=red,
        fontsize="small",
    )
    right.text(
        5.0,
        0.4,
        "The noise ε is an input; z is a differentiable function\n"
        "of μ and σ, so backpropagation reaches the encoder.",
        ha="center",
        va="center",
        fontsize="small",
    )
    right.set_title("With the trick: the noise moves aside")
    figure.tight_layout()
    save_png(figure, path)
    return {}


def fig_reparam_shift(models, args, path):
    plt = _pyplot()
    vae, info = models.get(MNIST_2D)
    if vae is None:
        return None
    images, labels = test_images("mnist", args.limit)
    i = one_per_class(labels)[args.zoom_digit]
    mean, log_var = vae.encode(images[i : i + 1])
    mean, std = mean[0], np.exp(0.5 * log_var[0])
    rng = np.random.default_rng(1)
    eps = rng.standard_normal((300, 2))
    z = mean + std * eps
    shade = np.arctan2(eps[:, 1], eps[:, 0])

    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4.6))
    left.scatter(eps[:, 0], eps[:, 1], c=shade, cmap="hsv", s=8)
    _prior_circles(left, (1, 2))
    left.set_xlim(-3.5, 3.5)
    left.set_ylim(-3.5, 3.5)
    left.set_aspect("equal")
    left.set_title("ε ~ N(0, I): the noise, the same for every image")
    right.scatter(z[:, 0], z[:, 1], c=shade, cmap="hsv", s=8)
    right.plot(*mean, "k+", markersize=12)
    reach = 3.5 * std.max()
    right.set_xlim(mean[0] - reach, mean[0] + reach)
    right.set_ylim(mean[1] - reach, mean[1] + reach)
    right.set_aspect("equal")
    right.set_title(
        f"z = μ + σ·ε for one test image (a {labels[i]}):\n"
        f"μ = ({mean[0]:.2f}, {mean[1]:.2f}), "
        f"σ = ({std[0]:.3f}, {std[1]:.3f})"
    )
    _thumbnail(
        right,
        images[i],
        (mean[0] + 0.75 * reach, mean[1] + 0.75 * reach),
        zoom=1.2,
    )
    figure.suptitle(
        f"The same noise, shifted by μ and stretched by σ ({_label(info)})"
    )
    figure.tight_layout()
    save_png(figure, path)
    return {"model": info}


def _fine_tune(vae, beta, x_train, epochs):
    """A copy of `vae` trained `epochs` more epochs with KL weight `beta`."""
    config = vae.get_config()
    config["beta"] = beta
    copy = keras_vae.VAE.from_config(config)
    copy(np.zeros((1, 28, 28, 1), "float32"))
    copy.set_weights(vae.get_weights())
    copy.compile(optimizer=keras.optimizers.Adam(1e-3))
    copy.fit(x_train, epochs=epochs, batch_size=100, verbose=0)
    return copy


def fig_kl_ablation(models, args, path):
    plt = _pyplot()
    plane_name, plane_kind = models.choose(MNIST_2D)
    sample_name, sample_kind = models.choose(MNIST_32)
    if plane_name is None or sample_name is None:
        return None
    plane_vae, plane_info = models.load(plane_name, plane_kind)
    sample_vae, sample_info = models.load(sample_name, sample_kind)
    # Copies trained further on a small training set, with the KL term
    # switched off (beta=0) and, for a fair comparison, on (beta=1).
    x_train = datasets.binarize(
        datasets.load("mnist", f"train[:{args.ablation_images}]")[0], seed=0
    )
    images, labels = test_images("mnist", args.limit)
    x_test = datasets.binarize(images[: len(x_train)], seed=0)
    colors = plt.get_cmap("tab10")
    chosen = one_per_class(labels)
    figure, axes = plt.subplots(2, 2, figsize=(11.5, 11.5))
    for column, beta in enumerate((1.0, 0.0)):
        plane = _fine_tune(plane_vae, beta, x_train, args.ablation_epochs)
        mean, log_var = plane.encode(images)
        std = np.exp(0.5 * log_var)
        ax = axes[0, column]
        ax.scatter(
            mean[:, 0],
            mean[:, 1],
            c=colors(labels),
            s=3,
            alpha=0.35,
            linewidths=0,
        )
        for i in chosen:
            _ellipse(ax, mean[i], std[i], colors(labels[i]), 2.0, 0.35)
        spread = float(np.percentile(np.abs(mean), 99))
        limit = max(4.0, spread * 1.1)
        ax.set_xlim(-limit, limit)
        ax.set_ylim(-limit, limit)
        ax.set_aspect("equal")
        _prior_circles(ax, (1, 2, 3))
        ax.set_title(
            ("With" if beta else "Without")
            + f" the KL term (beta = {beta:g})\n"
            f"2-d latent: median sd {np.median(std):.3f}, "
            f"99% of means in ±{spread:.1f}",
            fontsize="medium",
        )

        model = _fine_tune(sample_vae, beta, x_train, args.ablation_epochs)
        train = model.evaluate(x_train, verbose=0, return_dict=True)
        test = model.evaluate(x_test, verbose=0, return_dict=True)
        ax = axes[1, column]
        ax.imshow(
            image_grid(model.sample(36, seed=0), columns=6),
            cmap="gray",
            vmin=0,
            vmax=255,
        )
        ax.set_title(
            "32-d latent: decoded draws from N(0, I)\n"
            f"reconstruction {train['reconstruction']:.0f} nats (training "
            f"set), {test['reconstruction']:.0f} (test)\n"
            f"KL {test['kl']:.0f} nats",
            fontsize="medium",
        )
        ax.axis("off")
    figure.suptitle(
        f"Trained {args.ablation_epochs} more epochs on {len(x_train):,} "
        "images, with and without the KL term",
    )
    figure.tight_layout()
    save_png(figure, path)
    return {
        "plane": plane_info,
        "samples": sample_info,
        "ablation": {
            "epochs": args.ablation_epochs,
            "images": int(len(x_train)),
        },
    }


def fig_generation(models, args, path):
    plt = _pyplot()
    used = {}
    plane_name, plane_kind = models.choose(MNIST_2D)
    sample_name, sample_kind = models.choose(MNIST_32)
    if plane_name is None and sample_name is None:
        return None
    panels = int(plane_name is not None) + int(sample_name is not None)
    figure, axes = plt.subplots(1, panels, figsize=(5.2 * panels, 5.4))
    axes = list(np.atleast_1d(axes))
    if plane_name is not None:
        vae, info = models.load(plane_name, plane_kind)
        used["plane"] = info
        ax = axes.pop(0)
        ticks = np.linspace(-2.8, 2.8, 15)
        grid = np.stack(np.meshgrid(ticks, ticks[::-1]), -1).reshape(-1, 2)
        decoded = image_grid(vae.decode(grid), columns=15, padding=0)
        ax.imshow(decoded, cmap="gray", extent=(-3.0, 3.0, -3.0, 3.0))
        theta = np.linspace(0, 2 * np.pi, 200)
        for r in (1, 2):
            ax.plot(
                r * np.cos(theta), r * np.sin(theta), "--", color="tab:orange"
            )
        ax.set_title(
            "The 2-d latent plane, decoded on a grid\n"
            "(circles: 1 and 2 sd of the prior)",
            fontsize="medium",
        )
        ax.set_xlabel("z[0]")
        ax.set_ylabel("z[1]")
    if sample_name is not None:
        vae, info = models.load(sample_name, sample_kind)
        used["samples"] = info
        ax = axes.pop(0)
        ax.imshow(
            image_grid(vae.sample(64, seed=0), columns=8),
            cmap="gray",
            vmin=0,
            vmax=255,
        )
        ax.set_title(
            "64 draws z ~ N(0, I), decoded\n(a 32-d latent space)",
            fontsize="medium",
        )
        ax.axis("off")
    figure.suptitle(
        " · ".join(_label(info) for info in used.values()), fontsize="medium"
    )
    figure.tight_layout()
    save_png(figure, path)
    return used


def fig_elbo_vs_k(models, args, path):
    plt = _pyplot()
    vae, info = models.get(MNIST_32)
    if vae is None:
        return None
    x, _ = datasets.load_binarized_test_set("mnist")
    x = x[: args.nll_images]
    ks = [k for k in (1, 5, 50, 500, 5000) if k <= args.max_k]
    means, errors = [], []
    for k in ks:
        log_px = vae.log_likelihood(x, num_samples=k, seed=0, verbose=0)
        means.append(-log_px.mean())
        errors.append(log_px.std() / math.sqrt(len(log_px)))
        print(f"  k={k}: NLL {means[-1]:.2f} nats")
    figure, ax = plt.subplots(figsize=(7.5, 4.2))
    # The same images and importance samples at every k: the differences
    # between the points are much more certain than each point's spread
    # over images (its standard error is in figures.json).
    ax.plot(ks, means, marker="o")
    ax.set_xscale("log")
    ax.set_xlabel("k, importance samples per image")
    ax.set_ylabel("-log p(x) estimate, nats\n(lower is better)")
    for k, m in zip(ks, means):
        ax.annotate(
            f"{m:.1f}",
            (k, m),
            textcoords="offset points",
            xytext=(6, 4),
            fontsize="small",
        )
    ax.annotate(
        "k = 1: the negative ELBO",
        (ks[0], means[0]),
        xytext=(ks[min(2, len(ks) - 1)], means[0]),
        textcoords="data",
        va="center",
        fontsize="small",
        arrowprops={"arrowstyle": "->", "color": "0.4"},
    )
    ax.set_title(
        f"Importance-weighted bounds on {len(x)} binarized test images\n"
        f"({_label(info)})",
        fontsize="medium",
    )
    figure.tight_layout()
    save_png(figure, path)
    return {
        "model": info,
        "nll_images": int(len(x)),
        "ks": ks,
        "nll": [round(float(m), 2) for m in means],
        "nll_standard_error": [round(float(e), 2) for e in errors],
    }


def fig_reconstructions(models, args, path):
    vae, info = models.get(MNIST_32)
    if vae is None:
        return None
    x, _ = datasets.load_binarized_test_set("mnist")
    x = x[:16]
    rows = np.concatenate([x, vae.reconstruct(x)])
    save_png(enlarge(image_grid(rows, columns=16), 2), path)
    return {"model": info}


def fig_interpolation(models, args, path):
    vae, info = models.get(MNIST_32)
    if vae is None:
        return None
    images, labels = test_images("mnist", args.limit)
    ends = one_per_class(labels)
    pairs = [
        (ends[1], ends[7]),
        (ends[3], ends[8]),
        (ends[4], ends[9]),
        (ends[0], ends[6]),
    ]
    steps = np.linspace(0.0, 1.0, 10)[:, None]
    rows = []
    for a, b in pairs:
        mean, _ = vae.encode(images[[a, b]])
        path_z = (1 - steps) * mean[0] + steps * mean[1]
        rows.append(vae.decode(path_z))
    grid = image_grid(np.concatenate(rows), columns=len(steps))
    save_png(enlarge(grid, 2), path)
    return {"model": info}


DRAW = {
    "home_samples": fig_home_samples,
    "latent_balls": fig_latent_balls,
    "sampling_decoding": fig_sampling_decoding,
    "reparametrization": fig_reparametrization,
    "reparam_shift": fig_reparam_shift,
    "kl_ablation": fig_kl_ablation,
    "generation": fig_generation,
    "elbo_vs_k": fig_elbo_vs_k,
    "reconstructions": fig_reconstructions,
    "interpolation": fig_interpolation,
}


# ----------------------------------------------------------------------
# Main.


def read_manifest(output):
    path = os.path.join(output, MANIFEST)
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        return json.load(f)


def write_manifest(output, manifest):
    with atomic_write(os.path.join(output, MANIFEST), "w") as f:
        json.dump(dict(sorted(manifest.items())), f, indent=2)
        f.write("\n")


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python scripts/make_figures.py",
        description="Make the documentation's figures from the zoo presets.",
    )
    parser.add_argument(
        "--only", nargs="+", choices=sorted(FIGURES), help="these figures"
    )
    parser.add_argument("--output", default=OUTPUT_DIR)
    parser.add_argument(
        "--presets-dir",
        default=PRESETS_DIR,
        help="where the presets are (default: the package's)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="draw figures whose presets are missing from stand-ins",
    )
    parser.add_argument("--quick-seconds", type=float, default=45.0)
    parser.add_argument("--quick-images", type=int, default=20_000)
    parser.add_argument("--quick-dir", default=QUICK_DIR)
    parser.add_argument(
        "--retrain", action="store_true", help="retrain cached stand-ins"
    )
    parser.add_argument(
        "--limit", type=int, default=5000, help="test images to encode"
    )
    parser.add_argument("--zoom-digit", type=int, default=0)
    parser.add_argument("--ablation-images", type=int, default=1000)
    parser.add_argument("--ablation-epochs", type=int, default=60)
    parser.add_argument("--nll-images", type=int, default=200)
    parser.add_argument("--max-k", type=int, default=5000)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.output, exist_ok=True)
    models = Models(args)
    manifest = read_manifest(args.output)
    made, skipped = [], []
    for figure in args.only or list(FIGURES):
        missing = [
            " or ".join(candidates)
            for candidates in FIGURES[figure].values()
            if models.choose(candidates)[0] is None
        ]
        if missing and len(missing) == len(FIGURES[figure]):
            print(
                f"skip {figure}: no preset {', '.join(missing)} in "
                f"{args.presets_dir} yet (or rerun with --quick)"
            )
            skipped.append(figure)
            continue
        print(f"make {figure}...", flush=True)
        keras.utils.set_random_seed(0)
        path = os.path.join(args.output, f"{figure}.png")
        began = time.time()
        used = DRAW[figure](models, args, path)
        if used is None:
            skipped.append(figure)
            continue
        kinds = {
            v["kind"]
            for v in used.values()
            if isinstance(v, dict) and "kind" in v
        }
        manifest[figure] = {
            "file": f"{figure}.png",
            "source": (
                "diagram"
                if not kinds
                else "stand-in"
                if "stand-in" in kinds
                else "preset"
            ),
            "models": {
                role: info
                for role, info in used.items()
                if isinstance(info, dict) and "kind" in info
            },
            "details": {
                key: value
                for key, value in used.items()
                if not (isinstance(value, dict) and "kind" in value)
            },
            "missing": missing,
            "backend": keras.backend.backend(),
            "date": datetime.date.today().isoformat(),
            "command": "python scripts/make_figures.py"
            + (" --quick" if "stand-in" in kinds else ""),
        }
        size = os.path.getsize(path) // 1024
        print(f"  wrote {path} ({size} KB, {time.time() - began:.0f} s)")
        made.append(figure)
        write_manifest(args.output, manifest)
    print(
        f"made {len(made)} figure(s)"
        + (f", skipped {', '.join(skipped)}" if skipped else "")
    )
    return {"made": made, "skipped": skipped}


if __name__ == "__main__":
    main()
