"""Presets tried as a careless or hostile user would: saving never deletes
what it did not write, loading only reads, a killed save leaves the old or
the new version and no leftovers, and a crafted or damaged preset is
refused with one clear error that names the file."""

import hashlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time

import keras
import numpy as np
import pytest

import keras_vae
from keras_vae.presets import PresetError
from keras_vae.presets import _preset_io

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tiny_vae(seed=0):
    encoder = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(8, activation="relu"),
        ]
    )
    decoder = keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Dense(64),
            keras.layers.Reshape((8, 8, 1)),
        ]
    )
    vae = keras_vae.VAE(encoder, decoder, latent_dim=2, seed=seed)
    vae(np.zeros((1, 8, 8, 1), "float32"))
    return vae


@pytest.fixture
def vae():
    return tiny_vae()


@pytest.fixture
def preset(vae, tmp_path):
    return vae.save_to_preset(tmp_path / "presets" / "tiny")


def snapshot(root):
    """Every path under `root` with its content's SHA-256 (or a marker for
    directories and links), to show that nothing changed."""
    found = {}
    for directory, subdirs, files in os.walk(root):
        for name in subdirs + files:
            path = os.path.join(directory, name)
            if os.path.islink(path):
                found[path] = "link:" + os.readlink(path)
            elif os.path.isdir(path):
                found[path] = "dir"
            else:
                with open(path, "rb") as f:
                    found[path] = hashlib.sha256(f.read()).hexdigest()
    return found


def rehash(directory):
    """Makes `metadata.json` match the files as they are now (what someone
    replacing a preset's files would do)."""
    path = os.path.join(directory, "metadata.json")
    with open(path) as f:
        metadata = json.load(f)
    metadata["files"] = {
        name: _preset_io.sha256_file(os.path.join(directory, name))
        for name in metadata["files"]
    }
    with open(path, "w") as f:
        json.dump(metadata, f)


def edit_json(directory, name, edit):
    path = os.path.join(directory, name)
    with open(path) as f:
        value = json.load(f)
    value = edit(value)
    with open(path, "w") as f:
        json.dump(value, f)
    if name != "metadata.json":
        rehash(directory)


def assert_one_line_error(error, *fragments):
    message = str(error.value)
    assert len(message) < 1000, message[:2000]
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message


# ----------------------------------------------------------------------
# Saving never deletes a file it did not write.


def test_save_refuses_a_folder_of_the_users_files(vae, tmp_path):
    folder = tmp_path / "project"
    (folder / "src").mkdir(parents=True)
    (folder / "src" / "a.py").write_text("print('mine')\n")
    (folder / "notes.txt").write_text("my notes\n")
    before = snapshot(tmp_path)
    with pytest.raises(PresetError) as error:
        vae.save_to_preset(folder)
    assert_one_line_error(error, str(folder), "'notes.txt'", "'src'")
    assert snapshot(tmp_path) == before


def test_save_refuses_the_working_directory(vae, tmp_path, monkeypatch):
    (tmp_path / "work.txt").write_text("unsaved work\n")
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)
    for target in (".", ""):
        with pytest.raises(PresetError, match="not a keras_vae preset"):
            vae.save_to_preset(target)
    assert snapshot(tmp_path) == before


def test_save_refuses_a_file_and_symbolic_links(vae, tmp_path):
    regular = tmp_path / "model.txt"
    regular.write_text("keep me\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "link_to_dir").symlink_to(elsewhere)
    (tmp_path / "link_to_file").symlink_to(regular)
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    before = snapshot(tmp_path)
    for target, why in (
        (regular, "it is a file"),
        (tmp_path / "link_to_dir", "symbolic link"),
        (tmp_path / "link_to_file", "symbolic link"),
        (tmp_path / "dangling", "symbolic link"),
    ):
        with pytest.raises(PresetError) as error:
            vae.save_to_preset(target)
        assert_one_line_error(error, str(target), why)
    assert snapshot(tmp_path) == before


def test_save_refuses_a_preset_holding_other_files(vae, preset):
    extra = os.path.join(preset, "my_notes.md")
    with open(extra, "w") as f:
        f.write("notes kept beside the preset\n")
    before = snapshot(os.path.dirname(preset))
    with pytest.raises(PresetError) as error:
        vae.save_to_preset(preset)
    assert_one_line_error(error, "'my_notes.md'", "would delete")
    assert snapshot(os.path.dirname(preset)) == before


def test_save_writes_new_empty_and_preset_directories(vae, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    for target in (tmp_path / "new" / "deeper", empty):
        directory = vae.save_to_preset(target)
        assert directory == str(target)
        _preset_io.verify(directory)
    # Over a preset: replaced whole, by the new model's files.
    other = tiny_vae(seed=1)
    for layer in other.decoder.layers:
        for weight in layer.weights:
            weight.assign(weight + 1.0)
    other.save_to_preset(empty)
    loaded = keras_vae.VAE.from_preset(str(empty))
    z = np.ones((1, 2), "float32")
    np.testing.assert_allclose(loaded.decode(z), other.decode(z), atol=1e-6)
    assert sorted(os.listdir(tmp_path)) == ["empty", "new"]


def test_save_refuses_bad_metadata_before_writing(vae, tmp_path):
    target = tmp_path / "preset"
    for metadata, fragment in (
        ({"nll": np.float32(80.0)}, "metadata['nll']"),
        ({"tags": {"a", "b"}}, "metadata['tags']"),
        ({"nll": float("nan")}, "metadata['nll']"),
        ({"callback": print}, "metadata['callback']"),
        ({1: "x"}, "metadata[1]"),
        ({"input_shape": [9, 9, 1]}, "input_shape"),
        ({"files": {}}, "files"),
        (["not", "a", "dict"], "`metadata` must be a dict"),
    ):
        with pytest.raises(PresetError) as error:
            vae.save_to_preset(target, metadata=metadata)
        assert_one_line_error(error, fragment)
        assert os.listdir(tmp_path) == []


def test_save_refuses_a_model_that_could_not_load(tmp_path):
    # An encoder without a fixed input shape: the preset's input_shape
    # would hold None and never load again.
    encoder = keras.layers.Dense(8, activation="relu")
    decoder = keras.Sequential([keras.Input((2,)), keras.layers.Dense(6)])
    vae = keras_vae.VAE(encoder, decoder, latent_dim=2, seed=0)
    vae(np.zeros((1, 6), "float32"))
    with pytest.raises(PresetError, match="fixed input shape"):
        vae.save_to_preset(tmp_path / "preset")
    assert os.listdir(tmp_path) == []


# ----------------------------------------------------------------------
# Loading only reads.


def test_loading_touches_nothing_beside_the_preset(preset):
    root = os.path.dirname(preset)
    # Directories named like the backups and staging directories of the
    # old code, with the user's files in them.
    for name in (
        ".photos.old-2024",
        ".notes.old-v1",
        ".tiny.old-1",
        ".tiny.new-abc",
        ".tiny.keras-vae-staging-x",
    ):
        os.makedirs(os.path.join(root, name))
        with open(os.path.join(root, name, "keep.txt"), "w") as f:
            f.write(name)
    # A path with a glob character, and one that is not a preset.
    starred = os.path.join(root, "*")
    os.makedirs(os.path.join(root, ".*.old-2"))
    before = snapshot(root)
    keras_vae.VAE.from_preset(preset)
    for bad in (starred, os.path.join(root, "notes"), root):
        with pytest.raises(PresetError):
            keras_vae.VAE.from_preset(bad)
    keras_vae.presets.list_presets()
    keras_vae.presets.verify_preset(preset)
    assert snapshot(root) == before


# ----------------------------------------------------------------------
# A save killed at any point: the old version or the new one, then no
# leftovers once the next save has run.

_SAVER = textwrap.dedent(
    """
    import sys
    import numpy as np
    sys.path.insert(0, {tests!r})
    from test_safety_presets import tiny_vae

    vae = tiny_vae()
    target = {target!r}
    version = 1
    while True:
        version += 1
        vae.save_to_preset(target, metadata={{"version": version}})
        print("saved", flush=True)
    """
)


def _version_in(directory):
    metadata = _preset_io.verify(directory)
    keras_vae.VAE.from_preset(directory)  # Whole: it loads.
    return metadata["version"]


@pytest.mark.skipif(
    keras.backend.backend() != "jax",
    reason="the writes are the backend's own only in the weights file, which "
    "every backend's round trips test; killed saves (about a minute) run "
    "with jax, the zoo's backend",
)
def test_a_killed_save_leaves_a_whole_version_and_no_leftovers(vae, tmp_path):
    root = tmp_path / "presets"
    target = str(root / "tiny")
    vae.save_to_preset(target, metadata={"version": 1})
    (root / "mine.txt").write_text("the user's file\n")
    rng = random.Random(0)
    script = _SAVER.format(tests=os.path.join(REPO, "tests"), target=target)
    versions = set()
    for attempt in range(3):
        with subprocess.Popen(
            [sys.executable, "-c", script],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=REPO,
        ) as process:
            # After one whole save, at a random point of the following
            # ones (a save of this model takes about 0.1-0.5 s).
            assert process.stdout.readline().strip() == b"saved"
            time.sleep(rng.uniform(0.0, 0.6))
            process.send_signal(signal.SIGKILL)
            process.wait()
        version = _version_in(target)
        versions.add(version)
        # The next save removes whatever the killed one left behind.
        vae.save_to_preset(target, metadata={"version": 1})
        assert sorted(os.listdir(root)) == ["mine.txt", "tiny"], attempt
    assert (root / "mine.txt").read_text() == "the user's file\n"
    assert versions - {1}  # The killed saves did replace the preset.


def _dead_pid():
    """The pid of a process that has ended."""
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout)


def fake_staging(preset, name_pid, suffix="abcd1234", **marker):
    """A staging directory for `preset` as a save by `name_pid` leaves it
    (its marker's fields may be overridden)."""
    root = os.path.dirname(preset)
    name = f".tiny.keras-vae-staging-{name_pid}-{suffix}"
    staging = os.path.join(root, name)
    os.makedirs(os.path.join(staging, "new"))
    with open(os.path.join(staging, "new", "keep.txt"), "w") as f:
        f.write("keep")
    fields = {
        "purpose": "keras_vae preset save",
        "target": preset,
        "pid": name_pid,
        "host": socket.gethostname(),
        "complete": False,
        **marker,
    }
    with open(os.path.join(staging, _preset_io.STAGING_MARKER), "w") as f:
        json.dump(fields, f)
    return staging


def test_recovery_after_a_kill_between_the_two_renames(vae, preset):
    """Where the file system cannot exchange two directories atomically,
    a save moves the old version aside, then the new one in; killed in
    between, the preset is missing until the next save puts the complete
    new version in place, then writes its own."""
    root = os.path.dirname(preset)
    staging = fake_staging(preset, _dead_pid(), complete=True)
    os.remove(os.path.join(staging, "new", "keep.txt"))
    for name in os.listdir(preset):
        shutil.copy(os.path.join(preset, name), os.path.join(staging, "new"))
    os.rename(preset, os.path.join(staging, "old"))
    with pytest.raises(PresetError):  # Loading does not mend it: it reads.
        keras_vae.VAE.from_preset(preset)
    assert _preset_io.recover_interrupted(preset) == 1
    _preset_io.verify(preset)
    assert os.listdir(root) == ["tiny"]
    vae.save_to_preset(preset)
    assert os.listdir(root) == ["tiny"]


def test_recovery_leaves_stagings_it_cannot_prove_are_its_own(preset):
    dead = _dead_pid()
    root = os.path.dirname(preset)
    fake_staging(preset, dead, "target01", target="/elsewhere/tiny")
    fake_staging(preset, os.getpid(), "liveproc")  # A save running now.
    fake_staging(preset, dead, "otherhst", host="another-machine")
    fake_staging(preset, dead, "purpose1", purpose="something else")
    fake_staging(preset, dead + 1, "wrongpid", pid=dead)
    unmarked = fake_staging(preset, dead, "unmarked")
    os.remove(os.path.join(unmarked, _preset_io.STAGING_MARKER))
    # A save that has just made its staging directory, not its marker yet.
    os.makedirs(
        os.path.join(root, f".tiny.keras-vae-staging-{os.getpid()}-new12345")
    )
    before = snapshot(root)
    assert _preset_io.recover_interrupted(preset) == 0
    assert snapshot(root) == before
    # A dead save's, empty (killed before its marker): holds nothing.
    empty = os.path.join(root, f".tiny.keras-vae-staging-{dead}-empty123")
    os.makedirs(empty)
    _preset_io.recover_interrupted(preset)
    assert not os.path.exists(empty)
    assert snapshot(root) == before


# ----------------------------------------------------------------------
# Trust: pinned checksums for shipped presets, reference outputs for
# presets from a path.


def _replace_weights(directory):
    """Replaces a preset's weights with others of the same shapes."""
    model = keras_vae.VAE.from_preset(directory)
    for weight in model.decoder.weights:
        weight.assign(weight * 0.5 + 0.1)
    path = os.path.join(directory, "model.weights.h5")
    os.remove(path)
    model.save_weights(path)


def test_shipped_presets_are_pinned_in_the_package():
    pins = _preset_io._pins()
    assert sorted(pins) == _preset_io.builtin_presets()
    for name in pins:
        directory = _preset_io.resolve(name)
        assert pins[name] == _preset_io.pins_of(directory), name
    with open(_preset_io.PINS_FILE) as f:
        assert f.read() == _preset_io.render_pins(pins)


def test_a_modified_shipped_preset_is_refused(tmp_path, monkeypatch):
    installed = tmp_path / "presets"
    shutil.copytree(
        os.path.join(_preset_io.PRESETS_DIR, "mnist_mlp_2"),
        installed / "mnist_mlp_2",
    )
    monkeypatch.setattr(_preset_io, "PRESETS_DIR", str(installed))
    keras_vae.VAE.from_preset("mnist_mlp_2")  # Intact: loads.
    _replace_weights(str(installed / "mnist_mlp_2"))
    rehash(str(installed / "mnist_mlp_2"))
    with pytest.raises(PresetError) as error:
        keras_vae.VAE.from_preset("mnist_mlp_2")
    assert_one_line_error(
        error, "model.weights.h5, metadata.json", "was modified", "pins"
    )
    # A preset dropped into the package's folder is not a shipped one.
    shutil.copytree(installed / "mnist_mlp_2", installed / "intruder")
    with pytest.raises(PresetError, match="no checksums are pinned"):
        keras_vae.VAE.from_preset("intruder")


def test_a_preset_from_a_path_must_reproduce_its_reference(preset):
    _replace_weights(preset)
    rehash(preset)
    _preset_io.verify(preset)  # The self-check alone passes...
    with pytest.raises(PresetError) as error:
        keras_vae.VAE.from_preset(preset)  # ...the reference does not.
    assert_one_line_error(error, "does not reproduce its reference.npz")


# ----------------------------------------------------------------------
# Crafted and damaged preset files.


@pytest.mark.parametrize(
    "name",
    [
        "/etc/hostname",
        "../outside.txt",
        "sub/inner.bin",
        ".hidden",
        "",
        "a" * 300,
    ],
)
def test_metadata_may_name_only_plain_files_inside(preset, name):
    def edit(metadata):
        metadata["files"][name] = "0" * 64
        return metadata

    edit_json(preset, "metadata.json", edit)
    with pytest.raises(PresetError) as error:
        keras_vae.VAE.from_preset(preset)
    assert_one_line_error(error, "not a plain file name", "metadata")


@pytest.mark.parametrize("link", ["/dev/zero", "../outside.txt"])
def test_linked_preset_files_are_refused_unopened(preset, link):
    outside = os.path.join(os.path.dirname(preset), "outside.txt")
    with open(outside, "w") as f:
        f.write("not the preset's\n")
    extra = os.path.join(preset, "extra.bin")
    os.symlink(link, extra)

    def edit(metadata):
        metadata["files"]["extra.bin"] = "0" * 64
        return metadata

    edit_json(preset, "metadata.json", edit)
    with pytest.raises(PresetError) as error:
        keras_vae.VAE.from_preset(preset)
    assert_one_line_error(error, "extra.bin", "symbolic link")
    # metadata.json itself a link to a device: refused, not read forever.
    os.remove(os.path.join(preset, "metadata.json"))
    os.symlink("/dev/zero", os.path.join(preset, "metadata.json"))
    with pytest.raises(PresetError, match="symbolic link"):
        keras_vae.VAE.from_preset(preset)


def test_a_config_allocating_too_much_is_refused(preset):
    def edit(config):
        decoder = config["config"]["decoder"]["config"]["layers"]
        dense = next(c for c in decoder if c["class_name"] == "Dense")
        dense["config"]["units"] = 10**9
        return config

    edit_json(preset, "config.json", edit)
    with pytest.raises(PresetError) as error:
        keras_vae.VAE.from_preset(preset)
    assert_one_line_error(error, "100,000,000 parameters", "max_parameters")
    with pytest.raises(PresetError, match="1,000 parameters"):
        keras_vae.VAE.from_preset(preset, max_parameters=1000)
    # The budget holds only while a preset loads.
    keras.layers.Dense(10).build((None, 10**7))
    with pytest.raises(ValueError, match="max_parameters"):
        keras_vae.VAE.from_preset(preset, max_parameters=0)


def test_metadata_with_a_huge_input_shape_is_refused(preset):
    def edit(metadata):
        metadata["input_shape"] = [100000, 100000, 3]
        return metadata

    edit_json(preset, "metadata.json", edit)
    with pytest.raises(PresetError) as error:
        keras_vae.VAE.from_preset(preset)
    assert_one_line_error(error, "input_shape", "budget")


def _nested(depth):
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(
    "name, content, fragment",
    [
        ("metadata.json", "{not json", "not valid JSON"),
        ("metadata.json", b"\xff\xfe{}", "not UTF-8"),
        ("metadata.json", "[1, 2, 3]", "must hold a JSON object"),
        ("metadata.json", '{"input_shape": [8, 8, 1]}', "has no `files`"),
        (
            "metadata.json",
            '{"files": ["config.json"], "input_shape": [8, 8, 1]}',
            "has no `files`",
        ),
        ("metadata.json", _nested(200_000), "nested too deeply"),
        ("config.json", "{not json", "not valid JSON"),
        ("config.json", _nested(200_000), "nested too deeply"),
        ("config.json", '"a string"', "not a Keras model config"),
    ],
)
def test_malformed_json_is_refused_naming_the_file(
    preset, name, content, fragment
):
    path = os.path.join(preset, name)
    mode = "wb" if isinstance(content, bytes) else "w"
    with open(path, mode) as f:
        f.write(content)
    if name != "metadata.json":
        rehash(preset)
    with pytest.raises(PresetError) as error:
        keras_vae.VAE.from_preset(preset)
    assert_one_line_error(error, name, fragment)


def test_metadata_with_wrong_types_is_refused(preset):
    for key, value, fragment in (
        ("input_shape", "28x28", "input_shape"),
        ("input_shape", [28, None], "input_shape"),
        ("metrics", [1, 2], "`metrics` must be a dict"),
        ("description", 5, "`description` must be a str"),
    ):
        saved = _preset_io.read_metadata(preset)

        def edit(metadata, key=key, value=value):
            metadata[key] = value
            return metadata

        edit_json(preset, "metadata.json", edit)
        with pytest.raises(PresetError) as error:
            keras_vae.VAE.from_preset(preset)
        assert_one_line_error(error, "metadata.json", fragment)
        with open(os.path.join(preset, "metadata.json"), "w") as f:
            json.dump(saved, f)
    metadata = _preset_io.read_metadata(preset)
    del metadata["files"]["reference.npz"]
    with open(os.path.join(preset, "metadata.json"), "w") as f:
        json.dump(metadata, f)
    with pytest.raises(PresetError, match="no checksum for reference.npz"):
        keras_vae.VAE.from_preset(preset)


def test_a_huge_metadata_file_is_refused_unread(preset):
    path = os.path.join(preset, "metadata.json")
    with open(path, "r+b") as f:
        f.truncate(200 * 2**20)  # 200 MB (sparse): the size is checked.
    with pytest.raises(PresetError) as error:
        keras_vae.VAE.from_preset(preset)
    assert_one_line_error(error, "metadata.json", "209,715,200 bytes")


def test_a_config_that_is_not_a_vae_is_refused(preset):
    layer = keras.saving.serialize_keras_object(keras.layers.Dense(3))
    with open(os.path.join(preset, "config.json"), "w") as f:
        json.dump(layer, f)
    rehash(preset)
    with pytest.raises(PresetError) as error:
        keras_vae.VAE.from_preset(preset)
    assert_one_line_error(error, "config.json", "not a keras_vae model")


def test_an_error_quotes_only_an_excerpt_of_a_huge_value(preset):
    def edit(metadata):
        metadata["input_shape"] = "x" * 5_000_000
        return metadata

    edit_json(preset, "metadata.json", edit)
    with pytest.raises(PresetError) as error:
        keras_vae.VAE.from_preset(preset)
    assert_one_line_error(error, "input_shape", "xxx")


@pytest.mark.parametrize("name", ["model.weights.h5", "reference.npz"])
def test_a_damaged_file_is_named(preset, name):
    path = os.path.join(preset, name)
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) // 2)
    rehash(preset)
    with pytest.raises(PresetError) as error:
        keras_vae.VAE.from_preset(preset)
    assert_one_line_error(error, name, "damaged")


def test_save_refuses_a_preset_whose_files_were_edited(vae, preset):
    card = os.path.join(preset, "samples.png")
    with open(card, "ab") as f:
        f.write(b"the user's edit")
    before = snapshot(os.path.dirname(preset))
    with pytest.raises(PresetError) as error:
        vae.save_to_preset(preset)
    assert_one_line_error(error, "changed since it was saved", "samples.png")
    assert snapshot(os.path.dirname(preset)) == before


def test_a_target_changed_during_the_save_is_not_replaced(preset, tmp_path):
    root = os.path.dirname(preset)
    moved = str(tmp_path / "moved")
    with pytest.raises(PresetError, match="changed while the preset"):
        with _preset_io.staged_version(preset) as staging:
            with open(os.path.join(staging, "x.txt"), "w") as f:
                f.write("new version")
            # Meanwhile the user puts an (empty) folder of theirs there.
            os.rename(preset, moved)
            os.mkdir(preset)
    assert os.listdir(preset) == []  # Theirs, untouched.
    assert sorted(os.listdir(root)) == ["tiny"]
    _preset_io.verify(moved)
    # And files of theirs added to the preset meanwhile are not deleted.
    shutil.rmtree(preset)
    os.rename(moved, preset)
    with pytest.raises(PresetError, match="would delete"):
        with _preset_io.staged_version(preset):
            with open(os.path.join(preset, "mine.txt"), "w") as f:
                f.write("mine")
    assert os.path.exists(os.path.join(preset, "mine.txt"))
    assert sorted(os.listdir(root)) == ["tiny"]


def test_save_refuses_metadata_and_files_that_would_not_load(vae, tmp_path):
    target = tmp_path / "preset"
    for kwargs, fragment in (
        ({"metadata": {"name": 3}}, "`name` must be a str"),
        ({"metadata": {"metrics": [1, 2]}}, "`metrics` must be a dict"),
        ({"metadata": {"input_shape": "8x8"}}, "input_shape"),
        ({"metadata": {"blob": "x" * (5 * 2**20)}}, "bytes as JSON"),
        ({"extra_files": {"metadata.json": print}}, "may not write"),
        ({"extra_files": {"../escape.txt": print}}, "plain file name"),
    ):
        with pytest.raises(PresetError) as error:
            _preset_io.save(vae, target, **kwargs)
        assert_one_line_error(error, fragment)
        assert os.listdir(tmp_path) == []
    nested = {"a": None}
    for _ in range(100_000):
        nested = {"a": nested}
    with pytest.raises(PresetError, match=r"metadata\['deep'\]"):
        vae.save_to_preset(target, metadata={"deep": nested})
    assert os.listdir(tmp_path) == []


def test_a_reference_declaring_huge_arrays_is_refused_unread(preset):
    import zipfile

    path = os.path.join(preset, "reference.npz")
    header = np.lib.format.header_data_from_array_1_0(np.zeros(1, "f4"))
    header["shape"] = (2**40,)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("z.npy", "w", force_zip64=True) as member:
            np.lib.format.write_array_header_1_0(member, header)
            chunk = b"\0" * 2**20
            for _ in range(80):  # 80 MB of zeros, deflated to ~80 KB.
                member.write(chunk)
    rehash(preset)
    with pytest.raises(PresetError) as error:
        keras_vae.VAE.from_preset(preset)
    assert_one_line_error(error, "reference.npz", "at most")


def test_a_decoder_computing_too_much_is_refused_before_it_runs(preset):
    def edit(config):
        # Dense(64) -> RepeatVector(2**31) -> average over the repeats:
        # no weight more, 2**37 values computed per example.
        layers = config["config"]["decoder"]["config"]["layers"]
        dense = next(c for c in layers if c["class_name"] == "Dense")
        index = layers.index(dense) + 1
        for class_name, extra in (
            ("RepeatVector", {"n": 2**31}),
            ("GlobalAveragePooling1D", {}),
        ):
            layer = {
                "module": "keras.layers",
                "class_name": class_name,
                "config": {"name": class_name.lower(), **extra},
                "registered_name": None,
            }
            layers.insert(index, layer)
            index += 1
        return config

    edit_json(preset, "config.json", edit)
    with pytest.raises(PresetError) as error:
        keras_vae.VAE.from_preset(preset)
    assert_one_line_error(error, "values per example", "max_parameters")
