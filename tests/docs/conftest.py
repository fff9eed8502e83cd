"""Fixtures of the docs tests."""

import pytest
from _blocks import zoo_preset_names
from _fixtures import make_tiny_preset

from keras_vae.presets import _preset_io


@pytest.fixture(scope="session")
def zoo_stand_ins(tmp_path_factory):
    """A directory of tiny untrained presets under the zoo's names.

    For the code that waits for the zoo: with `PRESETS_DIR` pointed here, it
    runs before the presets are published.
    """
    root = tmp_path_factory.mktemp("presets")
    for name in sorted(zoo_preset_names()):
        latent_dim = 2 if name.endswith("_2") else 32
        dataset = "fashion_mnist" if name.startswith("fashion") else "mnist"
        family = "vae"
        if name.endswith("_cvae"):
            family, latent_dim = "conditional", 8
        elif name.endswith("_vqvae"):
            family, latent_dim = "vq", 8
        make_tiny_preset(str(root), name, latent_dim, dataset, family)
    return str(root)


@pytest.fixture
def use_stand_ins(zoo_stand_ins, monkeypatch):
    """Points the package's presets at the stand-ins, their checksums
    pinned as those of shipped presets are; returns their directory."""
    pins = {
        name: _preset_io.pins_of(f"{zoo_stand_ins}/{name}")
        for name in sorted(zoo_preset_names())
    }
    monkeypatch.setattr(_preset_io, "PRESETS_DIR", zoo_stand_ins)
    monkeypatch.setattr(_preset_io, "_pins", lambda: pins)
    return zoo_stand_ins
