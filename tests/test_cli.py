import json
import math
import os
import re
import shutil
import subprocess
import sys

import keras
import numpy as np
import pytest
from PIL import Image

import keras_vae
from keras_vae import cli
from keras_vae.presets import builtin_presets
from keras_vae.training import configs

# The command line is the same on every backend: its errors, output files,
# console script and preset listing run with the first backend of
# scripts/test.sh (tests/conftest.py). The committed presets load, sample
# and evaluate on every backend in tests/zoo/test_presets.py; the commands
# that run a model here are smoke-tested on every backend
# (`every_backend`).
pytestmark = pytest.mark.backend_independent

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CELL = 28 + 2  # An image and the padding after it, in `image_grid`.


def grid_size(rows, columns, scale=1):
    """(width, height) of an `image_grid` PNG, padding 2."""
    return ((columns * CELL + 2) * scale, (rows * CELL + 2) * scale)


def png_size(path):
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.format == "PNG"
        return image.size


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny MNIST preset directory (an untrained 2-d MLP VAE)."""
    from keras_vae.training.architectures import mlp

    encoder, decoder = mlp(latent_dim=2, hidden=(16,))
    vae = keras_vae.VAE(encoder, decoder, latent_dim=2, seed=0)
    vae(np.zeros((1, 28, 28, 1), "float32"))
    directory = tmp_path_factory.mktemp("presets") / "tiny"
    vae.save_to_preset(
        directory,
        metadata={
            "name": "tiny",
            "dataset": "mnist",
            "latent_dim": 2,
            "description": "A tiny untrained VAE, for tests.",
            "metrics": {
                "nll": 543.21,
                "nll_standard_error": 1.0,
                "elbo": -550.0,
                "kl": 1.0,
                "reconstruction": 549.0,
                "num_importance_samples": 5,
                "eval_seconds": 1.0,
            },
        },
    )
    return str(directory)


def run(capsys, *argv):
    """Runs `main(argv)`; returns (status, stdout, stderr)."""
    status = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_help_and_version(capsys):
    status, out, _ = run(capsys, "--help")
    assert status == 0
    for command in (
        "list",
        "sample",
        "reconstruct",
        "interpolate",
        "traverse",
        "evaluate",
        "compare",
        "train",
    ):
        assert command in out
    status, out, _ = run(capsys, "--version")
    assert status == 0
    assert keras_vae.__version__ in out


def test_no_command_is_a_usage_error(capsys):
    status, _, err = run(capsys)
    assert status == 2
    assert "required" in err


@pytest.mark.every_backend
def test_sample(tiny, tmp_path, capsys):
    output = tmp_path / "grid.png"
    status, out, err = run(
        capsys,
        "sample",
        tiny,
        "-n",
        6,
        "--columns",
        3,
        "--scale",
        1,
        "-o",
        output,
    )
    assert status == 0, err
    assert png_size(output) == grid_size(2, 3)
    assert str(output) in out
    # The default layout is as square as possible, scaled by 2.
    status, _, err = run(capsys, "sample", tiny, "-n", 4, "-o", output)
    assert status == 0, err
    assert png_size(output) == grid_size(2, 2, scale=2)


def test_sample_is_reproducible(tiny, tmp_path, capsys):
    paths = [tmp_path / f"{name}.png" for name in "abc"]
    for path, seed in zip(paths, (1, 1, 2)):
        argv = ("sample", tiny, "-n", 4, "--seed", seed, "-o", path)
        assert run(capsys, *argv)[0] == 0
    a, b, c = (np.asarray(Image.open(path)) for path in paths)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.every_backend
def test_reconstruct(tiny, tmp_path, capsys):
    output = tmp_path / "reconstructions.png"
    status, _, err = run(
        capsys,
        "reconstruct",
        tiny,
        "-n",
        4,
        "--columns",
        2,
        "--scale",
        1,
        "-o",
        output,
    )
    assert status == 0, err
    assert png_size(output) == grid_size(2, 4)
    # The originals are the binarized test images, in the odd cells.
    x, _ = keras_vae.datasets.load_binarized_test_set("mnist")
    grid = np.asarray(Image.open(output))
    first = grid[2 : 2 + 28, 2 : 2 + 28]
    np.testing.assert_array_equal(first, np.round(x[0, ..., 0] * 255))
    # Random test images, with a seed.
    status, _, err = run(
        capsys, "reconstruct", tiny, "-n", 3, "--seed", 0, "-o", output
    )
    assert status == 0, err
    assert png_size(output) == grid_size(1, 6, scale=2)


def test_interpolate(tiny, tmp_path, capsys):
    output = tmp_path / "strip.png"
    status, _, err = run(
        capsys,
        "interpolate",
        tiny,
        "--from",
        3,
        "--to",
        7,
        "--steps",
        5,
        "--scale",
        1,
        "-o",
        output,
    )
    assert status == 0, err
    assert png_size(output) == grid_size(1, 5 + 2)
    x, _ = keras_vae.datasets.load_binarized_test_set("mnist")
    strip = np.asarray(Image.open(output))
    ends = strip[2:30, 2:30], strip[2:30, -30:-2]
    np.testing.assert_array_equal(ends[0], np.round(x[3, ..., 0] * 255))
    np.testing.assert_array_equal(ends[1], np.round(x[7, ..., 0] * 255))
    # The first and last decoded images are the two reconstructions.
    vae = keras_vae.VAE.from_preset(tiny)
    reconstructions = vae.reconstruct(x[[3, 7]])[..., 0]
    decoded = strip[2:30, 32:60], strip[2:30, -60:-32]
    for image, expected in zip(decoded, reconstructions):
        np.testing.assert_allclose(image, np.round(expected * 255), atol=1)

    status, _, err = run(
        capsys, "interpolate", tiny, "--no-originals", "-o", output
    )
    assert status == 0, err
    assert png_size(output) == grid_size(1, 10, scale=2)


@pytest.mark.every_backend
def test_evaluate_json(tiny, capsys):
    status, out, err = run(
        capsys, "evaluate", tiny, "--json", "-k", 5, "--limit", 20
    )
    assert status == 0, err
    metrics = json.loads(out)
    for key in ("nll", "nll_standard_error", "elbo", "kl", "reconstruction"):
        assert math.isfinite(metrics[key]), key
    assert metrics["nll"] > 0
    assert metrics["protocol"]["num_images"] == 20
    assert metrics["protocol"]["num_importance_samples"] == 5


def test_evaluate_text(tiny, capsys):
    status, out, err = run(
        capsys, "evaluate", tiny, "-k", 2, "--limit", 10, "--quiet"
    )
    assert status == 0, err
    assert "NLL" in out and "ELBO" in out and "k=2" in out
    assert "published NLL: 543.21" in out
    # On another data set than the preset's, its published NLL is no
    # yardstick; on one image there is no standard error to show.
    status, out, err = run(
        capsys,
        "evaluate",
        tiny,
        "-k",
        2,
        "--limit",
        1,
        "-q",
        "--dataset",
        "fashion_mnist",
    )
    assert status == 0, err
    assert "fashion_mnist test set (1 image, fixed" in out
    assert "published NLL" not in out
    assert "+/-" not in out and "nan" not in out


def test_compare_a_preset_with_itself(tiny, capsys):
    status, out, err = run(
        capsys, "compare", tiny, tiny, "--json", "-k", 5, "--limit", 20, "-q"
    )
    assert status == 0, err
    result = json.loads(out)
    assert result["nll_a"] == result["nll_b"] > 0
    assert result["difference"] == result["difference_standard_error"] == 0
    assert result["a_better_fraction"] == result["b_better_fraction"] == 0
    assert result["protocol"]["num_images"] == 20
    status, out, err = run(capsys, "compare", tiny, tiny, "-k", 2, "-q")
    assert status == 0, err
    assert "no clear winner" in out and "k=2" in out


def test_compare_names_the_better_preset(tiny, capsys):
    # The trained 2-d preset against the untrained tiny one (784 log 2 =
    # 543 nats on every image): hundreds of nats apart on most images,
    # though at k=5 the 2-d model may lose on an odd digit or two.
    status, out, err = run(
        capsys, "compare", tiny, "mnist_mlp_2", "-k", 5, "--limit", 50, "-q"
    )
    assert status == 0, err
    assert "mnist_mlp_2 is better" in out
    difference = re.search(r"difference \(A - B\).*: \+(\d+\.\d+) ", out)
    assert float(difference.group(1)) > 300
    better = re.search(r"A is better on (\d+\.\d)%, B on", out)
    assert float(better.group(1)) <= 10


def test_compare_refuses_presets_of_different_data_sets(capsys):
    result = run(capsys, "compare", "mnist_mlp_2", "fashion_mnist_mlp_32")
    assert_user_error(
        result,
        "presets 'mnist_mlp_2' and 'fashion_mnist_mlp_32' model different "
        "data sets (mnist and fashion_mnist): pass --dataset",
    )
    assert_user_error(run(capsys, "compare", "mnist_mlp_2", "x"), "'x'")
    assert_user_error(
        run(capsys, "compare", "mnist_mlp_2", "mnist_mlp_2", "--limit", 1),
        "--limit: must be an integer >= 2 (a paired standard error needs "
        "two images). Received: '1'",
    )


def test_list(tiny, monkeypatch, capsys):
    from keras_vae.presets import _preset_io

    monkeypatch.setattr(_preset_io, "PRESETS_DIR", os.path.dirname(tiny))
    monkeypatch.setattr(keras_vae.presets, "PRESETS_DIR", os.path.dirname(tiny))
    status, out, _ = run(capsys, "list", "--json")
    assert status == 0
    (preset,) = json.loads(out)
    assert preset["name"] == "tiny"
    assert preset["dataset"] == "mnist"
    assert preset["metrics"]["nll"] == 543.21

    status, out, _ = run(capsys, "list")
    assert status == 0
    lines = out.splitlines()
    assert lines[0].split()[:2] == ["NAME", "DATASET"]
    assert preset["family"] == "vae"
    assert lines[1:3] == ["", "VAEs:"]  # Grouped by family.
    parameters = f"{preset['parameters']:,}"
    assert lines[3].split()[:6] == [
        "tiny",
        "mnist",
        "2",
        parameters,
        "NLL",
        "543.21",
    ]
    assert "(k=5)" in lines[3]
    assert os.path.dirname(tiny) in out


def test_list_empty(tmp_path, monkeypatch, capsys):
    from keras_vae.presets import _preset_io

    monkeypatch.setattr(_preset_io, "PRESETS_DIR", str(tmp_path))
    monkeypatch.setattr(keras_vae.presets, "PRESETS_DIR", str(tmp_path))
    assert run(capsys, "list", "--json")[:2] == (0, "[]\n")
    status, out, _ = run(capsys, "list")
    assert status == 0
    assert "No presets installed" in out


# ----------------------------------------------------------------------
# Errors: exit status 2 and one line naming the problem.


def assert_user_error(result, *fragments):
    status, _, err = result
    assert status == 2, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, err


def test_a_preset_safe_mode_refuses_is_a_one_line_error(
    unsafe_preset, tmp_path, capsys
):
    result = run(capsys, "sample", unsafe_preset, "-o", tmp_path / "a.png")
    assert_user_error(
        result, f"keras-vae: error: cannot load the preset {unsafe_preset!r}"
    )
    assert "safe_mode" in result[2]
    assert not (tmp_path / "a.png").exists()


def test_unknown_preset_lists_the_known_ones(tmp_path, capsys):
    result = run(capsys, "sample", "no_such_preset", "-o", tmp_path / "a.png")
    assert_user_error(
        result, "keras-vae: error: unknown preset 'no_such_preset'"
    )
    known = ", ".join(builtin_presets()) or "none installed"
    assert f"known presets: {known}" in result[2]
    assert not (tmp_path / "a.png").exists()


def test_modified_preset_is_refused(tiny, tmp_path, capsys):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(tiny, copy)
    with open(copy / "config.json", "a") as f:
        f.write(" ")
    result = run(capsys, "evaluate", copy, "-k", 1, "--limit", 1)
    assert_user_error(result, "keras-vae: error:", "was modified")


def test_missing_output_directory(tiny, tmp_path, capsys):
    output = tmp_path / "missing" / "grid.png"
    assert_user_error(
        run(capsys, "sample", tiny, "-o", output),
        "does not exist",
        str(output),
    )
    assert_user_error(
        run(capsys, "interpolate", tiny, "-o", output), "does not exist"
    )


def test_output_directory_is_a_file(tiny, tmp_path, capsys):
    (tmp_path / "file").write_text("")
    output = tmp_path / "file" / "grid.png"
    assert_user_error(
        run(capsys, "reconstruct", tiny, "-o", output), "is not a directory"
    )


def test_unwritable_output_directory(tiny, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli._common, "_is_writable", lambda directory: False)
    assert_user_error(
        run(capsys, "sample", tiny, "-o", tmp_path / "grid.png"),
        "is not writable",
    )


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0,
    reason="root can write to read-only directories",
)
def test_read_only_output_directory(tiny, tmp_path, capsys):
    directory = tmp_path / "read_only"
    directory.mkdir()
    directory.chmod(0o555)
    try:
        assert_user_error(
            run(capsys, "sample", tiny, "-o", directory / "grid.png"),
            "is not writable",
        )
    finally:
        directory.chmod(0o755)


def test_output_must_be_a_png_file(tiny, tmp_path, capsys):
    assert_user_error(
        run(capsys, "sample", tiny, "-o", tmp_path / "grid.jpg"), ".png"
    )
    (tmp_path / "dir.png").mkdir()
    assert_user_error(
        run(capsys, "sample", tiny, "-o", tmp_path / "dir.png"),
        "is a directory",
    )


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["sample", "-n", "0"], "argument -n/--num: must be a positive"),
        (["sample", "-n", "many"], "Received: 'many'"),
        (["sample", "--scale", "-1"], "argument --scale"),
        (["reconstruct", "-n", "0"], "argument -n/--num"),
        (["interpolate", "--steps", "1"], "argument --steps"),
        (["interpolate", "--from", "-1"], "argument --from"),
    ],
)
def test_bad_numbers(tiny, tmp_path, capsys, argv, fragment):
    command, *options = argv
    result = run(capsys, command, tiny, "-o", tmp_path / "a.png", *options)
    assert_user_error(result, fragment)


def test_evaluate_bad_numbers(tiny, capsys):
    assert_user_error(run(capsys, "evaluate", tiny, "-k", 0), "-k")
    assert_user_error(
        run(capsys, "evaluate", tiny, "--limit", 0), "argument --limit"
    )


def test_indices_out_of_range(tiny, tmp_path, capsys):
    output = tmp_path / "a.png"
    assert_user_error(
        run(capsys, "interpolate", tiny, "--to", 10000, "-o", output),
        "--to must be an index into the 10000 test images",
        "Received: --to=10000",
    )
    assert_user_error(
        run(capsys, "reconstruct", tiny, "--start", 10000, "-o", output),
        "--start",
    )
    assert_user_error(
        run(capsys, "reconstruct", tiny, "-n", 10001, "-o", output),
        "-n/--num must be at most",
    )
    assert not output.exists()


def test_missing_data(tiny, tmp_path, monkeypatch, capsys):
    from keras_vae import datasets

    def missing(name, **kwargs):
        raise datasets.DatasetNotFoundError(
            f"Could not load dataset {name!r} (split 'test')."
        )

    monkeypatch.setattr(datasets, "load_binarized_test_set", missing)
    assert_user_error(
        run(capsys, "reconstruct", tiny, "-o", tmp_path / "a.png"),
        "keras-vae: error: Could not load dataset 'mnist'",
    )


def test_train_unknown_preset(capsys):
    assert_user_error(
        run(capsys, "train", "no_such_preset"),
        "unknown preset 'no_such_preset'",
        "mnist_mlp_32",
    )


@pytest.mark.every_backend
def test_train_one_step(tmp_path, capsys, monkeypatch):
    # The training code is the library's: no clone of the repository (its
    # `zoo` package) is needed.
    for module in ("zoo", "zoo.train", "zoo.configs"):
        monkeypatch.setitem(sys.modules, module, None)
    workdir = tmp_path / "run"
    status, out, err = run(
        capsys,
        "train",
        "mnist_mlp_2",
        "--epochs",
        1,
        "--split",
        "train[:32]",
        "--workdir",
        workdir,
        "--no-tensorboard",
    )
    assert status == 0, err
    assert (workdir / "checkpoint.keras").exists()
    with open(workdir / "state.json") as f:
        state = json.load(f)
    assert state["epochs_done"] == 1
    assert state["command"] == (
        f"python -m zoo.train mnist_mlp_2 --workdir {workdir} --epochs 1 "
        "--split 'train[:32]' --no-tensorboard"
    )
    # Resumed with another split, the run refuses, in one line.
    assert_user_error(
        run(
            capsys,
            "train",
            "mnist_mlp_2",
            "--epochs",
            1,
            "--split",
            "train[:64]",
            "--workdir",
            workdir,
            "--no-tensorboard",
        ),
        "started with epochs=1, split='train[:32]'",
        "Received: epochs=1, split='train[:64]'",
    )


def test_train_unknown_split(tmp_path, capsys):
    workdir = tmp_path / "run"
    assert_user_error(
        run(
            capsys,
            "train",
            "mnist_mlp_2",
            "--split",
            "bogus",
            "--workdir",
            workdir,
        ),
        "`split` must be one of",
        "Received: split='bogus'",
    )
    assert not workdir.exists()


# ----------------------------------------------------------------------
# The console script, in a fresh interpreter.


def subprocess_env(**overrides):
    env = dict(os.environ, **overrides)
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [REPO_ROOT, env.get("PYTHONPATH")])
    )
    return env


def test_console_script(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "keras_vae.cli", "list", "--json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=subprocess_env(),
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    names = [preset["name"] for preset in json.loads(result.stdout)]
    assert names == builtin_presets()

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "keras_vae.cli",
            "sample",
            "nope",
            "-o",
            "a.png",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=subprocess_env(),
        timeout=300,
    )
    assert result.returncode == 2
    assert "keras-vae: error: unknown preset 'nope'" in result.stderr
    assert "Traceback" not in result.stderr


def test_installed_console_script(tmp_path):
    """`keras-vae` as pip installs it ([project.scripts] of pyproject.toml).

    Looked for beside the running Python first (a virtual environment's
    scripts, even when it is not activated: `PYTHON=venv/bin/python bash
    scripts/test.sh`), then on PATH.
    """
    beside_python = os.path.dirname(sys.executable)
    script = shutil.which("keras-vae", path=beside_python) or shutil.which(
        "keras-vae"
    )
    if script is None:
        pytest.fail(
            "the `keras-vae` console script is neither beside "
            f"{sys.executable} nor on PATH: keras_vae is not installed. Run "
            "`pip install -e .` in the repository root."
        )
    result = subprocess.run(
        [script, "list"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=subprocess_env(),
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    names = [line.split()[0] for line in result.stdout.splitlines() if line]
    assert "mnist_mlp_2" in names, result.stdout


def test_help_and_list_do_not_import_tensorflow(tmp_path):
    code = (
        "import sys\n"
        "from keras_vae.cli import main\n"
        "assert main(['--help']) == 0\n"
        "assert main(['list']) == 0\n"
        "assert 'tensorflow' not in sys.modules, 'tensorflow was imported'\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=subprocess_env(KERAS_BACKEND="jax"),
        timeout=300,
    )
    assert result.returncode == 0, result.stderr


# ----------------------------------------------------------------------
# The presets that ship with keras_vae.


# The zoo's configs, not the presets on disk: a preset gone missing fails
# the tests below instead of dropping out of them.
ZOO_PRESETS = sorted(configs.PRESETS)


def test_every_zoo_preset_is_committed():
    assert builtin_presets() == ZOO_PRESETS


@pytest.mark.parametrize("name", ZOO_PRESETS)
def test_builtin_preset(name, tmp_path, capsys):
    samples = tmp_path / "samples.png"
    status, _, err = run(
        capsys, "sample", name, "-n", 16, "--scale", 1, "-o", samples
    )
    assert status == 0, err
    assert png_size(samples) == grid_size(4, 4)
    strip = tmp_path / "strip.png"
    result = run(
        capsys, "interpolate", name, "--steps", 4, "--scale", 1, "-o", strip
    )
    if configs.get_config(name).model == "vq":  # Its latents are codes.
        assert_user_error(result, "is a VQVAE", "`interpolate` needs a VAE")
        assert not strip.exists()
        return
    status, _, err = result
    assert status == 0, err
    assert png_size(strip) == grid_size(1, 4 + 2)


def _builtin_model(name):
    """A shipped preset's model, whatever its class."""
    from keras_vae.presets import _preset_io

    return _preset_io.load_as(keras.Model, name)


@pytest.mark.parametrize("name", ZOO_PRESETS)
def test_builtin_preset_reconstruct(name, tmp_path, capsys):
    output = tmp_path / "reconstructions.png"
    status, _, err = run(
        capsys,
        "reconstruct",
        name,
        "-n",
        4,
        "--columns",
        2,
        "--scale",
        1,
        "-o",
        output,
    )
    assert status == 0, err
    assert png_size(output) == grid_size(2, 4)
    # Pairs: the binarized test images 0-3, each then its reconstruction
    # (a conditional preset's given its images' labels).
    vae = _builtin_model(name)
    x, labels = keras_vae.datasets.load_binarized_test_set(
        vae.preset_metadata["dataset"]
    )
    given = {}
    if isinstance(vae, keras_vae.ConditionalVAE):
        given = {"condition": labels[:4]}
    grid = np.asarray(Image.open(output)).astype("float32")
    cells = [
        grid[top : top + 28, left : left + 28]
        for top in range(2, 2 * CELL, CELL)
        for left in range(2, 4 * CELL, CELL)
    ]
    originals, reconstructions = cells[0::2], cells[1::2]
    expected = vae.reconstruct(x[:4], **given)[..., 0]
    for i in range(4):
        np.testing.assert_array_equal(
            originals[i], np.round(x[i, ..., 0] * 255)
        )
        np.testing.assert_allclose(
            reconstructions[i], np.round(expected[i] * 255), atol=1
        )
        # A trained model: each reconstruction looks like its digit.
        correlation = np.corrcoef(
            reconstructions[i].ravel(), originals[i].ravel()
        )[0, 1]
        assert correlation > 0.5, (i, correlation)


@pytest.mark.parametrize("name", ZOO_PRESETS)
def test_builtin_preset_evaluate(name, capsys):
    argv = ("evaluate", name, "-k", 5, "--limit", 20, "--quiet")
    if configs.get_config(name).model == "vq":  # No likelihood bound.
        assert_user_error(
            run(capsys, *argv, "--json"),
            "is a VQVAE",
            "`evaluate` needs a VAE",
            "its card gives its reconstruction metrics",
        )
        return
    status, out, err = run(capsys, *argv, "--json")
    assert status == 0, err
    metrics = json.loads(out)
    assert metrics["preset"] == name
    for key in ("nll", "nll_standard_error", "elbo", "kl", "reconstruction"):
        assert math.isfinite(metrics[key]), key
    assert metrics["protocol"]["num_images"] == 20
    assert metrics["protocol"]["num_importance_samples"] == 5
    assert metrics["elbo"] == pytest.approx(
        -(metrics["reconstruction"] + metrics["kl"]), rel=1e-4
    )
    # The 20 images agree with the published, full test set, NLL.
    published = keras_vae.VAE.from_preset(name).preset_metadata["metrics"]
    assert abs(metrics["nll"] - published["nll"]) < (
        3 * metrics["nll_standard_error"] + 5
    ), (metrics["nll"], published["nll"])

    status, out, err = run(capsys, *argv)
    assert status == 0, err
    assert f"{name} on the" in out and "(20 images" in out and "k=5" in out
    assert f"NLL             {metrics['nll']:.2f} +/- " in out
    assert f"ELBO            {metrics['elbo']:.2f} nats" in out
    assert f"published NLL: {published['nll']:.2f}" in out


# ----------------------------------------------------------------------
# Conditional presets


@pytest.fixture(scope="module")
def tiny_cvae(tmp_path_factory):
    """A tiny MNIST preset of an untrained ConditionalVAE (10 labels)."""
    cvae = keras_vae.ConditionalVAE.mlp(
        (28, 28, 1), latent_dim=2, num_classes=10, hidden_units=(16,), seed=0
    )
    cvae(cvae._dummy_inputs((28, 28, 1)))
    directory = tmp_path_factory.mktemp("presets") / "tiny_cvae"
    cvae.save_to_preset(
        directory, metadata={"name": "tiny_cvae", "dataset": "mnist"}
    )
    return str(directory)


@pytest.mark.every_backend
def test_conditional_preset_commands(tiny, tiny_cvae, tmp_path, capsys):
    output = tmp_path / "sevens.png"
    status, out, _ = run(
        capsys, "sample", tiny_cvae, "--condition", 7, "-n", 4, "-o", output
    )
    assert status == 0 and "of class 7" in out
    assert png_size(output) == grid_size(2, 2, scale=2)
    status, out, _ = run(capsys, "sample", tiny_cvae, "-n", 10, "-o", output)
    assert status == 0 and "the classes in turn" in out
    for argv in (
        ("reconstruct", tiny_cvae, "-n", 4, "-o", tmp_path / "r.png"),
        ("interpolate", tiny_cvae, "--steps", 4, "-o", tmp_path / "i.png"),
    ):
        assert run(capsys, *argv)[0] == 0
    status, out, _ = run(
        capsys, "evaluate", tiny_cvae, "-k", 3, "--limit", 20, "--json"
    )
    assert status == 0
    metrics = json.loads(out)
    # The test labels are the conditions: the CLI and the Python API agree.
    loaded = keras_vae.ConditionalVAE.from_preset(tiny_cvae)
    x, labels = keras_vae.datasets.load_binarized_test_set("mnist")
    log_px = loaded.log_likelihood(
        x[:20], condition=labels[:20], num_samples=3, seed=0, verbose=0
    )
    np.testing.assert_allclose(metrics["nll"], -log_px.mean(), rtol=1e-5)
    assert_user_error(
        run(capsys, "sample", tiny_cvae, "--condition", 10, "-o", output),
        "--condition must be a class of",
        "0 to 9",
    )
    assert_user_error(
        run(capsys, "sample", tiny, "--condition", 3, "-o", output),
        "--condition applies to conditional presets",
    )


def cells(path, rows, columns):
    """The images of a PNG grid written with `--scale 1`, (rows, columns,
    28, 28), in [0, 255]."""
    grid = np.asarray(Image.open(path), "float64")
    return np.stack(
        [
            np.stack(
                [
                    grid[
                        2 + r * CELL : r * CELL + CELL,
                        2 + c * CELL : c * CELL + CELL,
                    ]
                    for c in range(columns)
                ]
            )
            for r in range(rows)
        ]
    )


def test_interpolate_slerp(tiny, tmp_path, capsys):
    output = tmp_path / "slerp.png"
    argv = ["interpolate", tiny, "--from", 3, "--to", 7, "--steps", 5]
    argv += ["--method", "slerp", "--no-originals", "--scale", 1]
    status, out, err = run(capsys, *argv, "-o", output)
    assert status == 0, err
    assert "slerp interpolation" in out
    x, _ = keras_vae.datasets.load_binarized_test_set("mnist")
    vae = keras_vae.VAE.from_preset(tiny)
    a, b = vae.encode(x[[3, 7]])[0].astype("float64")
    # Spherical interpolation, written here: the great circle from a to b.
    angle = np.arccos(a @ b / np.linalg.norm(a) / np.linalg.norm(b))
    t = np.linspace(0, 1, 5)[:, None]
    path = (np.sin((1 - t) * angle) * a + np.sin(t * angle) * b) / np.sin(angle)
    expected = vae.decode(path.astype("float32"))[..., 0] * 255
    np.testing.assert_allclose(cells(output, 1, 5)[0], expected, atol=1)
    # The default stays the straight line of earlier versions.
    status, out, _ = run(capsys, *argv[:-5], "-o", output)
    assert status == 0 and "linear interpolation" in out


@pytest.mark.every_backend
def test_traverse(tiny, tmp_path, capsys):
    output = tmp_path / "traversal.png"
    status, out, err = run(
        capsys, "traverse", tiny, "--dim", 1, 0, "--image", 5,
        "--range", -2, 2, "--steps", 5, "--scale", 1, "-o", output,
    )  # fmt: skip
    assert status == 0, err
    assert "latent dimensions 1, 0" in out and "test image 5" in out
    assert png_size(output) == grid_size(2, 5)
    x, _ = keras_vae.datasets.load_binarized_test_set("mnist")
    vae = keras_vae.VAE.from_preset(tiny)
    code = vae.encode(x[5:6])[0][0]
    values = np.linspace(-2, 2, 5)
    for row, dim in enumerate((1, 0)):
        z = np.repeat(code[None], 5, axis=0)
        z[:, dim] = values  # Row `row` sweeps dimension `dim`.
        expected = vae.decode(z)[..., 0] * 255
        np.testing.assert_allclose(cells(output, 2, 5)[row], expected, atol=1)
    # From the origin, with the defaults: 7 values from -3 to 3, scale 2.
    status, out, err = run(capsys, "traverse", tiny, "--dim", 0, "--zero",
                           "-o", output)  # fmt: skip
    assert status == 0, err
    assert "from the origin" in out and "7 values from -3 to 3" in out
    assert png_size(output) == grid_size(1, 7, scale=2)


@pytest.mark.parametrize(
    "argv, fragments",
    [
        (["--dim", 2], ["--dim must name latent dimensions", "0 to 1", "=2"]),
        (["--dim", 0, 0], ["names a dimension twice"]),
        (["--dim", 0, "--range", 1, -1], ["LOW < HIGH", "--range 1 -1"]),
        (["--dim", 0, "--range", 0, "inf"], ["argument --range", "finite"]),
        (["--dim", 0, "--image", 10000], ["--image must be an index"]),
        (["--dim", 0, "--condition", 3], ["applies to conditional presets"]),
        (["--dim", 0, "--zero", "--image", 3], ["not allowed with argument"]),
        (["--dim", 0, "--steps", 1], ["argument --steps"]),
        (["--dim", -1], ["argument --dim"]),
        ([], ["--dim"]),
    ],
)
def test_traverse_errors(tiny, tmp_path, capsys, argv, fragments):
    output = tmp_path / "t.png"
    assert_user_error(
        run(capsys, "traverse", tiny, *argv, "-o", output), *fragments
    )
    assert not output.exists()


def test_traverse_conditional(tiny_cvae, tmp_path, capsys):
    output = tmp_path / "t.png"
    assert_user_error(
        run(capsys, "traverse", tiny_cvae, "--dim", 0, "--zero", "-o", output),
        "pass --condition C",
    )
    assert_user_error(
        run(capsys, "traverse", tiny_cvae, "--dim", 0, "--zero",
            "--condition", 10, "-o", output),
        "--condition must be a class", "0 to 9",
    )  # fmt: skip
    status, _, err = run(
        capsys, "traverse", tiny_cvae, "--dim", 0, "--zero", "--condition",
        7, "--steps", 3, "--scale", 1, "-o", output,
    )  # fmt: skip
    assert status == 0, err
    cvae = keras_vae.ConditionalVAE.from_preset(tiny_cvae)
    z = np.zeros((3, 2), "float32")
    z[:, 0] = [-3, 0, 3]
    expected = cvae.decode(z, condition=np.full(3, 7))[..., 0] * 255
    np.testing.assert_allclose(cells(output, 1, 3)[0], expected, atol=1)
