"""`zoo.train` in-process: TensorBoard logs, the run's record, and a
resume after a kill between an epoch's checkpoint and its state."""

import glob
import os
import shutil

import keras
import pytest

from keras_vae.testing import to_numpy
from keras_vae.training import run as train

TINY = dict(split="train[:256]", verbose=0)  # 2 steps of 128 per epoch.


def events(directory):
    """{tag: [steps]} of the event files in `directory`, and their count."""
    import tensorflow as tf

    files = glob.glob(os.path.join(directory, "events.out.tfevents.*"))
    tags = {}
    for path in files:
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                tags.setdefault(value.tag, []).append(event.step)
    tags = {tag: sorted(steps) for tag, steps in tags.items()}
    return tags, len(files)


class SimulatedKillError(Exception):
    pass


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Two epochs in two calls (a stop after the first, then the same
    command again), TensorBoard on."""
    workdir = str(tmp_path_factory.mktemp("run"))
    write_state = train.write_state

    def write_then_stop(directory, state):
        write_state(directory, state)
        if state["epochs_done"] == 1:
            raise SimulatedKillError

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(train, "write_state", write_then_stop)
        with pytest.raises(SimulatedKillError):
            train.train("mnist_mlp_2", workdir=workdir, epochs=2, **TINY)
    assert train.read_state(workdir)["epochs_done"] == 1
    train.train("mnist_mlp_2", workdir=workdir, epochs=2, **TINY)
    return workdir


def test_tensorboard_scalars_and_sample_grids(run):
    scalars, files = events(os.path.join(run, "logs", "train"))
    # One event file per training call, not one per epoch (`fit` call).
    assert files == 2
    for tag in ("epoch_loss", "epoch_kl", "epoch_elbo", "epoch_learning_rate"):
        assert scalars[tag] == [1, 2], tag
    images, files = events(os.path.join(run, "logs", "images"))
    assert files == 2
    assert images == {"samples": [1, 2], "reconstructions": [1, 2]}


def test_state_records_the_run(run):
    state = train.read_state(run)
    assert state["epochs_done"] == 2
    assert [e["epoch"] for e in state["epochs"]] == [1, 2]
    assert state["backend"] == keras.backend.backend()
    assert state["versions"]["keras"] == keras.__version__
    assert state["versions"]["backend"] == keras.backend.backend()
    assert "CPU" in state["hardware"]
    assert state["command"].startswith("python -m zoo.train")


def test_resume_with_other_settings_is_refused(run, tmp_path):
    """The checkpoint's learning-rate schedule follows `epochs`, and the
    epochs done are counted in steps of `split`: resuming with others would
    go on silently wrong."""
    workdir = str(tmp_path / "run")
    shutil.copytree(run, workdir)
    before = train.read_state(workdir)
    assert before["settings"] == {"epochs": 2, "split": "train[:256]"}
    for settings, received in (
        (dict(epochs=3, split="train[:256]"), "epochs=3, split='train[:256]'"),
        (dict(epochs=2, split="train[:512]"), "epochs=2, split='train[:512]'"),
    ):
        with pytest.raises(train.RunSettingsError) as info:
            train.train("mnist_mlp_2", workdir=workdir, verbose=0, **settings)
        message = str(info.value)
        assert "started with epochs=2, split='train[:256]'" in message
        assert message.endswith(f"Received: {received}")
    assert train.read_state(workdir) == before  # Nothing was touched.


def test_a_run_without_recorded_settings_is_checked_by_its_schedule(
    run, tmp_path
):
    """A state.json of an earlier zoo.train has no settings: the
    checkpoint's learning-rate schedule tells what the run started with."""
    workdir = str(tmp_path / "run")
    shutil.copytree(run, workdir)
    state = train.read_state(workdir)
    del state["settings"]
    train.write_state(workdir, state)
    with pytest.raises(train.RunSettingsError) as info:
        train.train("mnist_mlp_2", workdir=workdir, epochs=3, **TINY)
    assert "decays its learning rate over 4 steps, not the 6 of epochs=3" in (
        str(info.value)
    )
    # With the settings it started with, it resumes, and records them.
    train.train("mnist_mlp_2", workdir=workdir, epochs=2, **TINY)
    assert train.read_state(workdir)["settings"] == {
        "epochs": 2,
        "split": "train[:256]",
    }


def test_command_line_errors_are_one_line(tmp_path, capsys):
    argv = ["mnist_mlp_2", "--workdir", str(tmp_path / "run"), "--epochs"]
    with pytest.raises(SystemExit) as info:
        train.main(argv + ["0"])
    assert info.value.code == 2
    assert "error: `epochs` must be a positive integer" in (
        capsys.readouterr().err
    )


def test_pipeline_refuses_another_k_without_partial(capsys):
    from zoo import pipeline

    with pytest.raises(SystemExit) as info:
        pipeline.main(["mnist_mlp_2", "-k", "100"])
    assert info.value.code == 2
    assert "-k 100 departs from the presets' protocol" in (
        capsys.readouterr().err
    )


def test_pipeline_evaluates_again_after_a_quick_evaluation(tmp_path):
    import json

    from zoo import pipeline

    path = tmp_path / "eval.json"
    for num_images, k, expected in (
        (10_000, 5000, True),
        (10_000, 100, False),  # `zoo.evaluate -k 100`, a quick estimate.
        (40, 5000, False),  # `--limit 40`.
    ):
        protocol = {"num_images": num_images, "num_importance_samples": k}
        path.write_text(json.dumps({"protocol": protocol}))
        assert pipeline._evaluated_as(str(path), "mnist", 5000) is expected
    assert not pipeline._evaluated_as(str(tmp_path / "none"), "mnist", 5000)


@pytest.mark.parametrize(
    "settings, fragment",
    [
        (dict(epochs=0), "Received: epochs=0"),
        (dict(split="tran"), "`split` must be one of"),
    ],
)
def test_bad_settings_are_refused_before_anything_is_written(
    tmp_path, settings, fragment
):
    workdir = str(tmp_path / "run")
    with pytest.raises(train.RunSettingsError, match=fragment):
        train.train("mnist_mlp_2", workdir=workdir, verbose=0, **settings)
    assert not os.path.exists(workdir)


def test_mirrored_devices_are_the_gpus_or_else_the_cpus():
    class Device:
        def __init__(self, name):
            self.name = name

    def lister(gpus, cpus):
        devices = {"GPU": gpus, "CPU": cpus}
        return lambda kind: [Device(name) for name in devices[kind]]

    cpus = ["/device:CPU:0", "/device:CPU:1"]
    gpus = ["/device:GPU:0", "/device:GPU:1"]
    assert train.mirrored_devices(lister([], cpus)) == cpus
    # Never the CPU beside the GPUs: it would hold them back.
    assert train.mirrored_devices(lister(gpus[:1], cpus[:1])) == gpus[:1]
    assert train.mirrored_devices(lister(gpus, cpus)) == gpus


def test_resume_after_a_kill_between_checkpoint_and_state(run, tmp_path):
    """The checkpoint of the last epoch was written, its state was not."""
    workdir = str(tmp_path / "run")
    os.makedirs(workdir)
    for name in (train.CHECKPOINT, train.STATE):
        with open(os.path.join(run, name), "rb") as source:
            with open(os.path.join(workdir, name), "wb") as target:
                target.write(source.read())
    state = train.read_state(workdir)
    state["epochs_done"] = 1
    state["epochs"] = state["epochs"][:1]
    state["epochs"][0]["stopped_s"] = 60.0
    train.write_state(workdir, state)  # Its totals count epoch 2 still.

    vae = train.train("mnist_mlp_2", workdir=workdir, epochs=2, **TINY)
    assert int(to_numpy(vae.optimizer.iterations)) == 2 * 2  # Trained no more.
    state = train.read_state(workdir)
    assert state["epochs_done"] == 2  # So the pipeline moves on.
    # The totals are those of the epochs on record (epoch 2's is lost).
    (epoch,) = state["epochs"]
    assert state["wall_time_s"] == epoch["seconds"]
    assert state["stopped_s"] == 60.0


def test_a_state_without_its_checkpoint_is_a_new_run(tmp_path):
    workdir = str(tmp_path)
    train.write_state(
        workdir,
        {"wall_time_s": 99.0, "epochs": [{"epoch": 1}], "epochs_done": 1},
    )
    train.train(
        "mnist_mlp_2", workdir=workdir, epochs=1, tensorboard=False, **TINY
    )
    state = train.read_state(workdir)
    assert state["epochs_done"] == 1
    assert state["wall_time_s"] < 99.0
    assert len(state["epochs"]) == 1


PAUSED_CHILD = """
import sys
from keras_vae.training.run import PauseClock
with PauseClock(tick=0.1, threshold=1.0) as clock:
    print("ready", flush=True)
    sys.stdin.readline()  # Idle (no CPU) until the parent says so.
print(clock.stopped, flush=True)
"""


def test_pause_clock_counts_a_sigstop_and_not_ordinary_time():
    import signal
    import subprocess
    import sys
    import time

    with subprocess.Popen(
        [sys.executable, "-c", PAUSED_CHILD],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
    ) as child:
        assert child.stdout.readline().strip() == "ready"
        time.sleep(0.3)
        child.send_signal(signal.SIGSTOP)
        began = time.monotonic()
        time.sleep(3.0)
        child.send_signal(signal.SIGCONT)
        paused = time.monotonic() - began
        time.sleep(0.3)
        child.stdin.write("go\n")
        child.stdin.flush()
        stopped = float(child.stdout.readline())
        assert child.wait(timeout=30) == 0
    # The clock's resolution is one tick (0.1 s). Scheduling delays on a
    # loaded machine (the child waking late, the parent reading the time
    # late) can only make the stop look longer than the parent measured.
    assert -0.25 < stopped - paused < 1.5, (stopped, paused)
    with train.PauseClock(tick=0.05, threshold=1.0) as clock:
        time.sleep(0.5)  # Running (asleep), not stopped.
    assert clock.stopped == 0.0


def test_pause_clock_counts_only_long_gaps_without_cpu_time():
    clock = train.PauseClock(tick=0.5, threshold=5.0)
    clock._count(4.0, 0.0)  # Shorter than the threshold.
    assert clock.stopped == 0.0
    # A 10 s gap with 10 s of CPU time: the thread waited (for the
    # interpreter lock, say) while the process ran. Not a stop.
    clock._count(10.0, 10.0)
    assert clock.stopped == 0.0
    clock._count(10.0, 0.1)  # Stopped, less a tick and what it ran.
    assert clock.stopped == pytest.approx(9.4)


def test_a_stopped_epoch_is_recorded_apart_from_training_time(
    tmp_path, monkeypatch
):
    import time
    import types

    jump = [0.0]  # The wall clock as `train` sees it jumps at the stop.

    class Stopped(train.PauseClock):
        def __exit__(self, *exc_info):
            super().__exit__(*exc_info)
            self.stopped = 1000.0  # As if `kill -STOP` for 1000 s...
            jump[0] = 1000.0  # ...during which the wall clock went on.

    monkeypatch.setattr(train, "PauseClock", Stopped)
    monkeypatch.setattr(
        train,
        "time",
        types.SimpleNamespace(
            monotonic=lambda: time.monotonic() + jump[0],
            process_time=time.process_time,
        ),
    )
    train.train("mnist_mlp_2", workdir=str(tmp_path), epochs=1, **TINY)
    state = train.read_state(str(tmp_path))
    (epoch,) = state["epochs"]
    assert epoch["stopped_s"] == state["stopped_s"] == 1000.0
    # The 1000 s came off: the epoch's time is the time it ran.
    assert 0 < epoch["seconds"] < 200
    assert state["wall_time_s"] == epoch["seconds"]
