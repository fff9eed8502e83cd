"""The generated parts of the docs: zoo and benchmark tables, captions.

The functions of the docs hook (`docs/hooks/generated.py`) are called on
fake presets and benchmark results, and the figures the pages show are
checked against the manifest `scripts/make_figures.py` writes.
"""

import json
import os
import re

import pytest
from _blocks import DOCS
from _blocks import markdown_pages
from _fixtures import load_hook
from _fixtures import make_fake_preset

hook = load_hook()


def test_zoo_without_presets(tmp_path):
    assert hook.read_presets(str(tmp_path)) == []
    assert "No preset is published yet" in hook.zoo_table([])
    assert hook.zoo_details([]) == ""
    table = hook.nll_table([])
    assert "86.76" in table and "82.90" in table
    assert "not measured yet" in table


def test_zoo_with_presets(tmp_path):
    make_fake_preset(str(tmp_path), "fake_mlp_32", latent_dim=32)
    make_fake_preset(str(tmp_path), "fake_mlp_2", latent_dim=2)
    presets = hook.read_presets(str(tmp_path))
    assert [p["name"] for p in presets] == ["fake_mlp_2", "fake_mlp_32"]
    table = hook.zoo_table(presets)
    rows = [line for line in table.splitlines() if line.startswith("| [")]
    assert len(rows) == 2
    assert "**88.50** ± 0.27" in rows[0]
    assert "MLP 784-512-256" in rows[0]
    assert "zoo/fake_mlp_2/samples.png" in rows[0]
    assert "k = 5000" in table
    details = hook.zoo_details(presets)
    assert "## fake_mlp_2" in details
    assert "zoo/fake_mlp_2/latent_plane.png" in details
    assert "zoo/fake_mlp_32/latent_plane.png" not in details
    assert "`python -m zoo.train fake_mlp_32`" in details
    # Stopped time and run notes are for maintainers, not on the zoo page.
    assert "stopped" not in details and "pause" not in details
    notes = hook.zoo_run_notes(presets)
    assert "Not counted: 30 min while stopped" in notes
    assert "    - Epoch 3 includes a pause." in notes
    assert 'keras_vae.VAE.from_preset("fake_mlp_2")' in details
    nll = hook.nll_table(presets)
    assert "zoo.md#fake_mlp_2" in nll
    assert "not measured yet" not in nll


def test_benchmark_tables():
    empty = {"training_throughput": {"results": []}}
    assert "Not measured yet" in hook.throughput_table(empty)
    assert "Not measured yet" in hook.datasets_tables({})
    results = {
        "training_throughput": {
            "hardware": "2-core CPU",
            "date": "2026-11-24",
            "results": [
                {"backend": "jax", "keras_vae": 10757.2, "plain_keras": 10467}
            ],
        },
        "dataset_loading": {
            "load_seconds": {"mnist": 0.31},
            "pipeline_throughput": [
                {"backend": "jax", "pipeline": 9000.0, "arrays": 9200.0}
            ],
        },
    }
    table = hook.throughput_table(results)
    assert "| jax | 10,757 | 10,467 | 1.028 |" in table
    assert "2-core CPU" in table
    datasets = hook.datasets_tables(results)
    assert "| MNIST | 0.31 |" in datasets
    assert "| jax | 9,000 | 9,200 | 0.978 |" in datasets


def test_benchmarks_json_is_valid():
    with open(os.path.join(DOCS, "benchmarks.json")) as f:
        benchmarks = json.load(f)
    hook.throughput_table(benchmarks)
    hook.datasets_tables(benchmarks)


def test_figure_captions():
    manifest = {
        "a": {
            "command": "python scripts/make_figures.py",
            "models": {"model": {"kind": "preset", "preset": "mnist_mlp_2"}},
        },
        "b": {
            "command": "python scripts/make_figures.py --quick",
            "models": {
                "model": {
                    "kind": "stand-in",
                    "preset": "mnist_mlp_2",
                    "epochs": 17,
                    "images": 20000,
                    "seconds": 90.2,
                }
            },
        },
        "c": {"command": "python scripts/make_figures.py", "models": {}},
    }
    assert "[`mnist_mlp_2`](../zoo.md#mnist_mlp_2)" in hook.figure_caption(
        "a", manifest, "../zoo.md"
    )
    stand_in = hook.figure_caption("b", manifest)
    assert "--quick" in stand_in and "a stand-in" in stand_in
    assert "17 epochs on 20,000 images, 90 s" in stand_in
    assert hook.figure_caption("c", manifest).startswith("*Drawn by")
    assert hook.figure_caption("missing", manifest) is None


def _figures_shown():
    shown = {}
    for name, path in markdown_pages():
        with open(path) as f:
            text = f.read()
        for figure in re.findall(r"figures/([\w-]+)\.png", text):
            shown.setdefault(figure, []).append(name)
    return shown


def test_every_figure_shown_is_made_by_the_script():
    with open(os.path.join(DOCS, "figures", "figures.json")) as f:
        manifest = json.load(f)
    shown = _figures_shown()
    assert shown, "no page shows a figure"
    for figure, pages in shown.items():
        assert figure in manifest, f"{figure} (on {pages}) not in figures.json"
        path = os.path.join(DOCS, "figures", f"{figure}.png")
        assert os.path.isfile(path), path
        assert os.path.getsize(path) < 300_000, f"{path} is over 300 KB"


@pytest.mark.parametrize("figure", sorted(_figures_shown()))
def test_figure_has_a_caption_placeholder(figure):
    for name, path in markdown_pages():
        with open(path) as f:
            text = f.read()
        if f"figures/{figure}.png" in text:
            assert f"<!-- figure: {figure} -->" in text, (
                f"{name} shows {figure}.png without its caption placeholder"
            )
