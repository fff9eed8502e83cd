"""docs/index.md: the home page's samples."""

import numpy as np

from docs_figures._common import FASHION_BEST
from docs_figures._common import MNIST_BEST
from docs_figures._common import ink_grid
from docs_figures._common import label
from docs_figures._common import pyplot
from docs_figures._common import save_png
from docs_figures._registry import figure

PAGE = "index.md"


@figure("home_samples", page=PAGE, mnist=MNIST_BEST, fashion_mnist=FASHION_BEST)
def home_samples(models, args, path):
    plt = pyplot()
    used = {}
    panels = []
    for role, title, candidates in (
        ("mnist", "MNIST", MNIST_BEST),
        ("fashion_mnist", "Fashion-MNIST", FASHION_BEST),
    ):
        name, kind = models.choose(candidates)
        if name is None:
            continue
        vae, info = models.load(name, kind)
        used[role] = info
        panels.append((title, info, vae.sample(64, seed=0)))
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 4.6))
    axes = np.atleast_1d(axes)
    for ax, (title, info, images) in zip(axes, panels):
        ax.imshow(ink_grid(images, columns=8), cmap="gray", vmin=0, vmax=255)
        ax.set_title(f"{title}: {label(info)}", fontsize="medium")
        ax.axis("off")
    fig.suptitle("New images: decoded draws from the prior N(0, I)")
    fig.tight_layout()
    save_png(fig, path)
    return used
