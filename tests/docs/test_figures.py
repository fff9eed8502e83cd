"""`scripts/make_figures.py` redraws every figure from the presets.

Runs the script on tiny, untrained presets made in a temporary directory
(the same names and metadata as the zoo's), with small settings, and checks
that it draws each figure from them, records what drew it, and skips the
figures whose presets are missing.
"""

import importlib.util
import json
import os

import pytest
from _blocks import REPO
from _fixtures import make_tiny_preset
from PIL import Image


def load_script():
    spec = importlib.util.spec_from_file_location(
        "make_figures", os.path.join(REPO, "scripts", "make_figures.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SMALL = [
    "--limit",
    "200",
    "--ablation-images",
    "64",
    "--ablation-epochs",
    "1",
    "--nll-images",
    "8",
    "--max-k",
    "5",
]


@pytest.fixture(scope="module")
def script():
    return load_script()


def test_figures_from_presets(script, tmp_path):
    presets = tmp_path / "presets"
    make_tiny_preset(str(presets), "mnist_mlp_2", 2)
    make_tiny_preset(str(presets), "mnist_mlp_32", 32)
    output = tmp_path / "figures"
    result = script.main(
        ["--presets-dir", str(presets), "--output", str(output)] + SMALL
    )
    assert result["skipped"] == []
    assert sorted(result["made"]) == sorted(script.FIGURES)
    with open(output / "figures.json") as f:
        manifest = json.load(f)
    assert sorted(manifest) == sorted(script.FIGURES)
    for figure, entry in manifest.items():
        path = output / entry["file"]
        with Image.open(path) as image:
            assert image.width > 100 and image.height > 50, figure
        if figure == "reparametrization":
            assert entry["source"] == "diagram"
            continue
        assert entry["source"] == "preset", (figure, entry)
        used = {info["preset"] for info in entry["models"].values()}
        assert used <= {"mnist_mlp_2", "mnist_mlp_32"}, used
    # No Fashion-MNIST preset: the home grid shows MNIST alone, and says
    # which preset is missing.
    assert manifest["home_samples"]["missing"] == [
        "fashion_mnist_conv or fashion_mnist_mlp_32"
    ]
    assert manifest["elbo_vs_k"]["details"]["ks"] == [1, 5]


def test_missing_presets_are_skipped(script, tmp_path, capsys):
    output = tmp_path / "figures"
    output.mkdir()
    (output / "latent_balls.png").write_bytes(b"previous version")
    result = script.main(
        ["--presets-dir", str(tmp_path / "none"), "--output", str(output)]
        + SMALL
    )
    assert result["made"] == ["reparametrization"]
    assert "latent_balls" in result["skipped"]
    assert (output / "latent_balls.png").read_bytes() == b"previous version"
    printed = capsys.readouterr().out
    assert "skip latent_balls: no preset mnist_mlp_2" in printed
    assert "--quick" in printed
