"""Publishing and loading presets: round trip, integrity, atomicity, and
every committed preset on the current backend."""

import fnmatch
import json
import os
import re
import shutil

import keras
import numpy as np
import pytest
from PIL import Image

import keras_vae
from keras_vae.presets import PresetError
from keras_vae.presets import _preset_io
from keras_vae.training import configs
from keras_vae.training import run as train
from zoo import evaluate
from zoo import publish


@pytest.fixture
def published(trained_run, tmp_path):
    root = str(tmp_path / "presets")
    directory = publish.publish(
        "mnist_mlp_2", workdir=trained_run, output_root=root, partial=True
    )
    return directory


def test_publish_and_load_round_trip(trained_run, published):
    files = set(os.listdir(published))
    assert {
        "config.json",
        "model.weights.h5",
        "metadata.json",
        "README.md",
        "samples.png",
        "reconstructions.png",
        "latent_plane.png",
        "reference.npz",
    } <= files
    with open(os.path.join(published, "metadata.json")) as f:
        metadata = json.load(f)
    assert set(metadata["files"]) == files - {"metadata.json"}
    for key in ("nll", "elbo", "kl", "reconstruction"):
        assert np.isfinite(metadata["metrics"][key])
    assert metadata["metrics"]["num_importance_samples"] == 5
    assert metadata["protocol"]["dataset"] == "mnist"
    assert metadata["training"]["epochs"] == 1
    assert metadata["training"]["command"].startswith("python -m zoo.train")
    assert metadata["parameters"] > 0
    # A test run, published with `partial=True`, says how it departs from
    # the preset's protocol, in its metadata and at the top of its card.
    assert metadata["departures"] == [
        "trained 1 of the config's 100 epochs",
        "trained with a learning-rate schedule of 1 epochs, not 100",
        "trained on the split 'train[:256]', not 'train'",
        "evaluated on 40 test images, not all 10,000",
        "evaluated with k=5, not k=5000",
    ]
    assert metadata["training"]["split"] == "train[:256]"
    with open(os.path.join(published, "README.md")) as f:
        card = f.read()
    assert "**Not the preset's full protocol:** trained 1 of" in card
    assert "test set (40 images, fixed" in card
    # The model card's metrics table: two cells per row (no stray pipes).
    with open(os.path.join(published, "README.md")) as f:
        rows = [line for line in f if line.startswith("|")]
    assert len(rows) == 2 + 4  # Header, rule, NLL, ELBO, KL, reconstruction.
    for row in rows:
        assert len(re.findall(r"(?<!\\)\|", row)) == 3, row
    # What made it: the versions of training and publishing, the hardware.
    versions = metadata["training"]["versions"]
    assert versions["keras"] == keras.__version__
    assert versions["backend"] == keras.backend.backend()
    assert versions["backend_version"] == metadata["backend_version"]
    assert "CPU" in metadata["training"]["hardware"]
    for png in ("samples.png", "reconstructions.png", "latent_plane.png"):
        Image.open(os.path.join(published, png)).verify()
    # Weights only: no optimizer state in the preset.
    assert os.path.getsize(os.path.join(published, "model.weights.h5")) < (
        4 * metadata["parameters"] * 1.5
    )
    original = evaluate.load_model(
        "mnist_mlp_2", source="checkpoint", workdir=trained_run
    )[0]
    loaded = keras_vae.VAE.from_preset(published)
    x = keras_vae.datasets.load_binarized_test_set("mnist")[0][:16]
    np.testing.assert_allclose(
        loaded.reconstruct(x), original.reconstruct(x), rtol=1e-6, atol=1e-6
    )
    np.testing.assert_allclose(
        loaded.sample(8, seed=4), original.sample(8, seed=4), atol=1e-6
    )
    assert loaded.preset_metadata["metrics"] == metadata["metrics"]
    assert getattr(loaded, "optimizer", None) is None  # Not compiled.
    # The reference outputs, for the check on other backends: the decoder's
    # for fixed latents, the encoder's for those decoded images.
    reference = np.load(os.path.join(published, "reference.npz"))
    assert sorted(reference.files) == ["decoded", "log_var", "mean", "z"]
    mean, log_var = original.encode(reference["decoded"])
    np.testing.assert_allclose(reference["mean"], mean, atol=1e-6)
    np.testing.assert_allclose(reference["log_var"], log_var, atol=1e-6)


def test_publish_refuses_a_run_off_the_protocol(trained_run, tmp_path):
    root = tmp_path / "presets"
    with pytest.raises(ValueError) as info:
        publish.publish("mnist_mlp_2", workdir=trained_run, output_root=root)
    message = str(info.value)
    assert "departs from the protocol of the preset mnist_mlp_2" in message
    assert "trained 1 of the config's 100 epochs" in message
    assert "evaluated with k=5, not k=5000" in message
    assert "--partial" in message
    assert not root.exists()


def test_departures_from_the_protocol():
    config = configs.get_config("mnist_mlp_32")
    full = {"num_images": 10_000, "num_importance_samples": 5000}
    settings = {"epochs": config.epochs, "split": "train"}
    state = {"epochs_done": config.epochs, "settings": settings}
    assert publish.departures(config, state, full) == []
    # Stopped at half of a schedule set for twice the config's epochs.
    half = {"epochs_done": 500, "settings": {"epochs": 1000, "split": "train"}}
    assert publish.departures(config, half, full) == [
        "trained with a learning-rate schedule of 1000 epochs, not 500"
    ]
    # A state of an earlier zoo.train, without its settings: not assumed.
    (found,) = publish.departures(config, {"epochs_done": 500}, full)
    assert found.startswith("the run's epochs and split are not on record")


def test_publish_command_line(trained_run, tmp_path, capsys):
    root = tmp_path / "presets"
    argv = ["mnist_mlp_2", "--workdir", trained_run, "--output-root", root]
    with pytest.raises(SystemExit) as info:
        publish.main([str(a) for a in argv])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "error: the run in" in err and "--partial" in err
    assert not root.exists()
    publish.main([str(a) for a in argv] + ["--partial"])
    assert (root / "mnist_mlp_2" / "metadata.json").exists()


def test_extend_references_of_an_older_preset(tmp_path):
    """`zoo.extend_references` gives a preset whose reference holds the
    decoder's outputs only the encoder's, as a publish now writes them."""
    from zoo import extend_references

    committed = os.path.join(keras_vae.presets.PRESETS_DIR, "mnist_mlp_2")
    directory = str(tmp_path / "mnist_mlp_2")
    shutil.copytree(committed, directory)
    path = os.path.join(directory, "reference.npz")
    with np.load(path) as reference:
        expected = dict(reference)
    with open(path, "wb") as f:  # As published before 2026-12-03.
        np.savez(f, z=expected["z"], decoded=expected["decoded"])
    metadata_path = os.path.join(directory, "metadata.json")
    with open(metadata_path) as f:
        metadata = json.load(f)
    metadata["files"]["reference.npz"] = _preset_io.sha256_file(path)
    with open(metadata_path, "w") as f:
        json.dump(metadata, f)
    _preset_io.verify(directory)

    assert extend_references.extend(directory) is True
    _preset_io.verify(directory)  # The new checksum is on record.
    with np.load(path) as reference:
        assert sorted(reference.files) == sorted(expected)
        for key in ("z", "decoded"):
            np.testing.assert_array_equal(reference[key], expected[key])
        for key in ("mean", "log_var"):
            np.testing.assert_allclose(reference[key], expected[key], atol=1e-4)
    assert extend_references.extend(directory) is False  # Already done.
    assert [n for n in os.listdir(tmp_path) if n.startswith(".")] == []


@pytest.mark.parametrize("name", sorted(configs.PRESETS))
def test_committed_cards_are_what_publish_writes(name):
    """A change of the card's template shows here, before a republish."""
    directory = os.path.join(keras_vae.presets.PRESETS_DIR, name)
    with open(os.path.join(directory, "metadata.json")) as f:
        metadata = json.load(f)
    with open(os.path.join(directory, "README.md")) as f:
        card = f.read()
    assert publish.model_card(name, configs.get_config(name), metadata) == card


def test_a_preset_that_needs_unsafe_deserialization_is_refused(
    unsafe_preset,
):
    """A preset is code-free: a `Lambda` layer (arbitrary Python, run when
    the model is rebuilt) is refused by the safe-mode load."""
    _preset_io.verify(unsafe_preset)  # Its checksums are right...
    with pytest.raises(ValueError, match="safe_mode"):
        keras_vae.VAE.from_preset(unsafe_preset)  # ...but it runs no code.


def test_tampered_weights_are_refused(published):
    path = os.path.join(published, "model.weights.h5")
    with open(path, "r+b") as f:
        f.seek(-100, os.SEEK_END)
        byte = f.read(1)
        f.seek(-100, os.SEEK_END)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(
        PresetError, match="was modified: model.weights.h5 does not match"
    ):
        keras_vae.VAE.from_preset(published)


def test_missing_file_and_unknown_preset(published):
    os.remove(os.path.join(published, "samples.png"))
    with pytest.raises(PresetError, match="missing"):
        keras_vae.VAE.from_preset(published)
    with pytest.raises(PresetError, match="Unknown preset: 'no_such'"):
        keras_vae.VAE.from_preset("no_such")


def test_publish_refuses_an_evaluation_of_earlier_weights(
    trained_run, tmp_path
):
    workdir = str(tmp_path / "run")
    shutil.copytree(trained_run, workdir)
    checkpoint = os.path.join(workdir, train.CHECKPOINT)
    evaluation = os.path.join(workdir, "eval.json")
    os.utime(checkpoint, (os.path.getmtime(evaluation) + 10,) * 2)
    with pytest.raises(ValueError, match="eval.json is older than"):
        publish.publish(
            "mnist_mlp_2",
            workdir=workdir,
            output_root=str(tmp_path / "p"),
            partial=True,
        )
    assert not os.path.exists(tmp_path / "p" / "mnist_mlp_2")


def test_stopped_time_and_notes_of_the_run_reach_metadata_and_card(
    trained_run, tmp_path
):
    workdir = str(tmp_path / "run")
    shutil.copytree(trained_run, workdir)
    state = train.read_state(workdir)
    state.update(stopped_s=5400.0, notes=["Epoch 3 was stopped."])
    train.write_state(workdir, state)
    directory = publish.publish(
        "mnist_mlp_2",
        workdir=workdir,
        output_root=str(tmp_path / "p"),
        partial=True,
    )
    with open(os.path.join(directory, "metadata.json")) as f:
        training = json.load(f)["training"]
    assert training["stopped_s"] == 5400.0
    assert training["notes"] == ["Epoch 3 was stopped."]
    assert training["wall_time_s"] == round(state["wall_time_s"], 1)
    with open(os.path.join(directory, "README.md")) as f:
        card = f.read()
    assert "- Not counted: 90 min while stopped.\n" in card
    assert "\n- Epoch 3 was stopped." in card


def test_interrupted_publish_leaves_the_old_version_whole(
    trained_run, published, monkeypatch
):
    before = _preset_io.verify(published)

    def crash(vae, dataset):
        def write(path):
            raise KeyboardInterrupt("killed while writing")

        return write

    monkeypatch.setattr(publish, "reconstructions_figure", crash)
    with pytest.raises(KeyboardInterrupt):
        publish.publish(
            "mnist_mlp_2",
            workdir=trained_run,
            output_root=os.path.dirname(published),
            partial=True,
        )
    assert _preset_io.verify(published) == before
    leftovers = [
        n for n in os.listdir(os.path.dirname(published)) if n.startswith(".")
    ]
    assert leftovers == []
    keras_vae.VAE.from_preset(published)


def test_publish_into_the_package_pins_its_checksums(
    trained_run, tmp_path, monkeypatch
):
    """A preset published into the package loads by name: its checksums
    are pinned in `_checksums.py`, beside the other presets' (kept)."""
    package = tmp_path / "presets"
    package.mkdir()
    pins_file = package / "_checksums.py"
    pins = {"other": {"config.json": "0" * 64}}
    monkeypatch.setattr(publish, "PRESETS_DIR", str(package))
    monkeypatch.setattr(_preset_io, "PRESETS_DIR", str(package))
    monkeypatch.setattr(_preset_io, "PINS_FILE", str(pins_file))
    monkeypatch.setattr(_preset_io, "_pins", lambda: pins)
    directory = publish.publish(
        "mnist_mlp_2", workdir=trained_run, partial=True
    )
    assert directory == str(package / "mnist_mlp_2")
    expected = _preset_io.pins_of(directory)
    assert pins == {"other": {"config.json": "0" * 64}, "mnist_mlp_2": expected}
    namespace = {}
    exec(pins_file.read_text(), namespace)
    assert namespace["PINNED"] == pins
    keras_vae.VAE.from_preset("mnist_mlp_2")  # By name, pinned.


# Over the zoo's configs, not the presets on disk: a preset gone missing
# fails here instead of dropping out of the test.
@pytest.mark.parametrize("name", sorted(configs.PRESETS))
def test_committed_preset(name):
    """Loads on this backend (whichever trained it), reproduces the
    reference outputs, samples, and carries its metrics."""
    config = configs.get_config(name)
    model_class = keras_vae.VQVAE if config.model == "vq" else keras_vae.VAE
    vae = model_class.from_preset(name)
    metadata = vae.preset_metadata
    keys = ("nll", "elbo", "kl", "reconstruction")
    if config.model == "vq":  # No likelihood bound: reconstruction.
        keys = ("reconstruction", "psnr", "mse", "perplexity")
    for key in keys:
        assert np.isfinite(metadata["metrics"][key]), key
    if config.model != "vq":
        assert metadata["metrics"]["num_importance_samples"] == 5000
    assert metadata["protocol"]["num_images"] == 10000  # The whole test set.
    assert metadata["training"]["epochs"] == config.epochs
    assert metadata["training"]["split"] == config.train_split
    assert "departures" not in metadata
    reference = np.load(
        os.path.join(keras_vae.presets.PRESETS_DIR, name, "reference.npz")
    )
    images = vae.sample(4, seed=0)
    assert images.shape == (4, 28, 28, 1) and np.isfinite(images).all()
    if config.model == "vq":
        codes = reference["codes"].astype("int32")
        np.testing.assert_allclose(
            vae.decode(codes), reference["decoded"], atol=2e-5
        )
        encoded = vae.encoder(reference["decoded"], training=False)
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(encoded), reference["encoded"], atol=1e-4
        )
        assert metadata["metrics"]["codes_used"] <= vae.num_embeddings
        return
    given = {}
    if config.model == "conditional":  # Its reference's fixed labels.
        given = {"condition": vae._reference_condition(len(reference["z"]))}
        accuracy = metadata["metrics"]["class_accuracy"]
        assert 0 <= accuracy["accuracy"] <= 1
        assert accuracy["num_samples"] == 10000
    np.testing.assert_allclose(
        vae.decode(reference["z"], **given), reference["decoded"], atol=2e-5
    )
    # The encoder too, on the stored decoded images (digit-like inputs).
    mean, log_var = vae.encode(reference["decoded"], **given)
    np.testing.assert_allclose(mean, reference["mean"], atol=1e-4)
    np.testing.assert_allclose(log_var, reference["log_var"], atol=1e-4)


@pytest.mark.skipif(
    keras.backend.backend() != "jax",
    reason="the recipes are backend-neutral Keras code, built here with jax, "
    "the zoo's backend; every committed preset loads on every backend below",
)
@pytest.mark.parametrize("name", sorted(configs.RECIPES))
def test_every_config_builds_and_serializes(name):
    """A typo in a config fails here, not hours into its training run."""
    config = configs.get_config(name)
    vae = train.build_vae(config)
    x = np.zeros((2, 28, 28, 1), "float32")
    inputs = x
    if config.model == "conditional":
        assert isinstance(vae, keras_vae.ConditionalVAE)
        assert vae.num_classes == 10
        inputs = (x, np.array([3, 7]))
    # (2, 28, 28, 1), or (2, num_samples, 28, 28, 1) with several samples.
    expected = (2,) + ((config.num_samples,) if config.num_samples > 1 else ())
    expected += x.shape[1:]
    assert vae(inputs).shape == expected
    kind = type(vae)
    assert kind.from_config(vae.get_config())(inputs).shape == expected
    if config.model == "vq":
        assert isinstance(vae, keras_vae.VQVAE)
        assert vae.embedding_dim == config.latent_dim
        return
    assert (
        kind
        is {
            "vae": keras_vae.VAE,
            "hierarchical": keras_vae.HierarchicalVAE,
            "conditional": keras_vae.ConditionalVAE,
        }[config.model]
    )
    assert vae.objective == config.objective
    if config.prior is not None:
        assert type(vae.prior).__name__ == config.prior["class_name"]
    if config.model != "hierarchical":  # Its latent_dim is the top's.
        assert vae.latent_dim == config.latent_dim


@pytest.mark.parametrize("name", sorted(configs.PRESETS))
def test_committed_preset_files_ship_in_the_package(name):
    """Every file of a preset matches the package data of pyproject.toml,
    so that a wheel (not only an editable install) can load it."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+.
    root = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
    with open(os.path.join(root, "pyproject.toml"), "rb") as f:
        package_data = tomllib.load(f)["tool"]["setuptools"]["package-data"]
    patterns = package_data["keras_vae.presets"]
    directory = os.path.join(keras_vae.presets.PRESETS_DIR, name)
    for filename in os.listdir(directory):
        assert any(
            fnmatch.fnmatch(f"{name}/{filename}", p) for p in patterns
        ), f"{name}/{filename} matches none of {patterns}"
