"""The fine-tuning tutorial states only what its measurements show: every
number in its text is one of `docs/benchmarks.json`'s, and each claim holds
for them."""

import json
import os
import re

import pytest

DOCS = os.path.join(os.path.dirname(__file__), "..", "..", "docs")


@pytest.fixture(scope="module")
def rows():
    with open(os.path.join(DOCS, "benchmarks.json")) as f:
        entry = json.load(f)["finetune"]
    return {r["model"]: r for r in entry["results"]}


@pytest.fixture(scope="module")
def text():
    with open(os.path.join(DOCS, "tutorials", "finetune.md")) as f:
        page = f.read()
    return page[page.index("## What fine-tuning buys") :]


def test_every_number_quoted_is_measured(rows, text):
    measured = {
        round(r[key], 2)
        for r in rows.values()
        for key in ("fashion_mnist", "mnist")
    }
    quoted = {float(n) for n in re.findall(r"\b\d+\.\d\d\b", text)}
    assert quoted and quoted <= measured, quoted - measured


def test_the_claims_hold(rows):
    preset = rows["preset as published (no training)"]
    slow = rows["fine-tuned, KL weight 1 from the start"]
    warm = rows["fine-tuned, warm-up restarted (1 epoch)"]
    fast = rows["fine-tuned at learning rate 1e-3"]
    scratch = rows["same network from random weights"]
    # A preset knows its own data only.
    assert preset["fashion_mnist"] > 10 * preset["mnist"]
    # No head start: from scratch is at least as good as fine-tuning.
    assert (
        scratch["fashion_mnist"]
        <= fast["fashion_mnist"]
        <= slow["fashion_mnist"]
    )
    # A small learning rate forgets less.
    assert slow["mnist"] < fast["mnist"] < scratch["mnist"]
    # The warm-up restart changed nothing (within a nat).
    assert abs(warm["fashion_mnist"] - slow["fashion_mnist"]) < 1.0
