"""`scripts/make_figures.py` redraws every figure from the presets.

Runs the script on tiny, untrained presets made in a temporary directory
(the same names and metadata as the zoo's), with small settings (the KL
ablation trains its models for one epoch on 64 images), and checks that it
draws each figure from them, records what drew it, and skips the figures
whose presets are missing.
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
    "--ablation-test-images",
    "200",
    "--judge-images",
    "256",
    "--judge-epochs",
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
        ["--presets-dir", str(presets), "--output", str(output)]
        + ["--quick-dir", str(tmp_path / "cache")]
        + SMALL
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
        assert entry["page"] == script.FIGURES[figure].page
        assert entry["command"].startswith(
            f"python scripts/make_figures.py {figure}"
        )
        if figure == "reparametrization":
            assert entry["source"] == "diagram"
            continue
        if figure in ("kl_ablation", "kl_beta_sweep", "idea_kl"):
            # Trained from random weights by the script, from no preset.
            assert entry["source"] == "trained", (figure, entry)
            assert entry["models"] == {}
            assert entry["details"]["protocol"]["images"] == 64
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
    results = manifest["kl_ablation"]["details"]["results"]
    for beta in ("1", "0"):
        numbers = results[f"mlp_32d_beta_{beta}"]
        assert 0.0 <= numbers["recognised"] <= 1.0
        assert numbers["frechet"] >= 0.0
        assert numbers["epochs"] == 1 and numbers["images"] == 64


def test_one_registry(script):
    """Every figure is registered once, by a module of its page, and every
    figure that a page shows is registered."""
    pages = {}
    for name, entry in script.FIGURES.items():
        assert entry.name == name
        assert os.path.isfile(os.path.join(REPO, "docs", entry.page)), entry
        pages.setdefault(entry.page, []).append(name)
        with open(os.path.join(REPO, "docs", entry.page)) as f:
            assert f"figures/{name}.png" in f.read(), (name, entry.page)
    with pytest.raises(ValueError, match="registered twice"):
        script.figure("latent_balls", page="x.md", source="diagram")
    with pytest.raises(ValueError, match="names no preset"):
        script.figure("new_figure", page="x.md")


def test_names_on_the_command_line(script, capsys):
    with pytest.raises(SystemExit):
        script.main(["no_such_figure"])
    assert "no figure no_such_figure" in capsys.readouterr().err
    assert script.main(["--list"]) == {"made": [], "skipped": []}
    assert "kl_ablation" in capsys.readouterr().out


def test_missing_presets_are_skipped(script, tmp_path, capsys):
    output = tmp_path / "figures"
    output.mkdir()
    (output / "latent_balls.png").write_bytes(b"previous version")
    from_presets = [
        name
        for name, entry in script.FIGURES.items()
        if entry.source != "trained"
    ]
    result = script.main(
        ["--presets-dir", str(tmp_path / "none"), "--output", str(output)]
        + ["--quick-dir", str(tmp_path / "cache")]
        + SMALL
        + from_presets
    )
    assert result["made"] == ["reparametrization"]  # the diagram alone
    assert "latent_balls" in result["skipped"]
    assert (output / "latent_balls.png").read_bytes() == b"previous version"
    printed = capsys.readouterr().out
    assert "skip latent_balls: no preset mnist_mlp_2" in printed
    assert "--quick" in printed
