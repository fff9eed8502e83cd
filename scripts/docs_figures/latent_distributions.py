"""docs/concepts/latent-distributions.md: the encoder outputs a ball.

At the scale of the whole latent plane a ball of `mnist_mlp_2` is smaller
than a dot (standard deviations of a few hundredths in a plane that spans
+-3), so both figures zoom in on one image's ball and decode the points
around it: inside the ball the decodings are the same digit, different in
small details that a difference map shows; far outside it, they change.
"""

import numpy as np

from docs_figures._common import MNIST_2D
from docs_figures._common import ellipse
from docs_figures._common import ink_grid
from docs_figures._common import label
from docs_figures._common import load_test_images
from docs_figures._common import one_per_class
from docs_figures._common import prior_circles
from docs_figures._common import pyplot
from docs_figures._common import save_png
from docs_figures._common import show_digit
from docs_figures._common import thumbnail
from docs_figures._registry import figure

PAGE = "concepts/latent-distributions.md"
BALL_COLOR = "tab:blue"
SAMPLE_COLOR = "tab:orange"


def encode_one(vae, args):
    """The test images, and the mean and sd of the zoomed image's ball."""
    images, labels = load_test_images("mnist", args.limit)
    mean, log_var = vae.encode(images)
    mean = np.asarray(mean)
    std = np.exp(0.5 * np.asarray(log_var))
    i = one_per_class(labels)[args.zoom_digit]
    return images, labels, mean, std, i


def ball_window(mean, std, reach):
    """The square window `reach` largest sds around `mean`: (lo, hi)."""
    half = reach * float(std.max())
    return mean - half, mean + half


def decoded_window(vae, lo, hi, cells):
    """The window decoded on a `cells` x `cells` grid, top row first:
    `(image, extent)` for `imshow`, dark digits on white."""
    xs = np.linspace(lo[0], hi[0], cells)
    ys = np.linspace(lo[1], hi[1], cells)[::-1]
    grid = np.stack(np.meshgrid(xs, ys), -1).reshape(-1, 2)
    decoded = vae.decode(grid.astype("float32"))
    step_x = (hi[0] - lo[0]) / (cells - 1)
    step_y = (hi[1] - lo[1]) / (cells - 1)
    extent = (
        lo[0] - step_x / 2,
        hi[0] + step_x / 2,
        lo[1] - step_y / 2,
        hi[1] + step_y / 2,
    )
    return ink_grid(decoded, columns=cells, padding=0), extent


def draw_ball(ax, mean, std, color=BALL_COLOR, fill=True):
    """The 1, 2 and 3 sd ellipses of a ball, and its mean (+)."""
    from matplotlib.patches import Ellipse

    for scale in (1.0, 2.0, 3.0):
        if fill:
            ellipse(ax, mean, std, color, scale, 0.06)
        ax.add_patch(
            Ellipse(
                mean,
                2 * scale * std[0],
                2 * scale * std[1],
                fill=False,
                edgecolor=color,
                linewidth=2.0,
            )
        )
    ax.plot(*mean, "+", color=color, markersize=14, markeredgewidth=2)


@figure("latent_balls", page=PAGE, model=MNIST_2D)
def latent_balls(models, args, path):
    plt = pyplot()
    vae, info = models.get(MNIST_2D)
    if vae is None:
        return None
    images, labels, mean, std, i = encode_one(vae, args)
    colors = plt.get_cmap("tab10")
    lo, hi = ball_window(mean[i], std[i], args.ball_reach)

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 6.2))
    left.scatter(
        mean[:, 0], mean[:, 1], c=colors(labels), s=3, alpha=0.35, linewidths=0
    )
    prior_circles(left)
    for j in one_per_class(labels):
        if np.abs(mean[j] - mean[i]).max() < 0.5:
            continue  # it would hide the zoomed window
        thumbnail(left, images[j], mean[j], zoom=0.7, color=colors(labels[j]))
    from matplotlib.patches import Rectangle

    left.add_patch(
        Rectangle(
            lo,
            *(hi - lo),
            fill=False,
            edgecolor="black",
            linewidth=2.0,
            zorder=10,
        )
    )
    left.annotate(
        "zoomed\non the right",
        hi,
        xytext=(hi[0] + 0.5, hi[1] + 0.9),
        fontsize="small",
        arrowprops={"arrowstyle": "->", "color": "black"},
    )
    left.set_xlim(-4, 4)
    left.set_ylim(-4, 4)
    left.set_aspect("equal")
    left.set_xlabel("z[0]")
    left.set_ylabel("z[1]")
    left.set_title(
        f"The means of q(z|x) for {len(images):,} test images\n"
        "(at this scale each ball is smaller than a dot)",
        fontsize="medium",
    )

    mosaic, extent = decoded_window(vae, lo, hi, args.window_cells)
    right.imshow(mosaic, cmap="gray", vmin=0, vmax=255, extent=extent)
    near = np.all((mean > lo) & (mean < hi), axis=1)
    near[i] = False
    right.scatter(
        mean[near, 0],
        mean[near, 1],
        c=colors(labels[near]),
        s=14,
        alpha=0.8,
        edgecolors="white",
        linewidths=0.4,
        zorder=3,
    )
    draw_ball(right, mean[i], std[i], fill=False)
    right.set_xlim(extent[0], extent[1])
    right.set_ylim(extent[2], extent[3])
    right.set_aspect("equal")
    right.set_xlabel("z[0]")
    right.set_title(
        f"Zoom on the ball of one test image: 1, 2, 3 sd\n"
        f"(sd {std[i, 0]:.3f} and {std[i, 1]:.3f}); the window decoded "
        "on a grid",
        fontsize="medium",
    )
    inset = right.inset_axes((1.03, 0.42, 0.22, 0.22))
    show_digit(inset, images[i], "the image x")
    fig.suptitle(f"The encoder maps an image to a region ({label(info)})")
    fig.tight_layout()
    save_png(fig, path)
    return {
        "model": info,
        "image_index": int(i),
        "sd": [round(float(s), 4) for s in std[i]],
        "window_sd": args.ball_reach,
        "near_means": int(near.sum()),
    }


@figure("sampling_decoding", page=PAGE, model=MNIST_2D)
def sampling_decoding(models, args, path):
    plt = pyplot()
    vae, info = models.get(MNIST_2D)
    if vae is None:
        return None
    images, labels, means, stds, i = encode_one(vae, args)
    x, mean, std = images[i], means[i], stds[i]
    rng = np.random.default_rng(0)
    eps = rng.standard_normal((12, 2)).astype("float32")
    z = mean + std * eps
    decoded = np.asarray(vae.decode(z))
    center = np.asarray(vae.decode(mean[None].astype("float32")))
    difference = decoded - center
    largest = float(np.abs(difference).max())
    # Along the ball's first axis, inside (1 and 3 sd) and well outside it.
    steps = np.array([-12.0, -6.0, -3.0, -1.0, 0.0, 1.0, 3.0, 6.0, 12.0])
    walk_z = np.repeat(mean[None], len(steps), 0).astype("float32")
    walk_z[:, 0] += steps * std[0]
    walk = np.asarray(vae.decode(walk_z))

    fig = plt.figure(figsize=(14, 7.6))
    grid = fig.add_gridspec(
        2, 4, width_ratios=(1, 1.5, 1.5, 1.5), height_ratios=(1, 0.62)
    )
    ax_x = fig.add_subplot(grid[0, 0])
    show_digit(ax_x, x, "x, a test image")

    ax_z = fig.add_subplot(grid[0, 1])
    draw_ball(ax_z, mean, std)
    for k, point in enumerate(z):
        ax_z.plot(*point, "o", color=SAMPLE_COLOR, markersize=5)
        ax_z.annotate(
            str(k + 1),
            point,
            textcoords="offset points",
            xytext=(3, 3),
            fontsize="x-small",
        )
    reach = 3.4 * std.max()
    ax_z.set_xlim(mean[0] - reach, mean[0] + reach)
    ax_z.set_ylim(mean[1] - reach, mean[1] + reach)
    ax_z.set_aspect("equal")
    ax_z.set_title("q(z|x): 1, 2, 3 sd,\nand 12 samples z", fontsize="medium")
    ax_z.tick_params(labelsize=8)

    ax_d = fig.add_subplot(grid[0, 2])
    ax_d.imshow(ink_grid(decoded, columns=4), cmap="gray", vmin=0, vmax=255)
    ax_d.set_title("decoder(z), samples 1-12", fontsize="medium")
    ax_d.axis("off")

    ax_c = fig.add_subplot(grid[0, 3])
    tiles = _difference_grid(difference, columns=4)
    shown = ax_c.imshow(tiles, cmap="RdBu_r", vmin=-largest, vmax=largest)
    ax_c.set_title(
        "each minus decoder(mean):\nred more ink, blue less",
        fontsize="medium",
    )
    ax_c.axis("off")
    bar = fig.colorbar(shown, ax=ax_c, fraction=0.04, pad=0.02)
    bar.ax.tick_params(labelsize=8)

    ax_w = fig.add_subplot(grid[1, :])
    ax_w.imshow(
        ink_grid(walk, columns=len(steps)), cmap="gray", vmin=0, vmax=255
    )
    ax_w.set_xticks(
        [(k + 0.5) * 30 for k in range(len(steps))],
        [f"{s:+g} sd" if s else "mean" for s in steps],
    )
    ax_w.set_yticks([])
    for spine in ax_w.spines.values():
        spine.set_visible(False)
    ax_w.set_title(
        "A walk along the ball's first axis, z[0] = mean + t sd: inside the "
        "ball (|t| <= 3) and beyond",
        fontsize="medium",
    )
    fig.suptitle(f"Encode, sample, decode ({label(info)})")
    fig.tight_layout()
    save_png(fig, path)
    return {
        "model": info,
        "image_index": int(i),
        "sd": [round(float(s), 4) for s in std],
        "largest_difference": round(largest, 3),
        "walk_sd": steps.tolist(),
        "walk_change": [
            round(float(np.abs(w - center[0]).max()), 3) for w in walk
        ],
    }


def _difference_grid(difference, columns, padding=2):
    """Tiles of signed differences, with NaN (blank) between them."""
    n = len(difference)
    rows = -(-n // columns)
    size = difference.shape[1]
    cell = size + padding
    tiles = np.full(
        (rows * cell - padding, columns * cell - padding), np.nan, "float32"
    )
    for k, d in enumerate(difference[..., 0]):
        r, c = divmod(k, columns)
        tiles[r * cell : r * cell + size, c * cell : c * cell + size] = d
    return tiles
