"""The documentation's figures: one module per docs page, one registry.

Each page's module draws the figures of that page, each with one function
registered by `@figure(name, page=..., role=presets...)`
(`docs_figures._registry`); `main` (`docs_figures.main`) draws them. To add
a figure, write one function in its page's module.

    python scripts/make_figures.py               # every figure
    python scripts/make_figures.py kl_ablation   # some figures
    python scripts/make_figures.py --quick       # stand-ins for missing presets
    python scripts/make_figures.py --list        # the figures and their pages
"""

# The page modules register their figures on import, in the docs' order.
from docs_figures import concepts_index  # noqa: F401
from docs_figures import elbo  # noqa: F401
from docs_figures import generation  # noqa: F401
from docs_figures import home  # noqa: F401
from docs_figures import kl_regularizer  # noqa: F401
from docs_figures import latent_distributions  # noqa: F401
from docs_figures import presets_tutorial  # noqa: F401
from docs_figures import reparametrization  # noqa: F401
from docs_figures._registry import FIGURES
from docs_figures._registry import figure
from docs_figures.main import main

__all__ = ["FIGURES", "figure", "main"]
