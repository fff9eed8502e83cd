"""`python -m keras_vae.datasets`: the fetch and info commands."""

import os
import pathlib
import subprocess
import sys

import pytest

from keras_vae.datasets import _registry
from keras_vae.datasets import _testing
from keras_vae.datasets.__main__ import main

REPO = pathlib.Path(__file__).resolve().parents[2]


def test_fetch_is_idempotent(tmp_path, monkeypatch, capsys):
    spec, _ = _testing.install_fake_dataset(monkeypatch, tmp_path, fetch=False)
    assert main(["fetch", "mnist"]) == 0
    assert "mnist: verified and cached in" in capsys.readouterr().out
    assert main(["fetch", "mnist"]) == 0
    assert "mnist: already present, verified" in capsys.readouterr().out
    assert spec.upstream.calls == 1
    assert main(["fetch", "mnist", "--force", "--quiet"]) == 0
    assert capsys.readouterr().out == ""
    assert spec.upstream.calls == 2


def test_fetch_into_an_explicit_cache_dir(tmp_path, monkeypatch, capsys):
    _testing.install_fake_dataset(monkeypatch, tmp_path / "env", fetch=False)
    assert main(["fetch", "mnist", "--cache-dir", str(tmp_path / "cli")]) == 0
    assert (tmp_path / "cli" / "datasets" / "mnist").is_dir()
    assert not (tmp_path / "env").exists()


def test_fetch_error_exits_with_status_1(tmp_path, monkeypatch, capsys):
    upstream = _testing.FakeUpstream(
        _testing.make_arrays(), corrupt=_registry.TRAIN_IMAGES
    )
    _testing.install_fake_dataset(
        monkeypatch, tmp_path, fetch=False, upstream=upstream
    )
    assert main(["fetch", "mnist"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: SHA-256 mismatch for mnist file")
    assert not (tmp_path / "datasets" / "mnist").exists()


def test_unknown_name_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as info:
        main(["fetch", "mnist", "cifar10"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "unknown dataset name(s) cifar10" in err
    assert "mnist, fashion_mnist" in err


def test_info(tmp_path, monkeypatch, capsys):
    _testing.install_fake_dataset(monkeypatch, tmp_path)
    assert main(["info", "mnist", "--data-dir", str(tmp_path / "none")]) == 0
    out = capsys.readouterr().out
    assert "1. data directory (data_dir argument): train:" in out
    assert f"2. keras_vae cache: verified, {tmp_path}" in out
    assert "3. tensorflow-datasets:" in out
    assert "fetch: python -m keras_vae.datasets fetch mnist" in out


def test_module_entry_point_help():
    result = subprocess.run(
        [sys.executable, "-m", "keras_vae.datasets", "fetch", "--help"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "--no-apt-update" in result.stdout
    assert "npm registry" in result.stdout
