"""docs/concepts/index.md: the idea in five pictures.

One small picture per concepts page, in the pages' order, each a summary of
that page's figures and drawn the same way (from `mnist_mlp_2` and
`mnist_mlp_32`; the fourth from the KL ablation's models, which no preset
could show: every preset is trained with the KL term).
"""

import numpy as np

from docs_figures import kl_regularizer
from docs_figures import latent_distributions
from docs_figures._common import MNIST_2D
from docs_figures._common import MNIST_32
from docs_figures._common import ink_grid
from docs_figures._common import label
from docs_figures._common import prior_circles
from docs_figures._common import pyplot
from docs_figures._common import save_png
from docs_figures._common import show_digit
from docs_figures._registry import figure

PAGE = "concepts/index.md"
SIZE = (11, 3.3)


@figure("idea_distribution", page=PAGE, model=MNIST_2D)
def idea_distribution(models, args, path):
    plt = pyplot()
    vae, info = models.get(MNIST_2D)
    if vae is None:
        return None
    images, labels, mean, std, i = latent_distributions.encode_one(vae, args)
    lo, hi = latent_distributions.ball_window(mean[i], std[i], args.ball_reach)
    mosaic, extent = latent_distributions.decoded_window(vae, lo, hi, 9)
    fig, (ax_x, ax_plane, ax_z) = plt.subplots(1, 3, figsize=(10, 3.6))
    show_digit(ax_x, images[i], "an image x")
    colors = plt.get_cmap("tab10")
    ax_plane.scatter(
        mean[:, 0], mean[:, 1], c=colors(labels), s=2, alpha=0.3, linewidths=0
    )
    from matplotlib.patches import Rectangle

    ax_plane.add_patch(
        Rectangle(lo, *(hi - lo), fill=False, edgecolor="black", linewidth=2)
    )
    ax_plane.set_xlim(-3.5, 3.5)
    ax_plane.set_ylim(-3.5, 3.5)
    ax_plane.set_aspect("equal")
    ax_plane.tick_params(labelsize=8)
    ax_plane.set_title("the latent plane (□: zoomed)", fontsize="medium")
    ax_z.imshow(mosaic, cmap="gray", vmin=0, vmax=255, extent=extent)
    latent_distributions.draw_ball(ax_z, mean[i], std[i], fill=False)
    ax_z.set_xlim(extent[0], extent[1])
    ax_z.set_ylim(extent[2], extent[3])
    ax_z.set_aspect("equal")
    ax_z.set_xticks([])
    ax_z.set_yticks([])
    ax_z.set_title("its ball q(z|x), decoded around", fontsize="medium")
    fig.suptitle(
        "1. The encoder maps x to a region: a Gaussian ball",
        x=0.02,
        ha="left",
    )
    fig.tight_layout()
    save_png(fig, path)
    return {"model": info}


@figure("idea_sampling", page=PAGE, model=MNIST_2D)
def idea_sampling(models, args, path):
    plt = pyplot()
    vae, info = models.get(MNIST_2D)
    if vae is None:
        return None
    _, _, means, stds, i = latent_distributions.encode_one(vae, args)
    mean, std = means[i], stds[i]
    eps = np.random.default_rng(0).standard_normal((6, 2)).astype("float32")
    z = mean + std * eps
    fig, (ax_z, ax_d) = plt.subplots(1, 2, figsize=SIZE, width_ratios=(1, 2))
    latent_distributions.draw_ball(ax_z, mean, std)
    for k, point in enumerate(z):
        ax_z.plot(*point, "o", color=latent_distributions.SAMPLE_COLOR)
        ax_z.annotate(
            str(k + 1), point, textcoords="offset points", xytext=(3, 3)
        )
    reach = 3.4 * std.max()
    ax_z.set_xlim(mean[0] - reach, mean[0] + reach)
    ax_z.set_aspect("equal", adjustable="datalim")
    ax_z.set_xticks([])
    ax_z.set_yticks([])
    ax_z.set_title("six samples z from the ball", fontsize="medium")
    ax_d.imshow(
        ink_grid(vae.decode(z), columns=6), cmap="gray", vmin=0, vmax=255
    )
    ax_d.axis("off")
    ax_d.set_title("decoder(z) for samples 1-6", fontsize="medium")
    fig.suptitle("2. Training samples a code and decodes it", x=0.02, ha="left")
    fig.tight_layout()
    save_png(fig, path)
    return {"model": info}


@figure("idea_reparametrization", page=PAGE, model=MNIST_2D)
def idea_reparametrization(models, args, path):
    plt = pyplot()
    vae, info = models.get(MNIST_2D)
    if vae is None:
        return None
    _, _, means, stds, i = latent_distributions.encode_one(vae, args)
    mean, std = means[i], stds[i]
    eps = np.random.default_rng(1).standard_normal((300, 2))
    z = mean + std * eps
    shade = np.arctan2(eps[:, 1], eps[:, 0])
    fig, (left, right) = plt.subplots(1, 2, figsize=SIZE)
    left.scatter(eps[:, 0], eps[:, 1], c=shade, cmap="hsv", s=6)
    prior_circles(left, (1, 2))
    left.set_xlim(-3.5, 3.5)
    left.set_ylim(-3.5, 3.5)
    left.set_aspect("equal")
    left.set_title("noise ε ~ N(0, I), an input", fontsize="medium")
    right.scatter(z[:, 0], z[:, 1], c=shade, cmap="hsv", s=6)
    reach = 3.5 * std.max()
    right.set_xlim(mean[0] - reach, mean[0] + reach)
    right.set_ylim(mean[1] - reach, mean[1] + reach)
    right.set_aspect("equal")
    right.set_title("z = μ + σ·ε for one image", fontsize="medium")
    for ax in (left, right):
        ax.tick_params(labelsize=8)
    fig.suptitle(
        "3. The reparametrization trick moves the noise aside",
        x=0.02,
        ha="left",
    )
    fig.tight_layout()
    save_png(fig, path)
    return {"model": info}


@figure("idea_kl", page=PAGE, source="trained")
def idea_kl(models, args, path):
    plt = pyplot()
    trained, numbers, _ = kl_regularizer.results(args)
    fig, axes = plt.subplots(1, 2, figsize=SIZE)
    for ax, beta in zip(axes, kl_regularizer.PLANE_BETAS):
        n = numbers[kl_regularizer._name(32, beta)]
        draws = trained[(32, beta)].sample(16, seed=0)
        ax.imshow(ink_grid(draws, columns=8), cmap="gray", vmin=0, vmax=255)
        ax.axis("off")
        ax.set_title(
            ("with" if beta else "without")
            + f" the KL term: a classifier recognises "
            f"{100 * n['recognised']:.0f}%\nreconstruction "
            f"{n['train_reconstruction']:.0f} nats (training), "
            f"{n['test_reconstruction']:.0f} (test)",
            fontsize="medium",
        )
    fig.suptitle(
        "4. The KL term against memorisation: prior draws with and without it",
        x=0.02,
        ha="left",
    )
    fig.tight_layout()
    save_png(fig, path)
    return {"protocol": kl_regularizer.protocol(args)}


@figure("idea_generation", page=PAGE, plane=MNIST_2D, samples=MNIST_32)
def idea_generation(models, args, path):
    plt = pyplot()
    plane, plane_info = models.get(MNIST_2D)
    sampler, sample_info = models.get(MNIST_32)
    if plane is None or sampler is None:
        return None
    fig, (left, right) = plt.subplots(1, 2, figsize=SIZE, width_ratios=(1, 2.2))
    ticks = np.linspace(-2.5, 2.5, 9)
    grid = np.stack(np.meshgrid(ticks, ticks[::-1]), -1).reshape(-1, 2)
    left.imshow(
        ink_grid(plane.decode(grid.astype("float32")), columns=9, padding=0),
        cmap="gray",
        vmin=0,
        vmax=255,
    )
    left.axis("off")
    left.set_title("the 2-d plane, decoded", fontsize="medium")
    right.imshow(
        ink_grid(sampler.sample(24, seed=0), columns=8),
        cmap="gray",
        vmin=0,
        vmax=255,
    )
    right.axis("off")
    right.set_title(
        f"decoded draws z ~ N(0, I) ({label(sample_info)})",
        fontsize="medium",
    )
    fig.suptitle(
        "5. New images: decode draws from the prior", x=0.02, ha="left"
    )
    fig.tight_layout()
    save_png(fig, path)
    return {"plane": plane_info, "samples": sample_info}
