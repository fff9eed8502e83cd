"""docs/tutorials/presets.md: what a preset does with test images."""

import numpy as np

from docs_figures._common import MNIST_32
from docs_figures._common import enlarge
from docs_figures._common import ink_grid
from docs_figures._common import load_test_images
from docs_figures._common import one_per_class
from docs_figures._common import save_png
from docs_figures._registry import figure
from keras_vae import datasets

PAGE = "tutorials/presets.md"


@figure("reconstructions", page=PAGE, model=MNIST_32)
def reconstructions(models, args, path):
    vae, info = models.get(MNIST_32)
    if vae is None:
        return None
    x, _ = datasets.load_binarized_test_set("mnist")
    x = x[:16]
    rows = np.concatenate([x, vae.reconstruct(x)])
    save_png(enlarge(ink_grid(rows, columns=16), 2), path)
    return {"model": info}


@figure("interpolation", page=PAGE, model=MNIST_32)
def interpolation(models, args, path):
    vae, info = models.get(MNIST_32)
    if vae is None:
        return None
    images, labels = load_test_images("mnist", args.limit)
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
    grid = ink_grid(np.concatenate(rows), columns=len(steps))
    save_png(enlarge(grid, 2), path)
    return {"model": info}
