"""docs/concepts/elbo.md: the importance-weighted bounds."""

import json
import math
import os

from docs_figures._common import MNIST_32
from docs_figures._common import label
from docs_figures._common import pyplot
from docs_figures._common import save_png
from docs_figures._registry import figure
from keras_vae import datasets

PAGE = "concepts/elbo.md"


@figure("elbo_vs_k", page=PAGE, model=MNIST_32)
def elbo_vs_k(models, args, path):
    plt = pyplot()
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
    whole = _whole_test_set(models, info)
    fig, ax = plt.subplots(figsize=(7.5, 4.6))
    # The same images and importance samples at every k: the differences
    # between the points are much more certain than each point's spread
    # over images (its standard error is in figures.json).
    ax.plot(ks, means, marker="o", label=f"the first {len(x)} test images")
    if whole and whole["nll"] is not None and whole["negative_elbo"]:
        # The preset's own evaluation, on all the test images (the zoo's).
        ends = [1, whole["num_importance_samples"]]
        ax.plot(
            ends,
            [whole["negative_elbo"], whole["nll"]],
            "s",
            color="0.45",
            label=f"all {whole['images']:,} test images (the zoo's numbers)",
        )
        for k, m in zip(ends, (whole["negative_elbo"], whole["nll"])):
            ax.annotate(
                f"{m:.1f}",
                (k, m),
                textcoords="offset points",
                xytext=(6, 4),
                fontsize="small",
                color="0.35",
            )
        ax.legend(fontsize="small", frameon=False, loc="upper right")
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
        f"Importance-weighted bounds on the first {len(x)} binarized test "
        "images\n"
        f"({label(info)})",
        fontsize="medium",
    )
    fig.tight_layout()
    save_png(fig, path)
    return {
        "model": info,
        "nll_images": int(len(x)),
        "ks": ks,
        "nll": [round(float(m), 2) for m in means],
        "nll_standard_error": [round(float(e), 2) for e in errors],
        # The preset's own numbers, on the whole test set, for the page's
        # comparison of the subset with it.
        "whole_test_set": whole,
    }


def _whole_test_set(models, info):
    if info["kind"] != "preset":
        return None
    path = os.path.join(models.preset_dir(info["preset"]), "metadata.json")
    with open(path) as f:
        metrics = json.load(f).get("metrics", {})
    return {
        "images": 10000,
        "nll": metrics.get("nll"),
        "negative_elbo": -metrics["elbo"] if "elbo" in metrics else None,
        "num_importance_samples": metrics.get("num_importance_samples"),
    }
