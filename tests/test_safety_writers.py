"""Writers killed with SIGKILL at random points leave the old version or the
new one, intact, and nothing that survives the next write.

Each writer runs in a child process that writes version after version; the
test kills it after a seeded random delay (so that different points of a
write are hit), checks that the target parses as a complete version, runs
the writer once more, and checks that no temporary file or scratch
directory is left beside the target. The writers: `atomic_write`, the
zoo's `save_checkpoint` and `write_state`, and `keras_vae.datasets.fetch`.
"""

import hashlib
import json
import os
import pathlib
import random
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from keras_vae.datasets import _cache
from keras_vae.datasets import _fetch
from keras_vae.datasets import _registry
from keras_vae.datasets import _testing
from keras_vae.utils import atomic_write
from keras_vae.utils import files

REPO = pathlib.Path(__file__).resolve().parents[1]

# Imports keras_vae's subpackages without keras_vae/__init__.py (which
# imports Keras), so that a child starts in a fraction of a second.
_LIGHT_IMPORT = textwrap.dedent(
    """
    import sys, types
    package = types.ModuleType("keras_vae")
    package.__path__ = [sys.argv[1] + "/keras_vae"]
    sys.modules["keras_vae"] = package
    """
)


def _dead_pid():
    """The pid of a process that has exited (and been reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def _start(code, *argv, env=None):
    return subprocess.Popen(
        [sys.executable, "-c", code, str(REPO), *map(str, argv)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=None if env is None else {**os.environ, **env},
    )


def _kill_after(process, event, delay):
    """Waits for the child to print the line `event`, sleeps `delay`
    seconds, and kills it with SIGKILL; returns the lines it printed."""
    lines = []
    for line in process.stdout:
        lines.append(line.strip())
        if line.strip() == event:
            break
    else:
        process.wait()
        raise AssertionError(
            f"the writer ended before {event!r}: {process.stderr.read()}"
        )
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    process.stdout.close()
    process.stderr.close()
    return lines


def _kill_during_write(process, directory, target, delay):
    """Waits for the child to print "writing" and then for a write of
    `target` to be under way (a file other than `target` appears in
    `directory`), sleeps `delay` seconds and kills the child with SIGKILL."""
    assert process.stdout.readline().strip() == "writing"
    deadline = time.monotonic() + 60
    while set(os.listdir(directory)) <= {target}:
        assert time.monotonic() < deadline, "no write started"
        time.sleep(0.001)
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    process.stdout.close()
    process.stderr.close()


def _delays(seed, count, longest):
    rng = random.Random(seed)
    return [rng.uniform(0.0, longest) for _ in range(count)]


# ----------------------------------------------------------------------
# atomic_write


_ATOMIC_CHILD = _LIGHT_IMPORT + textwrap.dedent(
    """
    import hashlib
    from keras_vae.utils.files import atomic_write

    path = sys.argv[2]
    print("writing", flush=True)
    for version in range(1, 10**6):
        payload = bytes([version % 256]) * (4 << 20)
        with atomic_write(path) as f:
            f.write(b"%d\\n" % version)
            for start in range(0, len(payload), 1 << 16):
                f.write(payload[start : start + (1 << 16)])
            f.write(hashlib.sha256(payload).hexdigest().encode())
    """
)


def _parse_version(path):
    """The version in a file the atomic-write child wrote; fails on a
    partial file."""
    data = path.read_bytes()
    head, rest = data.split(b"\n", 1)
    payload, digest = rest[:-64], rest[-64:]
    assert hashlib.sha256(payload).hexdigest().encode() == digest
    assert len(payload) == 4 << 20
    return int(head)


def test_atomic_write_killed_at_random_points(tmp_path):
    target = tmp_path / "data.bin"
    with atomic_write(target) as f:  # The old version, version 0.
        payload = b"\x00" * (4 << 20)
        f.write(b"0\n" + payload + hashlib.sha256(payload).hexdigest().encode())
    # Files that look like temporary files but are not the dead writer's.
    decoys = {
        ".data.bin.tmp": b"a user's file",
        ".data.bin.1234.tmp": b"not our name",
        f".data.bin.{os.getpid()}-0123abcd.tmp": b"a live writer's",
        ".other.bin.99999999-0123abcd.tmp": b"another target's",
        "data.bin.99999999-0123abcd.tmp": b"no leading dot",
    }
    for name, data in decoys.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / f".data.bin.{_dead_pid()}-0123abcd.tmp").mkdir()
    versions = []
    for delay in _delays(seed=11, count=6, longest=0.3):
        child = _start(_ATOMIC_CHILD, target)
        _kill_after(child, "writing", delay)
        versions.append(_parse_version(target))  # Old or new, whole.
    assert versions != [0] * len(versions)  # Some writes completed.
    with atomic_write(target) as f:  # One more run of the writer.
        f.write(b"done")
    assert target.read_bytes() == b"done"
    leftovers = sorted(set(os.listdir(tmp_path)) - set(decoys))
    dead_directory = [n for n in leftovers if n.startswith(".data.bin.")]
    assert leftovers == sorted(["data.bin"] + dead_directory)
    assert len(dead_directory) == 1  # A directory, not ours to remove.
    assert (tmp_path / dead_directory[0]).is_dir()
    for name, data in decoys.items():
        assert (tmp_path / name).read_bytes() == data


def test_atomic_write_removes_only_dead_writers_temporaries(tmp_path):
    target = tmp_path / "a.json"
    dead = tmp_path / f".a.json.{_dead_pid()}-89abcdef.tmp"
    dead.write_text("{")
    alive = tmp_path / f".a.json.{os.getpid()}-89abcdef.tmp"
    alive.write_text("{")
    link = tmp_path / f".a.json.{_dead_pid()}-0000ffff.tmp"
    link.symlink_to(tmp_path / "elsewhere")
    with atomic_write(target, "w") as f:
        f.write("{}")
    assert not dead.exists()
    assert alive.exists() and link.is_symlink()
    assert sorted(os.listdir(tmp_path)) == sorted(
        ["a.json", alive.name, link.name]
    )


def test_atomic_write_errors_name_the_target(tmp_path, monkeypatch):
    target = tmp_path / "a.txt"
    target.write_text("old")

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError) as info:
        with atomic_write(target, "w") as f:
            f.write("new")
    assert info.value.filename == str(target)
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["a.txt"]


def test_atomic_write_of_the_longest_name(tmp_path):
    if os.pathconf(tmp_path, "PC_NAME_MAX") < 255:
        pytest.skip("file names of 255 bytes are too long here")
    target = tmp_path / ("n" * 255)
    with atomic_write(target, "w") as f:
        f.write("fits")
    assert target.read_text() == "fits"
    assert os.listdir(tmp_path) == [target.name]
    dead = f"{files._temporary_stem(target.name)}.{_dead_pid()}-0a0b0c0d.tmp"
    (tmp_path / dead).write_text("left by a killed writer")
    with atomic_write(target, "w") as f:
        f.write("again")
    assert os.listdir(tmp_path) == [target.name]


# ----------------------------------------------------------------------
# The zoo's checkpoints: save_checkpoint and write_state.


_CHECKPOINT_CHILD = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, sys.argv[1])
    import keras
    import numpy as np
    from keras_vae.training.run import save_checkpoint, write_state

    workdir, writer = sys.argv[2], sys.argv[3]
    model = keras.Sequential(
        [keras.Input((256,)), keras.layers.Dense(512), keras.layers.Dense(256)]
    )
    model.compile(optimizer="adam", loss="mse")

    def save(version):
        if writer == "checkpoint":
            for variable in model.weights:
                variable.assign(np.full(variable.shape, version, "float32"))
            save_checkpoint(model, workdir)
        else:
            # A long run's state: tens of thousands of epochs logged.
            epochs = [{"epoch": i, "loss": 1.0} for i in range(version)]
            write_state(workdir, {"epochs": epochs, "epochs_done": version})

    save(1 if writer == "checkpoint" else 20000)  # The old version.
    print("writing", flush=True)
    for version in range(2, 10**6):
        save(version if writer == "checkpoint" else 20000 + version)
    """
)


def _checkpoint_version(workdir):
    from keras_vae.utils._damaged import load_model_or_raise

    model = load_model_or_raise(workdir / "checkpoint.keras")
    values = {float(np.unique(np.asarray(w))[0]) for w in model.weights}
    assert len(values) == 1  # Every weight from one and the same save.
    return values.pop()


def _state_version(workdir):
    with open(workdir / "state.json") as f:
        state = json.load(f)
    assert len(state["epochs"]) == state["epochs_done"]
    return state["epochs_done"]


def test_zoo_checkpoint_writers_killed_at_random_points(tmp_path):
    import keras

    from keras_vae.training import run as train

    # One child per writer, in parallel (each imports Keras): the model's
    # checkpoint and the run's state, each killed at a seeded random point
    # of a write (both take tens of milliseconds).
    writers = {"checkpoint": "checkpoint.keras", "state": "state.json"}
    delays = _delays(seed=3, count=len(writers), longest=0.02)
    children = {}
    for writer in writers:
        workdir = tmp_path / writer
        workdir.mkdir()
        # Writing files is not backend-specific: the children use JAX,
        # whose Keras imports fastest, whatever the backend of the test.
        children[writer] = _start(
            _CHECKPOINT_CHILD, workdir, writer, env={"KERAS_BACKEND": "jax"}
        )
    for (writer, target), delay in zip(writers.items(), delays):
        _kill_during_write(children[writer], tmp_path / writer, target, delay)
    workdir = tmp_path / "checkpoint"
    assert _checkpoint_version(workdir) >= 1  # The old version or a new one.
    # The fixed temporary name of earlier versions of zoo.train, too.
    (workdir / ".checkpoint.tmp.keras").write_bytes(b"PK half a save")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    train.save_checkpoint(model, str(workdir))  # One more run of the writer.
    assert sorted(os.listdir(workdir)) == ["checkpoint.keras"]
    workdir = tmp_path / "state"
    assert _state_version(workdir) >= 20000
    train.write_state(str(workdir), train.new_state())
    assert sorted(os.listdir(workdir)) == ["state.json"]


# ----------------------------------------------------------------------
# keras_vae.datasets.fetch


_FETCH_CHILD = _LIGHT_IMPORT + textwrap.dedent(
    """
    import os, signal
    from keras_vae.datasets import _fetch, _registry, _testing

    cache, mode = sys.argv[2], sys.argv[3]
    arrays = _testing.make_arrays(num_train=3000, num_test=500, seed=0)
    _registry.DATASETS["mnist"] = _testing.make_spec("mnist", arrays)
    if mode.startswith("rename-"):
        # Die right after the k-th rename of the fetch (whatever the call).
        left = [int(mode.split("-")[1])]

        def dying(real):
            def call(*args, **kwargs):
                result = real(*args, **kwargs)
                left[0] -= 1
                if left[0] == 0:
                    os.kill(os.getpid(), signal.SIGKILL)
                return result
            return call

        _fetch.os.replace = dying(os.replace)
        _fetch.os.rename = dying(os.rename)
        if hasattr(_fetch, "_exchange"):
            _fetch._exchange = dying(_fetch._exchange)
    print("fetching", flush=True)
    _fetch.fetch("mnist", cache_dir=cache, verbose=False)
    print("fetched", flush=True)
    """
)


def _fetch_specs(monkeypatch, cache):
    """The previous entry (seed 1) is in the cache; the new one (seed 0)
    is the one the children fetch."""
    old_spec, _ = _testing.install_fake_dataset(
        monkeypatch, cache, num_train=3000, num_test=500, seed=1
    )
    arrays = _testing.make_arrays(num_train=3000, num_test=500, seed=0)
    new_spec = _testing.make_spec("mnist", arrays)
    return old_spec, new_spec


def _old_or_new(cache, old_spec, new_spec):
    entry = cache / "datasets" / "mnist"
    reasons = [_cache.verify_entry(entry, s) for s in (old_spec, new_spec)]
    assert None in reasons, reasons  # The old entry or the new one, whole.
    return "old" if reasons[0] is None else "new"


def _fetch_leftovers(cache):
    return sorted(os.listdir(cache / "datasets"))


@pytest.fixture(autouse=True)
def _no_tfds(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", None)


def test_fetch_killed_at_random_points(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    old_spec, new_spec = _fetch_specs(monkeypatch, cache)
    seen = []
    for delay in _delays(seed=7, count=6, longest=0.08):
        child = _start(_FETCH_CHILD, cache, "random")
        lines = _kill_after(child, "fetching", delay)
        assert "fetched" not in lines
        seen.append(_old_or_new(cache, old_spec, new_spec))
        # Back to the old entry for the next kill.
        monkeypatch.setitem(_registry.DATASETS, "mnist", old_spec)
        _fetch.fetch("mnist", verbose=False)
        assert _fetch_leftovers(cache) == ["mnist"]
    monkeypatch.setitem(_registry.DATASETS, "mnist", new_spec)
    _fetch.fetch("mnist", verbose=False)  # One more run of the writer.
    assert _old_or_new(cache, old_spec, new_spec) == "new"
    assert _fetch_leftovers(cache) == ["mnist"]


@pytest.mark.parametrize("renames", [1, 2])
def test_fetch_killed_after_each_rename(tmp_path, monkeypatch, renames):
    cache = tmp_path / "cache"
    old_spec, new_spec = _fetch_specs(monkeypatch, cache)
    child = _start(_FETCH_CHILD, cache, f"rename-{renames}")
    out, err = child.communicate(timeout=120)
    if child.returncode == 0:  # Fewer renames than that: a complete fetch.
        assert "fetched" in out
    else:
        assert child.returncode == -signal.SIGKILL, err
    _old_or_new(cache, old_spec, new_spec)
    monkeypatch.setitem(_registry.DATASETS, "mnist", new_spec)
    _fetch.fetch("mnist", verbose=False)
    assert _old_or_new(cache, old_spec, new_spec) == "new"
    assert _fetch_leftovers(cache) == ["mnist"]


def test_fetch_removes_only_its_own_scratch_directories(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    _testing.install_fake_dataset(monkeypatch, cache)
    root = cache / "datasets"
    dead = _dead_pid()
    # Directories with a scratch directory's name that fetch did not make:
    # no marker, or a marker for another purpose or entry.
    mine = root / f".fetch-mnist-{dead}-abcd1234"
    mine.mkdir()
    (mine / "thesis.tex").write_text("a user's work")
    other = root / f".fetch-mnist-{dead}-efgh5678"
    other.mkdir()
    (other / _fetch.SCRATCH_MARKER).write_text(
        json.dumps({"purpose": "something else", "pid": dead})
    )
    (other / "data").write_text("keep")
    # A scratch directory of a dead fetch, and one killed while making it.
    stale = _fetch._make_scratch(
        root, _registry.DATASETS["mnist"], root / "mnist"
    )
    (stale / "download").mkdir()
    (stale / "download" / "part").write_bytes(b"\x00" * 100)
    renamed = root / f".fetch-mnist-{dead}-{stale.name[-8:]}"
    marker = json.loads((stale / _fetch.SCRATCH_MARKER).read_text())
    marker["pid"] = dead
    (stale / _fetch.SCRATCH_MARKER).write_text(json.dumps(marker))
    os.rename(stale, renamed)
    empty = root / f".fetch-mnist-{dead}-zzzz9999"
    empty.mkdir()
    _fetch.fetch("mnist", verbose=False, force=True)
    assert (mine / "thesis.tex").read_text() == "a user's work"
    assert (other / "data").read_text() == "keep"
    assert not renamed.exists() and not empty.exists()
    assert _fetch_leftovers(cache) == sorted(["mnist", mine.name, other.name])
