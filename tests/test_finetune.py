"""Fine-tuning a preset: `keras_vae.training.with_kl_warmup`, `finetune` and
`keras-vae train --from-preset`."""

import json
import os

import keras
import numpy as np
import pytest

import keras_vae
from keras_vae import cli
from keras_vae.training import RunSettingsError
from keras_vae.training import finetune
from keras_vae.training import with_kl_warmup
from keras_vae.training.architectures import mlp

SPLIT = "train[:64]"


def tiny_vae(kl_warmup_steps=0):
    encoder, decoder = mlp(latent_dim=2, hidden=(16,))
    vae = keras_vae.VAE(
        encoder,
        decoder,
        latent_dim=2,
        kl_warmup_steps=kl_warmup_steps,
        seed=0,
    )
    vae(np.zeros((1, 28, 28, 1), "float32"))
    return vae


@pytest.fixture(scope="module")
def preset(tmp_path_factory):
    """A tiny MNIST preset whose warm-up of 3 steps is over."""
    vae = tiny_vae(kl_warmup_steps=3)
    vae.kl_step.assign(3)
    directory = tmp_path_factory.mktemp("presets") / "tiny"
    vae.save_to_preset(directory, metadata={"name": "tiny", "dataset": "mnist"})
    return str(directory)


def images(n=4):
    x, _ = keras_vae.datasets.load_binarized_test_set("mnist")
    return x[:n]


def test_a_preset_comes_back_uncompiled_with_its_warmup_over(preset):
    vae = keras_vae.VAE.from_preset(preset)
    assert getattr(vae, "optimizer", None) is None
    assert int(keras.ops.convert_to_numpy(vae.kl_step)) == 3
    assert float(keras.ops.convert_to_numpy(vae.current_kl_weight())) == 1.0


@pytest.mark.parametrize("before", [0, 3])
def test_with_kl_warmup_restarts_the_ramp(preset, before):
    vae = keras_vae.VAE.from_preset(preset) if before else tiny_vae()
    copy = with_kl_warmup(vae, 4)
    assert type(copy) is type(vae)
    assert copy.kl_warmup_steps == 4
    assert copy.get_config()["kl_warmup_steps"] == 4
    assert getattr(copy, "optimizer", None) is None
    # Same weights: the same deterministic outputs.
    x = images()
    for a, b in zip(vae.encode(x), copy.encode(x)):
        np.testing.assert_array_equal(a, b)
    z = np.linspace(-1, 1, 6, dtype="float32").reshape(3, 2)
    np.testing.assert_array_equal(vae.decode(z), copy.decode(z))
    # The counter starts at 0 and the weight grows by 1/4 a step.
    copy.compile(optimizer=keras.optimizers.SGD(0.0))
    weights = [float(keras.ops.convert_to_numpy(copy.current_kl_weight()))]
    for _ in range(5):
        copy.fit(x, batch_size=4, epochs=1, verbose=0)
        weights.append(
            float(keras.ops.convert_to_numpy(copy.current_kl_weight()))
        )
    np.testing.assert_allclose(weights, [0, 0.25, 0.5, 0.75, 1, 1])
    # The model it was copied from is left as it was.
    assert vae.kl_warmup_steps == (3 if before else 0)
    assert float(keras.ops.convert_to_numpy(vae.current_kl_weight())) == 1.0


def test_with_kl_warmup_zero_steps_and_errors(preset):
    vae = keras_vae.VAE.from_preset(preset)
    copy = with_kl_warmup(vae, 0)
    assert copy.kl_warmup_steps == 0 and not hasattr(copy, "kl_step")
    assert float(keras.ops.convert_to_numpy(copy.current_kl_weight())) == 1.0
    with pytest.raises(ValueError, match=r"`steps`.*Received: steps=-1"):
        with_kl_warmup(vae, -1)
    encoder, decoder = mlp(latent_dim=2, hidden=(16,))
    unbuilt = keras_vae.VAE(encoder, decoder, latent_dim=2)
    with pytest.raises(ValueError, match="not built"):
        with_kl_warmup(unbuilt, 3)


def weights_of(model):
    return [keras.ops.convert_to_numpy(w) for w in model.trainable_weights]


def test_finetune_trains_resumes_and_keeps_its_settings(preset, tmp_path):
    workdir = str(tmp_path / "run")
    start = keras_vae.VAE.from_preset(preset)
    vae = finetune(
        preset,
        workdir=workdir,
        epochs=2,
        split=SPLIT,
        batch_size=32,
        learning_rate=3e-4,
        kl_warmup_steps=2,
        tensorboard=False,
        verbose=0,
    )
    changed = [
        not np.array_equal(a, b)
        for a, b in zip(weights_of(start), weights_of(vae))
    ]
    assert all(changed)
    # 2 epochs of 2 steps: the new warm-up of 2 steps is over.
    assert int(keras.ops.convert_to_numpy(vae.optimizer.iterations)) == 4
    assert int(keras.ops.convert_to_numpy(vae.kl_step)) == 4
    schedule = vae.optimizer._learning_rate
    assert schedule.initial_learning_rate == pytest.approx(3e-4)
    assert schedule.alpha == pytest.approx(0.1)
    with open(os.path.join(workdir, "state.json")) as f:
        state = json.load(f)
    assert state["epochs_done"] == 2
    assert state["settings"] == {
        "epochs": 2,
        "split": SPLIT,
        "from_preset": preset,
        "dataset": "mnist",
        "batch_size": 32,
        "learning_rate": 3e-4,
        "kl_warmup_steps": 2,
        "seed": 0,
    }
    assert state["command"].startswith("keras_vae.training.finetune(")
    # Called again, the run is done: it resumes from its checkpoint and
    # trains no further.
    again = finetune(
        preset,
        workdir=workdir,
        epochs=2,
        split=SPLIT,
        batch_size=32,
        learning_rate=3e-4,
        kl_warmup_steps=2,
        tensorboard=False,
        verbose=0,
    )
    for a, b in zip(weights_of(vae), weights_of(again)):
        np.testing.assert_array_equal(a, b)
    # Other settings are refused, naming the one that differs.
    with pytest.raises(RunSettingsError, match=r"learning_rate=0\.0003"):
        finetune(
            preset,
            workdir=workdir,
            epochs=2,
            split=SPLIT,
            batch_size=32,
            learning_rate=1e-3,
            kl_warmup_steps=2,
        )


def test_finetune_refuses_bad_settings_before_any_work(preset, tmp_path):
    workdir = tmp_path / "run"
    for kwargs, match in [
        ({"learning_rate": 0}, "learning_rate"),
        ({"batch_size": 0}, "batch_size"),
        ({"kl_warmup_steps": -2}, "kl_warmup_steps"),
        ({"epochs": 0}, "epochs"),
        ({"split": "train[5:5]"}, "selects no images"),
    ]:
        with pytest.raises(RunSettingsError, match=match):
            finetune(preset, workdir=str(workdir), **kwargs)
    assert not workdir.exists()


def test_finetune_refuses_a_conditional_preset(tmp_path):
    cvae = keras_vae.ConditionalVAE.mlp(
        (28, 28, 1), latent_dim=2, num_classes=10, hidden_units=(16,), seed=0
    )
    cvae(cvae._dummy_inputs((28, 28, 1)))
    directory = str(tmp_path / "cvae")
    cvae.save_to_preset(directory, metadata={"dataset": "mnist"})
    with pytest.raises(RunSettingsError, match=r"vae.fit\(\(x, labels\)\)"):
        finetune(directory, workdir=str(tmp_path / "run"), split=SPLIT)
    assert not (tmp_path / "run").exists()


def run(capsys, *argv):
    status = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_cli_finetunes_and_saves_a_preset(preset, tmp_path, capsys):
    workdir = tmp_path / "run"
    saved = tmp_path / "tuned"
    status, out, err = run(
        capsys, "train", "--from-preset", preset, "--dataset",
        "fashion_mnist", "--split", SPLIT, "--epochs", 1, "--batch-size", 32,
        "--learning-rate", "2e-4", "--kl-warmup-steps", 5, "--workdir",
        workdir, "--save-preset", saved, "--no-tensorboard",
    )  # fmt: skip
    assert status == 0, err
    assert "fashion_mnist" in out and str(saved) in out
    with open(workdir / "state.json") as f:
        state = json.load(f)
    assert state["settings"]["dataset"] == "fashion_mnist"
    assert state["settings"]["learning_rate"] == 2e-4
    assert state["command"].startswith(
        f"keras-vae train --from-preset {preset} --dataset fashion_mnist"
    )
    # The saved preset is the checkpoint's model, and every command takes it.
    tuned = keras_vae.VAE.from_preset(str(saved))
    checkpoint = keras.saving.load_model(workdir / "checkpoint.keras")
    for a, b in zip(weights_of(tuned), weights_of(checkpoint)):
        np.testing.assert_array_equal(a, b)
    assert tuned.preset_metadata["dataset"] == "fashion_mnist"
    assert tuned.kl_warmup_steps == 5
    status, _, err = run(
        capsys, "sample", saved, "-n", 4, "-o", tmp_path / "s.png"
    )
    assert status == 0, err


@pytest.mark.parametrize(
    "argv, fragments",
    [
        (["mnist_mlp_2", "--from-preset", "X"], ["not both"]),
        ([], ["not neither"]),
        (["mnist_mlp_2", "--learning-rate", "1e-4"], ["--learning-rate"]),
        (["mnist_mlp_2", "--seed", 0], ["--seed applies to fine-tuning"]),
        (["--from-preset", "P", "--learning-rate", 0], ["number > 0"]),
        (["--from-preset", "P", "--learning-rate", "nan"], ["number > 0"]),
        (["--from-preset", "P", "--kl-warmup-steps", -1], ["warmup-steps"]),
        (["--from-preset", "no_such_preset"], ["unknown preset"]),
        (["--from-preset", "P", "--split", "train[3:3]"], ["selects no"]),
    ],
)
def test_cli_finetune_errors(preset, tmp_path, capsys, argv, fragments):
    argv = [preset if a == "P" else a for a in argv]
    workdir = tmp_path / "run"
    status, _, err = run(capsys, "train", *argv, "--workdir", workdir)
    assert status == 2, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, err
    assert not workdir.exists()


def test_cli_refuses_to_save_over_a_folder_of_yours_before_training(
    preset, tmp_path, capsys
):
    yours = tmp_path / "yours"
    yours.mkdir()
    (yours / "notes.txt").write_text("keep me")
    workdir = tmp_path / "run"
    status, _, err = run(
        capsys, "train", "--from-preset", preset, "--split", SPLIT,
        "--workdir", workdir, "--save-preset", yours,
    )  # fmt: skip
    assert status == 2
    assert "--save-preset" in err and "notes.txt" in err
    assert not workdir.exists()  # Refused before training.
    assert os.listdir(yours) == ["notes.txt"]
    assert (yours / "notes.txt").read_text() == "keep me"
