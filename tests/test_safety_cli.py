"""The CLI and the zoo refuse bad arguments and damaged files clearly.

Every absurd argument is refused before any work, as one
`keras-vae: error: ...` line with exit status 2; damaged `.keras`,
`.weights.h5`, checkpoint and state files are named and said to be
damaged, and never deleted.
"""

import errno
import hashlib
import json
import os
import shutil
import zipfile

import keras
import numpy as np
import pytest

import keras_vae
from keras_vae import cli
from keras_vae.training import run as zoo_train
from keras_vae.utils import _damaged
from zoo import evaluate as zoo_evaluate

# Argument and file checks, the same on every backend: they run with the
# first backend of scripts/test.sh (tests/conftest.py); the damaged-file
# names hold on every backend's loading.
pytestmark = pytest.mark.backend_independent


def run(capsys, *argv):
    """Runs `main(argv)`; returns (status, stdout, stderr)."""
    status = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def assert_one_line_error(result, *fragments, status=2):
    code, _, err = result
    assert code == status, err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("keras-vae: error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, err


def _save_preset(directory, input_shape, dataset="mnist"):
    """An untrained MLP VAE preset for images of `input_shape`."""
    size = int(np.prod(input_shape))
    encoder = keras.Sequential(
        [
            keras.Input(input_shape),
            keras.layers.Flatten(),
            keras.layers.Dense(4),
        ]
    )
    decoder = keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Dense(size),
            keras.layers.Reshape(input_shape),
        ]
    )
    vae = keras_vae.VAE(encoder, decoder, latent_dim=2, seed=0)
    vae(np.zeros((1,) + input_shape, "float32"))
    vae.save_to_preset(
        directory, metadata={"name": directory.name, "dataset": dataset}
    )
    return str(directory)


@pytest.fixture(scope="module")
def presets(tmp_path_factory):
    root = tmp_path_factory.mktemp("safety_presets")
    return {
        "tiny": _save_preset(root / "tiny", (28, 28, 1)),
        "small": _save_preset(root / "small", (8, 8, 1)),
        "unknown_data": _save_preset(root / "cifar", (28, 28, 1), "cifar10"),
    }


@pytest.fixture
def no_work(monkeypatch):
    """Makes loading a model or data, or training, fail the test: the
    checks under test must come before any of them."""

    def fail(*args, **kwargs):
        raise AssertionError("work started before the arguments were checked")

    monkeypatch.setattr(keras_vae.VAE, "from_preset", fail)
    monkeypatch.setattr(keras_vae.datasets, "load_binarized_test_set", fail)
    monkeypatch.setattr(keras_vae.datasets, "load", fail)
    monkeypatch.setattr(zoo_train, "train", fail)


# ----------------------------------------------------------------------
# A. Absurd arguments, refused before any work.


def test_seeds_outside_32_bits_are_refused(presets, tmp_path, capsys, no_work):
    tiny = presets["tiny"]
    output = tmp_path / "a.png"
    commands = [
        ["sample", tiny, "-o", output],
        ["reconstruct", tiny, "-o", output],
        ["evaluate", tiny],
        ["compare", tiny, tiny],
    ]
    for command in commands:
        for seed in ["-1", "4294967296", "2.5", "9" * 100]:
            result = run(capsys, *command, "--seed", seed)
            assert_one_line_error(
                result, "argument --seed", "from 0 to 4294967295", "Received: '"
            )
            # A received value is quoted as a short excerpt.
            assert len(result[2]) < 300
    assert not output.exists()


TOO_BIG = [
    (["sample", "--columns", "1000000000"], "argument --columns"),
    (["sample", "--columns", "0"], "argument --columns"),
    (["sample", "--scale", "1000000"], "argument --scale"),
    (["sample", "--scale", "0"], "argument --scale"),
    (["sample", "-n", "100000000"], "argument -n/--num"),
    # Each within its bound, too big together.
    (["sample", "-n", "200000", "--scale", "4"], "the image would be"),
    (
        ["sample", "-n", "1000", "--columns", "1000", "--scale", "32"],
        "the image would be",
    ),
    (["reconstruct", "--columns", "1000000000"], "argument --columns"),
    (["reconstruct", "--scale", "1000000"], "argument --scale"),
    (["interpolate", "--steps", "100000000"], "argument --steps"),
    (["interpolate", "--steps", "1000000"], "the image would be"),
    (["interpolate", "--scale", "33"], "argument --scale"),
]


def test_images_too_big_are_refused_before_any_work(
    presets, tmp_path, capsys, no_work
):
    output = tmp_path / "a.png"
    for argv, fragment in TOO_BIG:
        command, *options = argv
        result = run(capsys, command, presets["tiny"], "-o", output, *options)
        assert_one_line_error(result, fragment)
    assert not output.exists()


def test_the_largest_grid_is_documented():
    assert cli.MAX_IMAGE_PIXELS == 50_000_000
    assert "MAX_IMAGE_PIXELS" in cli.__doc__
    assert "2**32" in cli.__doc__


OUT_OF_RANGE = [
    (["reconstruct", "--start", "10000"], "--start must be an index"),
    (["reconstruct", "-n", "10001"], "-n/--num must be at most"),
    (["interpolate", "--to", "10000"], "Received: --to=10000"),
    (["interpolate", "--from", "123456"], "Received: --from=123456"),
    (["evaluate", "-k", "0"], "argument -k/--num-samples"),
    (["evaluate", "-k", "10000000"], "argument -k/--num-samples"),
    (["evaluate", "--batch-size", "1" + "0" * 30], "--batch-size"),
    (["evaluate", "--limit", "0"], "argument --limit"),
]


def test_indices_and_counts_are_checked_before_any_work(
    presets, tmp_path, capsys, no_work
):
    for argv, fragment in OUT_OF_RANGE:
        command, *options = argv
        if command != "evaluate":
            options += ["-o", tmp_path / "a.png"]
        result = run(capsys, command, presets["tiny"], *options)
        assert_one_line_error(result, fragment)


@pytest.mark.parametrize(
    "argv",
    [
        ["reconstruct", "{small}", "-o", "{out}"],
        ["interpolate", "{small}", "-o", "{out}"],
        ["evaluate", "{small}"],
        ["compare", "{small}", "{small}"],
    ],
)
def test_a_preset_whose_input_shape_is_not_the_datasets_is_refused(
    presets, tmp_path, capsys, no_work, argv
):
    out = str(tmp_path / "a.png")
    argv = [a.format(small=presets["small"], out=out) for a in argv]
    assert_one_line_error(
        run(capsys, *argv),
        "takes inputs of shape (8, 8, 1)",
        "test images have shape (28, 28, 1)",
    )
    assert not os.path.exists(out)


def test_a_preset_of_an_unknown_data_set_is_refused(
    presets, tmp_path, capsys, no_work
):
    assert_one_line_error(
        run(capsys, "evaluate", presets["unknown_data"]),
        "names the data set 'cifar10'",
        "--dataset",
    )


@pytest.mark.parametrize("split", ["train[5:5]", "train[60000:]", "test[:0]"])
def test_a_split_that_selects_no_data_is_refused(
    tmp_path, capsys, no_work, split
):
    workdir = tmp_path / "run"
    result = run(
        capsys, "train", "mnist_mlp_2", "--split", split, "--workdir", workdir
    )
    assert_one_line_error(result, "--split selects no images of mnist")
    assert not workdir.exists()


def test_a_bad_split_is_one_line(tmp_path, capsys, no_work):
    result = run(capsys, "train", "mnist_mlp_2", "--split", "train[:x]")
    assert_one_line_error(result, "argument --split", "Received: split=")


def test_zoo_train_refuses_a_split_that_selects_no_data(tmp_path):
    workdir = tmp_path / "run"
    with pytest.raises(zoo_train.RunSettingsError, match="selects no images"):
        zoo_train.train(
            "mnist_mlp_2",
            workdir=str(workdir),
            epochs=1,
            split="train[5:5]",
            tensorboard=False,
        )
    assert not workdir.exists()


def test_a_workdir_that_cannot_be_made_is_refused(tmp_path, capsys, no_work):
    (tmp_path / "file").write_text("notes")
    result = run(
        capsys, "train", "mnist_mlp_2", "--workdir", tmp_path / "file" / "run"
    )
    assert_one_line_error(result, "--workdir", "is not a directory")
    assert (tmp_path / "file").read_text() == "notes"


def test_an_output_symlink_is_refused_and_kept(
    presets, tmp_path, capsys, no_work
):
    target = tmp_path / "mine.png"
    target.write_bytes(b"my picture")
    link = tmp_path / "link.png"
    link.symlink_to(target)
    result = run(capsys, "sample", presets["tiny"], "-o", link)
    assert_one_line_error(result, "symbolic link", repr(str(link)))
    assert link.is_symlink() and target.read_bytes() == b"my picture"


def test_an_output_that_is_not_a_regular_file_is_refused(
    presets, tmp_path, capsys, no_work
):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    result = run(capsys, "sample", presets["tiny"], "-o", fifo)
    assert_one_line_error(result, "not a regular file", repr(str(fifo)))


def test_an_output_name_too_long_is_refused(presets, tmp_path, capsys, no_work):
    output = tmp_path / ("x" * 300 + ".png")
    result = run(capsys, "sample", presets["tiny"], "-o", output)
    assert_one_line_error(result, "-o/--output", "longer than")
    assert ".tmp" not in result[2]


def test_a_long_output_name_is_written(presets, tmp_path, capsys):
    # The longest name the file system allows: the temporary file of the
    # atomic write must fit too.
    if os.pathconf(tmp_path, "PC_NAME_MAX") < 255:
        pytest.skip("file names of 255 bytes are too long here")
    output = tmp_path / ("x" * 251 + ".png")
    status, out, err = run(
        capsys, "sample", presets["tiny"], "-n", 2, "-o", output
    )
    assert status == 0, err
    assert output.exists()
    assert sorted(os.listdir(tmp_path)) == [output.name]


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0,
    reason="root can write read-only files",
)
def test_a_read_only_output_is_refused(presets, tmp_path, capsys, no_work):
    output = tmp_path / "a.png"
    output.write_bytes(b"keep me")
    output.chmod(0o444)
    result = run(capsys, "sample", presets["tiny"], "-o", output)
    assert_one_line_error(result, "read-only")
    assert output.read_bytes() == b"keep me"


def test_a_failed_write_names_the_output_not_a_temporary_file(
    presets, tmp_path, capsys, monkeypatch
):
    output = tmp_path / "a.png"
    output.write_bytes(b"the previous version")

    def disk_full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", disk_full)
    result = run(capsys, "sample", presets["tiny"], "-n", 2, "-o", output)
    assert_one_line_error(
        result, str(output), "No space left on device", status=1
    )
    assert ".tmp" not in result[2]
    assert output.read_bytes() == b"the previous version"
    assert os.listdir(tmp_path) == ["a.png"]


# ----------------------------------------------------------------------
# B. Damaged files.


def _rehash(directory, filename):
    """Re-signs a preset's metadata after `filename` changed (a damaged
    file whose checksum was recomputed, e.g. by a careless copy tool)."""
    path = os.path.join(directory, "metadata.json")
    with open(path) as f:
        metadata = json.load(f)
    with open(os.path.join(directory, filename), "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    metadata["files"][filename] = digest
    with open(path, "w") as f:
        json.dump(metadata, f)


def test_a_preset_with_damaged_weights_is_one_line(presets, tmp_path, capsys):
    copy = tmp_path / "copy"
    shutil.copytree(presets["tiny"], copy)
    weights = copy / "model.weights.h5"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    _rehash(copy, "model.weights.h5")
    result = run(capsys, "sample", copy, "-o", tmp_path / "a.png")
    assert_one_line_error(result, f"cannot load the preset {str(copy)!r}")
    assert weights.exists()


@pytest.fixture(scope="module")
def keras_file(tmp_path_factory):
    """A small `.keras` file and a `.weights.h5` file of the same model."""
    root = tmp_path_factory.mktemp("keras_files")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile(optimizer="adam", loss="mse")
    model.save(root / "model.keras")
    model.save_weights(root / "model.weights.h5")
    return root


class _DamagedError(ValueError):
    pass


@pytest.mark.parametrize("filename", ["model.keras", "model.weights.h5"])
def test_truncated_keras_files_are_named_as_damaged(
    keras_file, tmp_path, filename
):
    data = (keras_file / filename).read_bytes()
    path = tmp_path / filename
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    for fraction in [0.0, 0.1, 0.5, 0.9, 0.999]:
        path.write_bytes(data[: int(len(data) * fraction)])
        with pytest.raises(_DamagedError) as info:
            if filename.endswith(".keras"):
                _damaged.load_model_or_raise(path, _DamagedError, "Move it.")
            else:
                _damaged.load_weights_or_raise(
                    model, path, _DamagedError, "Move it."
                )
        message = str(info.value)
        assert f"{path} is damaged" in message, fraction
        assert message.endswith("Move it.")
        assert "File not found" not in message
        assert path.read_bytes() == data[: int(len(data) * fraction)]


@pytest.mark.parametrize("filename", ["model.keras", "model.weights.h5"])
def test_corrupt_keras_files_are_named_as_damaged(
    keras_file, tmp_path, filename
):
    data = bytearray((keras_file / filename).read_bytes())
    # A zip archive checks the CRC of every member; HDF5 checks no sums,
    # so a damaged header (here its signature) is what shows.
    start = len(data) // 3 if filename.endswith(".keras") else 0
    for position in range(start, start + 64):
        data[position] ^= 0xFF
    path = tmp_path / filename
    path.write_bytes(bytes(data))
    with pytest.raises(_DamagedError, match="is damaged"):
        _damaged.check_keras_file(path, _DamagedError)


@pytest.mark.every_backend
def test_intact_keras_files_load(keras_file):
    model = _damaged.load_model_or_raise(keras_file / "model.keras")
    assert isinstance(model, keras.Model)
    _damaged.load_weights_or_raise(model, keras_file / "model.weights.h5")


def test_missing_and_odd_keras_files_are_named(keras_file, tmp_path):
    missing = tmp_path / "missing.keras"
    with pytest.raises(_DamagedError, match=f"{missing} does not exist"):
        _damaged.load_model_or_raise(missing, _DamagedError)
    directory = tmp_path / "dir.keras"
    directory.mkdir()
    with pytest.raises(_DamagedError, match="is not a regular file"):
        _damaged.load_model_or_raise(directory, _DamagedError)
    other = keras.Sequential([keras.Input((5,)), keras.layers.Dense(7)])
    path = keras_file / "model.weights.h5"
    with pytest.raises(_DamagedError, match="cannot load the weights"):
        _damaged.load_weights_or_raise(other, path, _DamagedError)


def _run_workdir(tmp_path, keras_file, checkpoint_bytes, state=None):
    workdir = tmp_path / "run"
    workdir.mkdir()
    (workdir / "checkpoint.keras").write_bytes(checkpoint_bytes)
    if state is None:
        state = json.dumps(
            {
                "wall_time_s": 1.0,
                "epochs": [],
                "epochs_done": 0,
                "settings": {"epochs": 1, "split": "train[:32]"},
            }
        )
    (workdir / "state.json").write_text(state)
    return workdir


TRAIN = ["train", "mnist_mlp_2", "--epochs", 1, "--split", "train[:32]"]


def test_train_names_a_damaged_checkpoint_and_keeps_it(
    keras_file, tmp_path, capsys
):
    data = (keras_file / "model.keras").read_bytes()
    workdir = _run_workdir(tmp_path, keras_file, data[: len(data) // 2])
    before = {p.name: p.read_bytes() for p in workdir.iterdir()}
    result = run(capsys, *TRAIN, "--workdir", workdir, "--no-tensorboard")
    checkpoint = workdir / "checkpoint.keras"
    assert_one_line_error(
        result,
        f"{checkpoint} is damaged",
        "move its directory away",
        "deletes nothing",
    )
    assert {p.name: p.read_bytes() for p in workdir.iterdir()} == before


def test_train_names_a_corrupt_checkpoint(keras_file, tmp_path, capsys):
    data = bytearray((keras_file / "model.keras").read_bytes())
    with zipfile.ZipFile(keras_file / "model.keras") as archive:
        info = archive.getinfo("config.json")
    start = info.header_offset + 30 + len(info.filename) + 5
    data[start : start + 8] = b"XXXXXXXX"
    workdir = _run_workdir(tmp_path, keras_file, bytes(data))
    assert_one_line_error(
        run(capsys, *TRAIN, "--workdir", workdir, "--no-tensorboard"),
        f"{workdir / 'checkpoint.keras'} is damaged",
    )


@pytest.mark.parametrize("state", ['{"epochs": [', "[1, 2]", "\xff\xfe"])
def test_train_names_a_damaged_state(keras_file, tmp_path, capsys, state):
    data = (keras_file / "model.keras").read_bytes()
    workdir = _run_workdir(tmp_path, keras_file, data, state=state)
    assert_one_line_error(
        run(capsys, *TRAIN, "--workdir", workdir, "--no-tensorboard"),
        f"{workdir / 'state.json'} is damaged",
        "Move it away",
    )
    assert (workdir / "state.json").read_text() == state


def test_zoo_train_main_names_a_damaged_checkpoint(
    keras_file, tmp_path, capsys
):
    workdir = _run_workdir(tmp_path, keras_file, b"PK\x03\x04 truncated")
    argv = ["mnist_mlp_2", "--epochs", "1", "--split", "train[:32]"]
    with pytest.raises(SystemExit) as info:
        zoo_train.main(argv + ["--workdir", str(workdir), "--no-tensorboard"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert f"{workdir / 'checkpoint.keras'} is damaged" in err
    assert (
        workdir / "checkpoint.keras"
    ).read_bytes() == b"PK\x03\x04 truncated"


def test_zoo_evaluate_names_a_damaged_checkpoint(keras_file, tmp_path):
    workdir = _run_workdir(tmp_path, keras_file, b"not a zip")
    # Not a silent fall-back to the published preset either.
    with pytest.raises(zoo_train.RunFileError, match="is damaged"):
        zoo_evaluate.load_model("mnist_mlp_2", "auto", str(workdir))


@pytest.mark.parametrize("content", ['{"protocol": {"num_im', "[]", "{}"])
def test_zoo_pipeline_evaluates_again_over_a_damaged_evaluation(
    tmp_path, capsys, content
):
    from zoo import pipeline

    evaluation = tmp_path / "eval.json"
    evaluation.write_text(content)
    assert not pipeline._evaluated_as(str(evaluation), "mnist", 5000)
    assert f"{evaluation} is damaged" in capsys.readouterr().out
