"""Makes every figure of the documentation from the zoo presets.

    python scripts/make_figures.py            # every figure whose presets exist
    python scripts/make_figures.py --quick    # stand-ins for missing presets
    python scripts/make_figures.py latent_balls elbo_vs_k   # some figures
    python scripts/make_figures.py --list     # the figures and their pages

Each figure is drawn from the presets of `keras_vae/presets/` (the 2-d
latent `mnist_mlp_2` for the pictures of the latent plane, `mnist_mlp_32`
and the convolutional-encoder presets for samples, reconstructions and
likelihoods) and written to `docs/figures/<figure>.png`, with one line per
figure in `docs/figures/figures.json` saying what made it. The
documentation's hook turns that line into the figure's caption, so a page
always says which model drew its figures.

Where a figure's preset is not published yet the script says so and skips
the figure, leaving any previous version in place. With `--quick` it draws
the figure from a stand-in instead: a model of the preset's architecture
trained for `--quick-seconds` seconds on `--quick-images` training images
(cached in `runs/make_figures/`), and the caption says so. Rerun without
`--quick` once the presets are published.

The figures themselves are in `scripts/docs_figures/`, one module per docs
page, each figure one function registered with `@figure(...)`. The KL
ablation of `concepts/kl-regularizer.md` trains its own models from random
weights (see `docs_figures/kl_regularizer.py`), cached in
`runs/make_figures/kl_ablation/`.

The script reads the test images from `keras_vae.datasets` (run
`python -m keras_vae.datasets fetch mnist fashion_mnist` once first) and
runs on any Keras backend.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE), HERE]

from docs_figures import FIGURES  # noqa: E402, F401
from docs_figures import figure  # noqa: E402, F401
from docs_figures import main  # noqa: E402

if __name__ == "__main__":
    main()
