"""Crafted HDF5 and `.keras` files refused before anything is read: the
damage check (keras_vae.utils._damaged), which runs before Keras opens a
preset's `model.weights.h5` or zoo.train's `checkpoint.keras`, walks the
HDF5 structure only and refuses what makes a loader read other files
(external storage, virtual datasets, external and soft links) or allocate
unbounded memory (a few KB declaring TiBs), while honest Keras files,
compiled ones with optimizer state included, still load."""

import glob
import os
import time
import zipfile

import h5py
import keras
import numpy as np
import pytest
from test_safety_presets import rehash
from test_safety_presets import tiny_vae

import keras_vae
from keras_vae.presets import PresetError
from keras_vae.utils import _damaged

PRESETS = os.path.join(os.path.dirname(keras_vae.__file__), "presets")
MARKER = b"KERAS-VAE-SECRET-MARKER-0123456789"


class _CheckError(ValueError):
    pass


@pytest.fixture
def no_reads(monkeypatch):
    """Fails the test if any HDF5 dataset is read."""

    def refuse(self, *args, **kwargs):
        raise AssertionError(f"dataset {self.name} was read")

    for name in ["__getitem__", "read_direct", "__array__", "astype"]:
        monkeypatch.setattr(h5py.Dataset, name, refuse)


@pytest.fixture
def secret(tmp_path):
    """A file outside any Keras file, whose bytes must never be read (nor
    quoted), and an HDF5 file holding them, for links to point at."""
    path = tmp_path / "outside" / "secret.txt"
    path.parent.mkdir()
    path.write_bytes(MARKER * 4)
    target = tmp_path / "outside" / "target.h5"
    with h5py.File(target, "w") as f:
        f["secret"] = np.frombuffer(MARKER * 4, "uint8")
    return path


def _dense(f):
    """What a `.weights.h5` file of one Dense layer looks like."""
    group = f.create_group("layers/dense/vars")
    group["0"] = np.ones((4, 3), "float32")
    group["1"] = np.zeros((3,), "float32")


def _external_storage(f, secret):
    f.create_dataset(
        "layers/dense/vars/0",
        shape=(len(MARKER),),
        dtype="uint8",
        external=[(os.fspath(secret), 0, len(MARKER))],
    )


def _virtual(f, secret):
    layout = h5py.VirtualLayout(shape=(len(MARKER) * 4,), dtype="uint8")
    target = os.fspath(secret.parent / "target.h5")
    layout[:] = h5py.VirtualSource(target, "secret", shape=layout.shape)
    f.create_group("layers/dense/vars").create_virtual_dataset("0", layout)


def _external_link(f, secret):
    target = os.fspath(secret.parent / "target.h5")
    f.create_group("layers/dense")["vars"] = h5py.ExternalLink(target, "/")


def _soft_link(f, secret):
    _dense(f)
    f["layers/other"] = h5py.SoftLink("/layers/dense")


def _huge(f, secret):
    # 4 TiB declared, chunked: nothing is stored until written.
    f.create_dataset(
        "layers/dense/vars/0", shape=(2**40,), dtype="float32", chunks=(1024,)
    )


def _huge_compressed(f, secret):
    f.create_dataset(
        "layers/dense/vars/0",
        shape=(2**20, 2**20),
        dtype="float64",
        chunks=(64, 64),
        compression="gzip",
    )


def _overflowing(f, secret):
    # A shape whose element count overflows 64 bits.
    f.create_dataset(
        "layers/dense/vars/0",
        shape=(2**40, 2**40),
        dtype="float32",
        chunks=(1, 1024),
    )


def _many_small(f, secret):
    # Each under any per-dataset floor; 64 GiB together.
    group = f.create_group("layers/dense/vars")
    for i in range(64):
        group.create_dataset(
            str(i), shape=(2**28,), dtype="float32", chunks=(2**16,)
        )


def _strings(f, secret):
    group = f.create_group("layers/dense/vars")
    group.create_dataset("0", data=["a"] * 4, dtype=h5py.string_dtype())


def _references(f, secret):
    _dense(f)
    refs = f.create_dataset("layers/refs", (1000,), dtype=h5py.ref_dtype)
    del refs


CRAFTED = {
    "external storage": (_external_storage, "external storage"),
    "virtual dataset": (_virtual, "virtual"),
    "external link": (_external_link, "external link"),
    "soft link": (_soft_link, "soft link"),
    "huge chunked": (_huge, "declare at least"),
    "huge compressed": (_huge_compressed, "declare at least"),
    "overflowing shape": (_overflowing, "declare at least"),
    "many small": (_many_small, "declare at least"),
    "strings": (_strings, "not a numeric type"),
    "references": (_references, "not a numeric type"),
}


def crafted_h5(path, kind, secret):
    make, _ = CRAFTED[kind]
    with h5py.File(path, "w") as f:
        make(f, secret)
    return path


@pytest.fixture(scope="module")
def honest(tmp_path_factory):
    """Files as Keras writes them: a small model's weights, and a compiled
    model (its optimizer state built) saved as `.keras` and `.weights.h5`."""
    root = tmp_path_factory.mktemp("honest")
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(8), keras.layers.Dense(3)]
    )
    model.save_weights(root / "plain.weights.h5")
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.ones((8, 4)), np.ones((8, 3)), epochs=1, verbose=0)
    model.save(root / "model.keras")
    model.save_weights(root / "model.weights.h5")
    return root


def _model():
    return keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(8), keras.layers.Dense(3)]
    )


def with_member(source, target, name, data):
    """A copy of the `.keras` archive `source` whose member `name` holds
    `data` (the archive stays a valid zip, its CRCs right)."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for member in old.infolist():
            content = data if member.filename == name else old.read(member)
            new.writestr(member, content)
    return target


def assert_refused(info, path, *fragments):
    message = str(info.value)
    assert "\n" not in message and len(message) < 1000, message
    assert f"{path} is refused" in message, message
    assert MARKER.decode() not in message
    for fragment in fragments:
        assert fragment in message, message


# ----------------------------------------------------------------------
# Crafted `.h5` files: refused, nothing read.


@pytest.mark.parametrize("kind", sorted(CRAFTED))
def test_a_crafted_h5_file_is_refused_unread(kind, secret, tmp_path, no_reads):
    path = crafted_h5(tmp_path / "model.weights.h5", kind, secret)
    assert os.path.getsize(path) < 64 * 1024
    start = time.monotonic()
    with pytest.raises(_CheckError) as info:
        _damaged.check_keras_file(path, _CheckError, "Move it.")
    assert time.monotonic() - start < 5
    assert_refused(info, path, CRAFTED[kind][1])
    assert str(info.value).endswith("Move it.")


@pytest.mark.parametrize("kind", ["external storage", "huge chunked"])
def test_load_weights_refuses_a_crafted_file(kind, secret, tmp_path):
    path = crafted_h5(tmp_path / "model.weights.h5", kind, secret)
    model = _model()
    before = [keras.ops.convert_to_numpy(v) for v in model.weights]
    with pytest.raises(_CheckError) as info:
        _damaged.load_weights_or_raise(model, path, _CheckError)
    assert_refused(info, path)
    for variable, value in zip(model.weights, before):
        np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(variable), value
        )


def test_external_storage_content_never_reaches_the_caller(secret, tmp_path):
    # Without the guard that refuses all reads: the bytes of the outside
    # file appear nowhere (h5py returns them for an honest read).
    path = crafted_h5(tmp_path / "x.h5", "external storage", secret)
    with h5py.File(path, "r") as f:
        assert f["layers/dense/vars/0"][()].tobytes() == MARKER
    with pytest.raises(_CheckError) as info:
        _damaged.check_keras_file(path, _CheckError)
    assert_refused(info, path, "'layers/dense/vars/0'")
    assert MARKER.decode() not in repr(info.value.__cause__)
    assert info.value.__cause__ is None


# ----------------------------------------------------------------------
# Crafted `.keras` archives.


@pytest.mark.parametrize(
    "kind", ["external storage", "external link", "huge chunked", "strings"]
)
def test_a_crafted_keras_member_is_refused_unread(
    kind, honest, secret, tmp_path, no_reads
):
    member = crafted_h5(tmp_path / "member.h5", kind, secret)
    path = with_member(
        honest / "model.keras",
        tmp_path / "model.keras",
        "model.weights.h5",
        member.read_bytes(),
    )
    start = time.monotonic()
    with pytest.raises(_CheckError) as info:
        _damaged.load_model_or_raise(path, _CheckError, "Move it.")
    assert time.monotonic() - start < 5
    assert_refused(info, path, "'model.weights.h5'", CRAFTED[kind][1])


def test_a_keras_member_declaring_more_than_it_holds_is_refused(
    honest, tmp_path
):
    # 256 MiB of zeros deflate to a few hundred KB: refused before any
    # member is decompressed.
    path = tmp_path / "model.keras"
    with zipfile.ZipFile(honest / "model.keras") as old:
        with zipfile.ZipFile(path, "w") as new:
            for member in old.infolist():
                new.writestr(member, old.read(member))
            bomb = zipfile.ZipInfo("assets/bomb.bin")
            bomb.compress_type = zipfile.ZIP_DEFLATED
            with new.open(bomb, "w", force_zip64=True) as bomb:
                chunk = bytes(1 << 20)
                for _ in range(256):
                    bomb.write(chunk)
    info_sizes = zipfile.ZipFile(path).getinfo("assets/bomb.bin")
    assert info_sizes.file_size == 256 << 20
    assert os.path.getsize(path) < 2 << 20
    start = time.monotonic()
    with pytest.raises(_CheckError) as info:
        _damaged.check_keras_file(path, _CheckError)
    assert time.monotonic() - start < 2
    assert_refused(info, path, "members declare")


def test_the_check_of_a_keras_archive_leaves_no_temporary_file(
    honest, tmp_path, monkeypatch
):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", os.fspath(scratch))
    monkeypatch.setattr("tempfile.tempdir", None)
    _damaged.check_keras_file(honest / "model.keras")
    assert os.listdir(scratch) == []


# ----------------------------------------------------------------------
# The bound.


def test_max_bytes_bounds_what_a_file_declares(honest, secret, tmp_path):
    path = honest / "model.weights.h5"
    with pytest.raises(_CheckError) as info:
        _damaged.check_keras_file(path, _CheckError, max_bytes=100)
    assert_refused(info, path, "declare at least", "100")
    with pytest.raises(_CheckError) as info:
        _damaged.check_keras_file(
            honest / "model.keras", _CheckError, max_bytes=100
        )
    assert_refused(info, honest / "model.keras", "members declare")
    # A larger bound admits a file declaring more than it holds; it is
    # still never read.
    huge = crafted_h5(tmp_path / "huge.h5", "huge chunked", secret)
    _damaged.check_keras_file(huge, _CheckError, max_bytes=2**43)


# ----------------------------------------------------------------------
# Honest files still load.


def test_honest_files_pass_unread(honest, no_reads):
    for name in ["plain.weights.h5", "model.weights.h5", "model.keras"]:
        _damaged.check_keras_file(honest / name, _CheckError)


def test_a_compiled_keras_file_loads_with_its_optimizer_state(honest):
    model = _damaged.load_model_or_raise(honest / "model.keras", _CheckError)
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 1
    assert len(model.optimizer.variables) > 1
    other = _model()
    _damaged.load_weights_or_raise(
        other, honest / "plain.weights.h5", _CheckError
    )


@pytest.mark.parametrize(
    "path", sorted(glob.glob(os.path.join(PRESETS, "*", "model.weights.h5")))
)
def test_shipped_preset_weights_pass(path, no_reads):
    _damaged.check_keras_file(path, _CheckError)


def test_a_shipped_preset_loads():
    vae = keras_vae.VAE.from_preset("mnist_mlp_2")
    assert vae.count_params() > 0


# ----------------------------------------------------------------------
# Loading errors the check cannot foresee: one error naming the file.


@pytest.mark.parametrize("error", [MemoryError, TypeError, RuntimeError])
def test_odd_load_errors_name_the_file(honest, monkeypatch, error):
    def fail(*args, **kwargs):
        raise error("odd")

    monkeypatch.setattr(keras.saving, "load_model", fail)
    path = honest / "model.keras"
    with pytest.raises(_CheckError, match=f"cannot load {path}"):
        _damaged.load_model_or_raise(path, _CheckError)
    model = _model()
    monkeypatch.setattr(model, "load_weights", fail)
    path = honest / "model.weights.h5"
    with pytest.raises(_CheckError, match=f"cannot load the weights {path}"):
        _damaged.load_weights_or_raise(model, path, _CheckError)


# ----------------------------------------------------------------------
# A preset whose weights were replaced by a crafted file.


@pytest.mark.parametrize(
    "kind", ["external storage", "external link", "huge chunked"]
)
def test_a_preset_with_crafted_weights_is_refused(kind, secret, tmp_path):
    directory = tiny_vae().save_to_preset(tmp_path / "preset")
    weights = os.path.join(directory, "model.weights.h5")
    os.remove(weights)
    crafted_h5(weights, kind, secret)
    rehash(directory)
    with pytest.raises(PresetError) as info:
        keras_vae.VAE.from_preset(directory)
    assert_refused(info, weights, CRAFTED[kind][1])
