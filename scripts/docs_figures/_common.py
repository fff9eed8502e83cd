"""What the figures share: the models they draw from, and drawing helpers.

The one colour convention of the figures: digits, the data and the
decodings alike, are drawn dark on white (`ink_grid`, `show_digit`).
"""

import io
import json
import os
import time

import keras
import numpy as np

import keras_vae
from keras_vae import datasets
from keras_vae.utils import atomic_write
from keras_vae.utils import image_grid

REPO = os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
)
OUTPUT_DIR = os.path.join(REPO, "docs", "figures")
MANIFEST = "figures.json"
CACHE_DIR = os.path.join(REPO, "runs", "make_figures")

# The presets a figure draws from, best first. The last of each tuple is
# the one a `--quick` stand-in imitates.
MNIST_2D = ("mnist_mlp_2",)
MNIST_32 = ("mnist_mlp_32",)
MNIST_BEST = ("mnist_conv", "mnist_mlp_32")
FASHION_BEST = ("fashion_mnist_conv", "fashion_mnist_mlp_32")

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


def pyplot():
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
        pyplot().close(image_or_figure)
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


def load_test_images(dataset, limit):
    """The first `limit` test images (grey levels) and labels."""
    images, labels = datasets.load(dataset, "test")
    return images[:limit], labels[:limit]


def one_per_class(labels, count=10):
    """Indices of the first test image of each class."""
    return [int(np.flatnonzero(labels == c)[0]) for c in range(count)]


def thumbnail(ax, image, xy, zoom=0.9, color="black"):
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


def ellipse(ax, mean, std, color, scale=2.0, alpha=0.25):
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


def prior_circles(ax, radii=(1, 2, 3)):
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


def label(info):
    if info["kind"] == "preset":
        return f"preset {info['preset']}"
    return f"stand-in for {info['preset']}, --quick"


def ink_grid(images, columns=None, padding=2):
    """A grid of images drawn dark on white, with grey lines between them.

    Args:
        images: array `(n, 28, 28, 1)` of values in [0, 1] (pixel
            probabilities or grey levels, 1 = ink).
        columns: int or None. Images per row.
        padding: int. Pixels between images.

    Returns:
        A uint8 array `(H, W)`.
    """
    return image_grid(
        1.0 - np.asarray(images),
        columns=columns,
        padding=padding,
        pad_value=0.75,
    )


def show_digit(ax, image, title=None):
    """Draws one image (values in [0, 1], 1 = ink) dark on white."""
    ax.imshow(1.0 - np.asarray(image)[..., 0], cmap="gray", vmin=0, vmax=1)
    for spine in ax.spines.values():
        spine.set_visible(True)
        spine.set_color("0.6")
    ax.set_xticks([])
    ax.set_yticks([])
    if title is not None:
        ax.set_title(title, fontsize="medium")


def show_grid(ax, images, columns, title=None):
    """Draws `ink_grid(images, columns)` on `ax`, without axes."""
    ax.imshow(ink_grid(images, columns), cmap="gray", vmin=0, vmax=255)
    ax.axis("off")
    if title is not None:
        ax.set_title(title, fontsize="medium")
