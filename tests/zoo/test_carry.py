"""`zoo.carry`: an unfinished run packed into one file and unpacked on
another machine, never over a run."""

import filecmp
import os

import pytest

from zoo import carry

# Archives of a run's files, the same on every backend (tests/conftest.py).
pytestmark = pytest.mark.backend_independent


def test_pack_then_unpack_gives_the_same_run(
    trained_run, tmp_path, monkeypatch
):
    monkeypatch.setattr(carry, "ROOT", str(tmp_path / "in_training"))
    archive = carry.pack("mnist_mlp_2", trained_run)
    assert os.listdir(tmp_path / "in_training") == ["mnist_mlp_2.tar"]
    carry.pack("mnist_mlp_2", trained_run)  # Replaced, not accumulated.
    assert os.listdir(tmp_path / "in_training") == ["mnist_mlp_2.tar"]
    target = str(tmp_path / "elsewhere")
    carry.unpack("mnist_mlp_2", target)
    for member in carry.MEMBERS:
        assert filecmp.cmp(
            os.path.join(trained_run, member),
            os.path.join(target, member),
            shallow=False,
        )
    # A run already there is never replaced.
    before = os.path.getmtime(os.path.join(target, carry.CHECKPOINT))
    with pytest.raises(FileExistsError, match="already holds a checkpoint"):
        carry.unpack("mnist_mlp_2", target)
    assert os.path.getmtime(os.path.join(target, carry.CHECKPOINT)) == before
    assert os.path.isfile(archive)


def test_an_archive_of_anything_else_is_refused(tmp_path, monkeypatch):
    import tarfile

    monkeypatch.setattr(carry, "ROOT", str(tmp_path))
    (tmp_path / "notes.txt").write_text("hello")
    with tarfile.open(tmp_path / "mnist_mlp_2.tar", "w") as archive:
        archive.add(tmp_path / "notes.txt", arcname="notes.txt")
    with pytest.raises(ValueError, match="is not a packed run"):
        carry.unpack("mnist_mlp_2", str(tmp_path / "run"))
    assert not (tmp_path / "run").exists()
