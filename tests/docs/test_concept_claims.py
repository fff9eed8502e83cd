"""The concepts pages claim only what their figures' numbers show.

`scripts/make_figures.py` records the numbers behind each figure in
`docs/figures/figures.json`. These tests read them and check, for the
pages that quote them, that each sentence's claim holds for them (without
the KL term the prior's draws are worse by the stated measures, the
train/test gap is larger, ...) and that every number the text quotes is the
recorded one, so that a redrawn figure with other numbers fails here until
the text is updated. Nothing here trains or loads a model.
"""

import importlib.util
import json
import os
import re

import numpy as np
import pytest
from _blocks import DOCS
from _blocks import REPO

with open(os.path.join(DOCS, "figures", "figures.json")) as f:
    MANIFEST = json.load(f)

RESULTS = MANIFEST["kl_ablation"]["details"]["results"]
WITH = RESULTS["mlp_32d_beta_1"]  # The 32-d model with the KL term.
WITHOUT = RESULTS["mlp_32d_beta_0"]
PLANE_WITH = RESULTS["mlp_2d_beta_1"]
PLANE_WITHOUT = RESULTS["mlp_2d_beta_0"]
JUDGE = RESULTS["judge"]
SWEEP = [RESULTS[f"mlp_32d_beta_{b}"] for b in ("1", "0.3", "0.1", "0.01", "0")]


def page(name):
    """The text of a concepts page, its lines joined by single spaces."""
    with open(os.path.join(DOCS, "concepts", name)) as f:
        return re.sub(r"\s+", " ", f.read())


def percent(fraction):
    return f"{100 * fraction:.0f}%"


def nats(value):
    return f"{value:.0f}"


def assert_quoted(text, *phrases):
    for phrase in phrases:
        assert phrase in text, f"the page does not say {phrase!r}"


# ----------------------------------------------------------------------
# concepts/kl-regularizer.md


def test_ablation_models_were_trained_alike_from_scratch():
    entry = MANIFEST["kl_ablation"]
    assert entry["source"] == "trained" and entry["models"] == {}
    protocol = entry["details"]["protocol"]
    for name, numbers in RESULTS.items():
        if name == "judge":
            continue
        assert numbers["epochs"] == protocol["epochs"], name
        assert numbers["images"] == protocol["images"], name
        assert numbers["hidden"] == protocol["hidden"], name
    text = page("kl-regularizer.md")
    assert_quoted(
        text,
        f"{protocol['epochs']} epochs on the first "
        f"{protocol['images']:,} MNIST training images",
        "from random weights",
    )
    # The sweep's figure uses the same models.
    assert MANIFEST["kl_beta_sweep"]["details"]["protocol"] == protocol


def test_without_kl_the_balls_shrink_to_points():
    assert PLANE_WITHOUT["median_sd"] < 1e-6
    assert PLANE_WITHOUT["sd_at_floor"] > 0.25  # "many at the floor"
    assert PLANE_WITH["median_sd"] > 1e4 * PLANE_WITHOUT["median_sd"]
    assert_quoted(
        page("kl-regularizer.md"),
        "below 10⁻⁶",
        f"{percent(PLANE_WITHOUT['sd_at_floor'])} of them at the encoder's "
        "floor",
        f"with it, {PLANE_WITH['median_sd']:.2g}",
    )


def test_without_kl_the_means_fly_apart():
    assert PLANE_WITHOUT["mean_radius_99"] > 10 * PLANE_WITH["mean_radius_99"]
    assert PLANE_WITH["means_within_3"] > 0.9
    assert PLANE_WITHOUT["means_within_3"] < 0.05
    assert_quoted(
        page("kl-regularizer.md"),
        f"99% of the training images' means lie within "
        f"{PLANE_WITH['mean_radius_99']:.1f} of the origin, and "
        f"{percent(PLANE_WITH['means_within_3'])} of them inside the prior's "
        "circle at 3 standard deviations",
        f"99% within {PLANE_WITHOUT['mean_radius_99']:.0f}, and "
        f"{percent(PLANE_WITHOUT['means_within_3'])} inside that circle",
    )


def test_without_kl_the_prior_draws_are_worse():
    # Measurably worse by both measures, by a margin far beyond noise.
    assert WITHOUT["recognised"] < WITH["recognised"] - 0.2
    assert WITHOUT["frechet"] > 2 * WITH["frechet"]
    # The control: the judge reads both decoders' reconstructions alike,
    # and real digits better than either.
    control = (
        WITH["reconstructions_recognised_correctly"],
        WITHOUT["reconstructions_recognised_correctly"],
    )
    assert abs(control[0] - control[1]) < 0.05
    assert min(control) > 0.8
    assert JUDGE["real_recognised_correctly"] > max(control)
    assert JUDGE["frechet_real_vs_real"] < WITH["frechet"] / 5
    assert_quoted(
        page("kl-regularizer.md"),
        f"it recognises (one class with probability at least "
        f"{JUDGE['confident']:g}) {percent(WITH['recognised'])} with the KL "
        f"term and {percent(WITHOUT['recognised'])} without",
        f"is {nats(WITH['frechet'])} with the KL term and "
        f"{nats(WITHOUT['frechet'])} without",
        f"(two halves of the real test set: {JUDGE['frechet_real_vs_real']})",
        f"{percent(control[0])} and {percent(control[1])} of their "
        "reconstructions",
        f"{percent(JUDGE['real_recognised_correctly'])} of the real images",
        f"Of {JUDGE['prior_draws']:,} decoded draws",
        f"trained on the {JUDGE['images']:,} real MNIST",
    )


def test_without_kl_the_train_test_gap_is_larger():
    assert WITHOUT["gap"] > WITH["gap"]
    ratio = WITHOUT["gap"] / WITH["gap"]
    assert 4.5 <= ratio < 5.0, ratio  # "nearly five times as large"
    assert WITHOUT["train_reconstruction"] < 1.0  # "almost perfectly"
    assert WITH["gap"] > 50  # "a large gap too"
    assert_quoted(
        page("kl-regularizer.md"),
        f"({WITHOUT['train_reconstruction']:.2f} nats per image)",
        f"test images at {nats(WITHOUT['test_reconstruction'])} nats: a gap "
        f"of {nats(WITHOUT['gap'])} nats",
        f"With it, {nats(WITH['train_reconstruction'])} and "
        f"{nats(WITH['test_reconstruction'])} nats: a gap of "
        f"{nats(WITH['gap'])}",
        f"{nats(WITH['gap'])} nats is a large gap too",
        "nearly five times as large",
    )


def test_the_2d_caution_about_confidence():
    assert PLANE_WITHOUT["recognised"] == 1.0  # "every one"
    assert PLANE_WITHOUT["classes_recognised"] == 2
    assert PLANE_WITH["classes_recognised"] == 10
    assert PLANE_WITHOUT["frechet"] > 2 * PLANE_WITH["frechet"]
    assert_quoted(
        page("kl-regularizer.md"),
        f"(100%, against {percent(PLANE_WITH['recognised'])} with it), but "
        f"as only {PLANE_WITHOUT['classes_recognised']} of the 10 digits: "
        f"the prior draws near the origin, where "
        f"{percent(PLANE_WITHOUT['means_within_3'])} of that model's codes "
        "lie",
        f"{nats(PLANE_WITHOUT['frechet'])} without the KL term, "
        f"{nats(PLANE_WITH['frechet'])} with it",
    )


def test_the_beta_sweep():
    gaps = [r["gap"] for r in SWEEP]
    recognised = [r["recognised"] for r in SWEEP]
    frechet = [r["frechet"] for r in SWEEP]
    # "at every step": the gap grows, both measures get worse.
    assert all(a < b for a, b in zip(gaps, gaps[1:])), gaps
    assert all(a > b for a, b in zip(recognised, recognised[1:]))
    assert all(a < b for a, b in zip(frechet, frechet[1:])), frechet
    # "The largest step is the last ... the gap nearly doubles".
    steps = np.diff(gaps)
    assert steps.argmax() == len(steps) - 1
    assert 1.8 < gaps[-1] / gaps[-2] < 2.0
    assert np.diff(frechet).argmax() == len(frechet) - 2

    def listed(values):
        return ", ".join(values[:-1]) + f" and {values[-1]}"

    assert_quoted(
        page("kl-regularizer.md"),
        f"({listed([nats(g) for g in gaps])} nats)",
        f"(recognised: {listed([percent(r) for r in recognised])};",
        f"Fréchet distance: {listed([nats(f) for f in frechet])})",
        f"rises from {nats(frechet[-2])} to {nats(frechet[-1])}",
        f"at beta = 0.01 the judge recognises {percent(recognised[-2])} of "
        f"the draws, against {percent(recognised[-1])} at 0",
    )


def test_the_five_pictures_quote_the_ablation():
    assert_quoted(
        page("index.md"),
        f"recognises {percent(WITHOUT['recognised'])} of the prior's "
        f"draws, against {percent(WITH['recognised'])} with the KL term",
    )


# ----------------------------------------------------------------------
# concepts/latent-distributions.md and concepts/elbo.md


def test_the_ball_and_its_walk():
    balls = MANIFEST["latent_balls"]["details"]
    sampled = MANIFEST["sampling_decoding"]["details"]
    assert balls["sd"] == sampled["sd"]  # the same image on both figures
    walk = dict(zip(sampled["walk_sd"], sampled["walk_change"]))
    inside = max(walk[t] for t in walk if abs(t) <= 3)
    outside = max(walk[-12.0], walk[12.0])
    assert outside > 2 * inside  # the digit changes beyond the ball
    assert_quoted(
        page("latent-distributions.md"),
        f"({balls['sd'][0]:.3f} along `z[0]`, {balls['sd'][1]:.3f} along "
        "`z[1]`)",
        f"by at most {sampled['largest_difference']:.2f} in a pixel's "
        "probability",
        f"single pixels change by up to {inside:.2f}",
        f"(pixels by up to {outside:.2f})",
    )


def test_the_elbo_subset_sentence():
    details = MANIFEST["elbo_vs_k"]["details"]
    ks, nll = details["ks"], details["nll"]
    with open(
        os.path.join(
            REPO, "keras_vae", "presets", "mnist_mlp_32", "metadata.json"
        )
    ) as f:
        metrics = json.load(f)["metrics"]
    whole_elbo, whole_nll = -metrics["elbo"], metrics["nll"]
    # The figure's grey squares are these numbers.
    assert details["whole_test_set"]["nll"] == pytest.approx(whole_nll)
    assert details["whole_test_set"]["negative_elbo"] == pytest.approx(
        whole_elbo
    )
    subset_gain, whole_gain = nll[0] - nll[-1], whole_elbo - whole_nll
    assert ks[0] == 1 and ks[-1] == metrics["num_importance_samples"]
    # "easier by about 3 nats at both ends", "about the same gain".
    assert abs((whole_elbo - nll[0]) - 3) < 0.5
    assert abs((whole_nll - nll[-1]) - 3) < 0.5
    assert abs(subset_gain - whole_gain) < 0.3
    assert_quoted(
        page("elbo.md"),
        f"The figure's {nll[-1]:.1f} nats at k = {ks[-1]}",
        f"not the {whole_nll:.2f} that the",
        f"the first {details['nll_images']} test images",
        f"is {nll[0]:.1f} nats on them against {whole_elbo:.1f}",
        f"estimate {nll[-1]:.1f} against {whole_nll:.1f}",
        f"about the same, {subset_gain:.1f} nats on the "
        f"{details['nll_images']} images and {whole_gain:.1f} on all of them",
    )


# ----------------------------------------------------------------------
# The judge's Fréchet distance, against scipy's matrix square root.


def test_frechet_distance_matches_scipy():
    linalg = pytest.importorskip("scipy.linalg")
    spec = importlib.util.spec_from_file_location(
        "make_figures", os.path.join(REPO, "scripts", "make_figures.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    from docs_figures.kl_regularizer import frechet_distance

    rng = np.random.default_rng(0)
    a = rng.standard_normal((400, 6))
    b = 1.5 * rng.standard_normal((400, 6)) @ rng.standard_normal((6, 6))
    b += 0.3
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    expected = (
        np.sum((a.mean(0) - b.mean(0)) ** 2)
        + np.trace(cov_a)
        + np.trace(cov_b)
        - 2 * np.trace(np.real(linalg.sqrtm(cov_a @ cov_b)))
    )
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-6)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
