"""docs/concepts/generation.md: decoding draws from the prior."""

import numpy as np

from docs_figures._common import MNIST_2D
from docs_figures._common import MNIST_32
from docs_figures._common import ink_grid
from docs_figures._common import label
from docs_figures._common import pyplot
from docs_figures._common import save_png
from docs_figures._registry import figure

PAGE = "concepts/generation.md"


@figure("generation", page=PAGE, plane=MNIST_2D, samples=MNIST_32)
def generation(models, args, path):
    plt = pyplot()
    used = {}
    plane_name, plane_kind = models.choose(MNIST_2D)
    sample_name, sample_kind = models.choose(MNIST_32)
    if plane_name is None and sample_name is None:
        return None
    panels = int(plane_name is not None) + int(sample_name is not None)
    fig, axes = plt.subplots(1, panels, figsize=(5.2 * panels, 5.4))
    axes = list(np.atleast_1d(axes))
    if plane_name is not None:
        vae, info = models.load(plane_name, plane_kind)
        used["plane"] = info
        ax = axes.pop(0)
        ticks = np.linspace(-2.8, 2.8, 15)
        grid = np.stack(np.meshgrid(ticks, ticks[::-1]), -1).reshape(-1, 2)
        decoded = ink_grid(vae.decode(grid), columns=15, padding=0)
        ax.imshow(
            decoded,
            cmap="gray",
            vmin=0,
            vmax=255,
            extent=(-3.0, 3.0, -3.0, 3.0),
        )
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
            ink_grid(vae.sample(64, seed=0), columns=8),
            cmap="gray",
            vmin=0,
            vmax=255,
        )
        ax.set_title(
            "64 draws z ~ N(0, I), decoded\n(a 32-d latent space)",
            fontsize="medium",
        )
        ax.axis("off")
    fig.suptitle(
        " · ".join(label(info) for info in used.values()), fontsize="medium"
    )
    fig.tight_layout()
    save_png(fig, path)
    return used
