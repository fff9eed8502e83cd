"""docs/concepts/reparametrization.md: moving the noise aside."""

import numpy as np

from docs_figures._common import MNIST_2D
from docs_figures._common import label
from docs_figures._common import load_test_images
from docs_figures._common import one_per_class
from docs_figures._common import prior_circles
from docs_figures._common import pyplot
from docs_figures._common import save_png
from docs_figures._common import thumbnail
from docs_figures._registry import figure

PAGE = "concepts/reparametrization.md"


@figure("reparametrization", page=PAGE, source="diagram")
def reparametrization(models, args, path):
    plt = pyplot()

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6))
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
    fig.tight_layout()
    save_png(fig, path)
    return {}


@figure("reparam_shift", page=PAGE, model=MNIST_2D)
def reparam_shift(models, args, path):
    plt = pyplot()
    vae, info = models.get(MNIST_2D)
    if vae is None:
        return None
    images, labels = load_test_images("mnist", args.limit)
    i = one_per_class(labels)[args.zoom_digit]
    mean, log_var = vae.encode(images[i : i + 1])
    mean, std = mean[0], np.exp(0.5 * log_var[0])
    rng = np.random.default_rng(1)
    eps = rng.standard_normal((300, 2))
    z = mean + std * eps
    shade = np.arctan2(eps[:, 1], eps[:, 0])

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.6))
    left.scatter(eps[:, 0], eps[:, 1], c=shade, cmap="hsv", s=8)
    prior_circles(left, (1, 2))
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
    thumbnail(
        right,
        images[i],
        (mean[0] + 0.75 * reach, mean[1] + 0.75 * reach),
        zoom=1.2,
    )
    fig.suptitle(
        f"The same noise, shifted by μ and stretched by σ ({label(info)})"
    )
    fig.tight_layout()
    save_png(fig, path)
    return {"model": info}
