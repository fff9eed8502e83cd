"""Trains a preset, with checkpoints: a killed run resumes where it stopped.

    python -m zoo.train mnist_mlp_32     # ~/.cache/keras_vae/runs/mnist_mlp_32
    python -m zoo.train mnist_mlp_32 --workdir /tmp/run --epochs 2

Every epoch ends with an atomic checkpoint, `<workdir>/checkpoint.keras`:
the model, the optimizer's state (its step counter tells how many epochs
are done) and the state of the sampling noise. Started again with the same
command, a run loads it and continues with the next epoch, whose data order
and binarization are a pure function of the preset's seed and the epoch
number, so it ends where an uninterrupted run would. A run killed at any
point (SIGKILL included) leaves the previous checkpoint and `state.json`
or the new ones, whole; the temporary file of a killed write is removed by
the next one. A damaged checkpoint or state (a disk error, a bad copy) is
refused with an error that names the file and what to do; zoo.train never
deletes it. TensorBoard logs
(scalars and a grid of samples every epoch) go to `<workdir>/logs`.

Data: the preset's training split with dynamic binarization (a fresh
Bernoulli draw of every image at every epoch); see `keras_vae.datasets`.
"""

import argparse
import contextlib
import json
import math
import os
import shlex
import stat
import sys
import tempfile
import threading
import time

import keras

import keras_vae
from keras_vae import _validation
from keras_vae import datasets
from keras_vae.callbacks import SampleGrid
from keras_vae.training import architectures
from keras_vae.training import configs
from keras_vae.training import distributed
from keras_vae.training.architectures import ARCHITECTURES
from keras_vae.utils import atomic_write
from keras_vae.utils._damaged import check_keras_file
from keras_vae.utils._damaged import load_model_or_raise
from keras_vae.utils.environment import describe_hardware
from keras_vae.utils.environment import environment_versions
from keras_vae.utils.files import atomic_path

CHECKPOINT = "checkpoint.keras"
NUM_CLASSES = 10  # Of MNIST and Fashion-MNIST: a conditional preset's.
STATE = "state.json"
_LEGACY_TEMPORARY = ".checkpoint.tmp.keras"  # Of the zoo.train of 2026-11.
RUNS_DIR_ENV = "KERAS_VAE_RUNS_DIR"


def default_workdir(name):
    """`$KERAS_VAE_RUNS_DIR/<name>`, default `~/.cache/keras_vae/runs/<name>`.

    Outside the repository on purpose: a fresh clone keeps the runs.

    Example:

    ```python
    from keras_vae.training import default_workdir

    print(default_workdir("mnist_mlp_32"))  # ~/.cache/keras_vae/runs/...
    ```
    """
    root = os.environ.get(RUNS_DIR_ENV) or os.path.join(
        os.path.expanduser("~"), ".cache", "keras_vae", "runs"
    )
    return os.path.join(root, name)


def build_vae(config):
    """A fresh, uncompiled model for a `PresetConfig`: a `keras_vae.VAE`,
    a `keras_vae.HierarchicalVAE` for `model="hierarchical"`, or a
    `keras_vae.ConditionalVAE` of the data set's 10 classes for
    `model="conditional"`, or a `keras_vae.VQVAE` for `model="vq"`."""
    prior = None
    if config.prior is not None:
        prior = getattr(keras_vae.priors, config.prior["class_name"])(
            **config.prior.get("config", {})
        )
    kwargs = dict(
        likelihood="bernoulli",
        objective=config.objective,
        num_samples=config.num_samples,
        kl_warmup_steps=config.kl_warmup_steps,
        seed=config.seed,
        prior=prior,
        name=config.name,
        **config.model_kwargs,
    )
    if config.model == "conditional":
        # One-hot labels concatenated to the MLP's input, both sides.
        return keras_vae.ConditionalVAE.mlp(
            architectures.IMAGE_SHAPE,
            config.latent_dim,
            num_classes=NUM_CLASSES,
            **config.architecture_kwargs,
            **kwargs,
        )
    builder = ARCHITECTURES[config.architecture]
    encoder, decoder = builder(config.latent_dim, **config.architecture_kwargs)
    if config.model == "vq":  # `latent_dim`: the size of a code.
        return keras_vae.VQVAE(
            encoder,
            decoder,
            embedding_dim=config.latent_dim,
            likelihood="bernoulli",
            seed=config.seed,
            name=config.name,
            **config.model_kwargs,
        )
    if config.model == "hierarchical":
        return keras_vae.HierarchicalVAE(encoder, decoder, **kwargs)
    if config.model != "vae":
        raise ValueError(
            "`model` must be 'vae', 'hierarchical', 'conditional' or 'vq'. "
            f"Received: model={config.model!r} (preset {config.name!r})"
        )
    return keras_vae.VAE(
        encoder, decoder, latent_dim=config.latent_dim, **kwargs
    )


def compile_vae(vae, config, total_steps):
    """Adam with cosine decay from the initial to the final learning rate."""
    schedule = keras.optimizers.schedules.CosineDecay(
        config.learning_rate,
        decay_steps=total_steps,
        alpha=config.final_learning_rate / config.learning_rate,
    )
    vae.compile(optimizer=keras.optimizers.Adam(schedule))


def epoch_dataset(config, epoch, split, batch_size):
    """The training data of one epoch: its own seed, so resumes are exact.

    On several processes every process draws the same global batches and
    `run` keeps its own share (`distributed.local_share`). A conditional
    preset's batches are `((images, labels),)`.
    """
    dataset = datasets.load_dataset(
        config.dataset,
        split,
        batch_size=batch_size,
        binarization="dynamic",
        shuffle=True,
        seed=config.seed * 100_003 + epoch,
        # Keras iterates it twice under a tf.distribute strategy (the first
        # time to build): both give the draws of one pass.
        rerandomize=False,
        labels=config.model == "conditional",
    )
    if config.model == "conditional":
        dataset = dataset.map(lambda x, c: ((x, c),))
    return dataset


def configure_virtual_devices(count):
    """Splits the CPU into `count` virtual devices, to try distribution.

    Must run before the backend initializes its devices (before any
    computation).

    Args:
        count: int. Number of virtual CPU devices.
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * count
        )
    elif backend == "jax":
        import jax

        jax.config.update("jax_num_cpu_devices", count)
    else:
        raise ValueError(
            f"Virtual devices need the tensorflow or jax backend. Received: "
            f"backend={backend!r}"
        )


def mirrored_devices(list_logical_devices=None):
    """The devices a `MirroredStrategy` mirrors over: the GPUs, or the CPUs
    (virtual ones included) where there is no GPU.

    Never both: the CPU would hold every GPU back, and count as a replica.

    Args:
        list_logical_devices: callable or None. Lists the logical devices of
            a type, `"GPU"` or `"CPU"`; None uses TensorFlow's.

    Returns:
        A list of device names.
    """
    if list_logical_devices is None:
        import tensorflow as tf

        list_logical_devices = tf.config.list_logical_devices
    gpus = [device.name for device in list_logical_devices("GPU")]
    return gpus or [device.name for device in list_logical_devices("CPU")]


def distribution_scope(distribute):
    """Sets up data-parallel training over every visible device.

    TensorFlow: a `tf.distribute.MirroredStrategy` (Keras divides each
    replica's losses, `add_loss` terms included, by the number of replicas,
    and sums the gradients), or on several processes the run's
    `MultiWorkerMirroredStrategy` (`distributed.initialize`). JAX:
    `keras.distribution.DataParallel`, which shards every batch across the
    devices and computes global means.

    Both give the gradients of one device on the same batches. On
    TensorFlow the distributed input pipeline is a rewritten graph whose
    dynamic binarization draws differ from a single-device run's (equally
    valid, and reproducible from run to run), so a distributed run does not
    retrace a single-device run step by step (a run on several processes
    does: every process feeds its share of the same batches,
    `distributed.local_share`).

    Args:
        distribute: bool. False returns a scope that does nothing.

    Returns:
        A context manager to build and compile the model in.
    """
    if not distribute:
        return contextlib.nullcontext()
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        strategy = distributed.strategy()
        if strategy is not None:  # Several processes.
            print(
                "MultiWorkerMirroredStrategy over "
                f"{strategy.num_replicas_in_sync} devices of "
                f"{distributed.process_count()} processes"
            )
            return strategy.scope()
        strategy = tf.distribute.MirroredStrategy(mirrored_devices())
        print(f"MirroredStrategy over {strategy.num_replicas_in_sync} devices")
        return strategy.scope()
    if backend == "jax":
        devices = keras.distribution.list_devices()
        keras.distribution.set_distribution(
            keras.distribution.DataParallel(
                devices=devices,
                # Several processes: each feeds its own share of every
                # global batch (`epoch_dataset`).
                auto_shard_dataset=distributed.process_count() == 1,
            )
        )
        print(f"DataParallel over {len(devices)} devices")
        return contextlib.nullcontext()
    raise ValueError(
        "`distribute` needs the tensorflow backend (MirroredStrategy) or the "
        f"jax backend (DataParallel). Received: backend={backend!r}"
    )


class PauseClock:
    """Measures how long this process was stopped (`kill -STOP`).

    A stopped process cannot see its own stop, but a thread that wakes every
    `tick` seconds can: when a wake comes more than `threshold` seconds
    after the previous one and the process used no CPU time meanwhile, the
    gap (less one tick) counts as stopped. So a run paused with `kill -STOP`
    (to lend the CPU to a test run) does not inflate the training time
    recorded in the preset's metadata. A gap in which the process ran (its
    thread waited for the interpreter lock, say) does not count, nor do
    pauses shorter than `threshold`. Time measured with `time.monotonic`,
    as the epochs are, so a suspended machine's sleep counts in neither.

    Example:

    ```python
    with PauseClock() as clock:
        vae.fit(...)  # `kill -STOP` it for a minute, then `kill -CONT`.
    clock.stopped  # About 60.0 (seconds).
    ```
    """

    def __init__(self, tick=0.5, threshold=5.0):
        self.tick = tick
        self.threshold = threshold
        self.stopped = 0.0
        self._done = threading.Event()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        last, last_cpu = time.monotonic(), time.process_time()
        self._started.set()
        done = False
        while not done:
            # The gap before the exit counts too (the stop may end there).
            done = self._done.wait(self.tick)
            now, cpu = time.monotonic(), time.process_time()
            self._count(now - last, cpu - last_cpu)
            last, last_cpu = now, cpu

    def _count(self, gap, cpu):
        """Adds what was stopped of `gap` seconds between two wakes, in
        which the process (all its threads) used `cpu` seconds of CPU."""
        if gap > self.threshold:
            self.stopped += max(gap - self.tick - cpu, 0.0)

    def __enter__(self):
        self._thread.start()
        self._started.wait()  # A stop from here on is seen.
        return self

    def __exit__(self, *exc_info):
        self._done.set()
        self._thread.join()


class RunSettingsError(ValueError):
    """A run started with settings it cannot train with: an unknown split,
    a number of epochs below 1, or settings that differ from those its
    checkpoint was started with."""


def new_state():
    """The `state.json` of a run that has not trained yet."""
    return {"wall_time_s": 0.0, "epochs": [], "epochs_done": 0}


class RunFileError(ValueError):
    """A run's `checkpoint.keras` or `state.json` is damaged (truncated or
    corrupt) or cannot be loaded: the message names the file and says what
    to do. zoo.train never deletes such a file itself."""


def _checkpoint_hint(path):
    return (
        "To start this run afresh, move its directory away (e.g. `mv "
        f"{os.path.dirname(path)} {os.path.dirname(path)}.damaged`: it "
        "keeps the run's log, state.json) and run the same command again; "
        "or put back a good copy to resume. zoo.train deletes nothing."
    )


def check_checkpoint(workdir):
    """Refuses a damaged `<workdir>/checkpoint.keras` (before any work).

    Raises:
        RunFileError: naming the checkpoint, and what to do about it.
    """
    path = os.path.join(workdir, CHECKPOINT)
    check_keras_file(path, RunFileError, _checkpoint_hint(path))


def load_checkpoint(workdir):
    """The model of `<workdir>/checkpoint.keras`, optimizer state included.

    Raises:
        RunFileError: the checkpoint is missing, damaged or cannot be
            loaded (the message names it and says what to do).
    """
    path = os.path.join(workdir, CHECKPOINT)
    return load_model_or_raise(path, RunFileError, _checkpoint_hint(path))


def _state_is_valid(state):
    return (
        isinstance(state, dict)
        and isinstance(state.get("epochs", []), list)
        and all(isinstance(e, dict) for e in state.get("epochs", []))
        and isinstance(state.get("epochs_done", 0), int)
        and isinstance(state.get("wall_time_s", 0.0), (int, float))
        and isinstance(state.get("settings", {}), dict)
    )


def read_state(workdir):
    """The run's `state.json`, or a new state where there is none.

    Raises:
        RunFileError: `state.json` is damaged (not JSON, or not a state):
            the message names it and says what to do.
    """
    path = os.path.join(workdir, STATE)
    if not os.path.exists(path):
        return new_state()
    hint = (
        f"Move it away (e.g. `mv {path} {path}.damaged`) and run the same "
        "command again: the run resumes from its checkpoint, without the "
        "log of its earlier epochs. zoo.train deletes nothing."
    )
    try:
        with open(path, "rb") as f:
            state = json.loads(f.read().decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        reason = " ".join(str(e).split())[:200]
        raise RunFileError(
            f"{path} is damaged (truncated or corrupt: not valid JSON, "
            f"{reason}). {hint}"
        ) from None
    except OSError as e:
        raise RunFileError(f"{path} cannot be read: {e.strerror}.") from None
    if not _state_is_valid(state):
        raise RunFileError(
            f"{path} is damaged: it does not hold the state of a run (a "
            f"JSON object with `epochs`, `epochs_done`...). {hint}"
        )
    return state


def write_state(workdir, state):
    """Writes `<workdir>/state.json` atomically (old or new, never half)."""
    with atomic_write(os.path.join(workdir, STATE), "w") as f:
        json.dump(state, f, indent=2)


def save_checkpoint(vae, workdir):
    """Saves model and optimizer to `<workdir>/checkpoint.keras`, atomically.

    Written beside it under a temporary name of this process (see
    `keras_vae.utils.files`), synced and renamed onto it: a save killed at
    any point leaves the previous checkpoint whole, and its temporary file
    is removed by the next save.
    """
    path = os.path.join(workdir, CHECKPOINT)
    with atomic_path(path, keep_extension=True) as temporary:
        vae.save(temporary)
    # The fixed temporary name of earlier versions, left by a killed save.
    legacy = os.path.join(workdir, _LEGACY_TEMPORARY)
    with contextlib.suppress(OSError):
        if stat.S_ISREG(os.lstat(legacy).st_mode):
            os.remove(legacy)


class TensorBoardLog(keras.callbacks.Callback):
    """The epoch's metrics to TensorBoard (the images: `SampleGrid`).

    Scalars go to `<log_dir>/train` at step = epochs done. One writer serves
    the whole run (`keras.callbacks.TensorBoard` opens new ones at every
    `fit`, and the zoo calls `fit` once per epoch: a 500-epoch run would
    leave 500 event files); `close()` it when training ends.
    """

    def __init__(self, log_dir):
        super().__init__()
        self.log_dir = log_dir
        self._writers = {}

    def _writer(self, kind):
        import tensorflow as tf

        if kind not in self._writers:
            self._writers[kind] = tf.summary.create_file_writer(
                os.path.join(self.log_dir, kind)
            )
        return self._writers[kind]

    def on_epoch_end(self, epoch, logs=None):
        import tensorflow as tf

        step = epoch + 1
        learning_rate = self.model.optimizer.learning_rate
        scalars = {
            **(logs or {}),
            "learning_rate": keras.ops.convert_to_numpy(learning_rate),
        }
        with self._writer("train").as_default():
            for key, value in scalars.items():
                tf.summary.scalar(f"epoch_{key}", float(value), step=step)
        for writer in self._writers.values():
            writer.flush()

    def close(self):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}


def _check_schedule(vae, total_steps, workdir, settings):
    """Refuses a checkpoint whose learning-rate schedule is not the one of
    `settings` (whatever its `state.json` says, or does not say)."""
    schedule = getattr(vae.optimizer, "_learning_rate", None)
    decay_steps = getattr(schedule, "decay_steps", total_steps)
    if decay_steps != total_steps:
        raise RunSettingsError(
            f"the checkpoint in {workdir} decays its learning rate over "
            f"{decay_steps} steps, not the {total_steps} of epochs="
            f"{settings['epochs']}, split={settings['split']!r}: resume it "
            "with the epochs and split it started with, or start a new run "
            "in another work directory."
        )


def _record_machine(state):
    """Notes the versions and hardware of this (part of the) run in `state`."""
    state["versions"] = environment_versions()
    machines = state.setdefault("machines", [])
    hardware = describe_hardware()
    if hardware not in machines:
        machines.append(hardware)
    state["hardware"] = " and ".join(machines)
    state["backend"] = keras.backend.backend()


def train(
    name,
    workdir=None,
    epochs=None,
    split=None,
    verbose="auto",
    tensorboard=True,
    command=None,
    distribute=False,
):
    """Trains (or resumes training) a preset; returns the trained VAE.

    Args:
        name: str. A preset of `keras_vae.training.PRESETS`.
        workdir: str. Checkpoints and logs; default `default_workdir(name)`.
        epochs: int or None. Overrides the preset's number of epochs (tests,
            quick runs); the learning-rate schedule follows it.
        split: str or None. Overrides the training split, e.g.
            `"train[:512]"` for a quick run.
        verbose: "auto", 0, 1 or 2. Keras progress bars: 1 on a terminal,
            one line per epoch otherwise.
        tensorboard: bool. Write TensorBoard logs.
        command: str or None. The command to record as the one that made
            the run; None records `python -m zoo.train <sys.argv[1:]>`.
        distribute: bool. Train data-parallel over every visible device
            (see `distribution_scope`); the batch size stays global.

    Returns:
        The trained `keras_vae.VAE`.

    Raises:
        RunSettingsError: bad settings, or settings that differ from those
            the run in `workdir` started with.
        RunFileError: a damaged checkpoint or `state.json`.

    Example:

    ```python
    import tempfile

    from keras_vae.training import train

    # Two epochs of mnist_mlp_2's recipe on 512 images; the same call
    # again resumes (here: finds the run done).
    workdir = tempfile.mkdtemp()
    vae = train("mnist_mlp_2", workdir=workdir, epochs=2,
                split="train[:512]", tensorboard=False, verbose=0)
    ```
    """
    config = configs.get_config(name)

    def build(total_steps):
        vae = build_vae(config)
        compile_vae(vae, config, total_steps=total_steps)
        return vae

    return run(
        config,
        build,
        workdir=workdir or default_workdir(name),
        epochs=config.epochs if epochs is None else epochs,
        split=split or config.train_split,
        verbose=verbose,
        tensorboard=tensorboard,
        command=command,
        distribute=distribute,
        started="from scratch",
    )


def _describe(settings):
    return ", ".join(f"{key}={value!r}" for key, value in settings.items())


def run(
    config,
    build,
    workdir,
    epochs,
    split,
    verbose="auto",
    tensorboard=True,
    command=None,
    distribute=False,
    settings=None,
    started="from scratch",
):
    """The resumable training loop of `train` and `finetune`.

    Args:
        config: `PresetConfig`. The data set, batch size and seed (of the
            data order and binarization) come from it; `config.name` names
            the run in its messages.
        build: callable. `build(total_steps)` returns the compiled model of
            a new run (its learning rate decays over `total_steps`).
        workdir: str. Checkpoints, `state.json` and logs.
        epochs: int. Epochs of the whole run.
        split: str. The training split of `config.dataset`.
        verbose, tensorboard, command, distribute: as for `train`.
        settings: dict or None. Further settings the run must resume with
            (JSON values), beside `epochs` and `split`.
        started: str. How a new run starts, for its first message.

    Returns:
        The trained model.
    """
    name = config.name
    if verbose == "auto":
        verbose = 1 if sys.stdout.isatty() else 2
    try:
        epochs = _validation.positive_int("epochs", epochs)
    except ValueError as e:
        raise RunSettingsError(str(e)) from None
    checkpoint = os.path.join(workdir, CHECKPOINT)
    # A damaged checkpoint or state is refused before any work. A state
    # without its checkpoint belongs to a run that is gone.
    if os.path.lexists(checkpoint):
        check_checkpoint(workdir)
        state = read_state(workdir)
    else:
        state = new_state()
    try:
        num_train = len(datasets.load(config.dataset, split)[0])
    except (datasets.ChecksumError, datasets.IdxFormatError):
        raise  # Damaged data files, not bad settings.
    except ValueError as e:  # `split`.
        raise RunSettingsError(str(e)) from None
    if num_train == 0:
        raise RunSettingsError(
            f"`split` selects no images of {config.dataset}: nothing to "
            f"train on. Received: split={split!r}"
        )

    # On several processes (`distributed.initialize`), every process trains
    # (data-parallel) and process 0 alone writes the run's files.
    chief = distributed.is_chief()
    processes = distributed.process_count()
    distribute = distribute or processes > 1

    def save_state(state):
        if chief:
            write_state(workdir, state)

    if chief:
        os.makedirs(workdir, exist_ok=True)
    steps_per_epoch = math.ceil(num_train / config.batch_size)
    # The learning-rate schedule follows `epochs`, and the epochs done are
    # counted in steps of `split`: a run resumes with what it started with.
    settings = {"epochs": epochs, "split": split, **(settings or {})}
    previous = state.get("settings", settings)
    if previous != settings:
        keys = [k for k in {**previous, **settings} if k in ("epochs", "split")]
        keys += [
            k
            for k in {**previous, **settings}
            if k not in keys and previous.get(k) != settings.get(k)
        ]
        raise RunSettingsError(
            f"the run in {workdir} was started with "
            f"{_describe({k: previous.get(k) for k in keys})}, and its "
            "checkpoint (learning-rate schedule, epochs done) follows them: "
            "resume it with the same settings, or start a new run in another"
            f" work directory. Received: "
            f"{_describe({k: settings.get(k) for k in keys})}"
        )
    keras.utils.set_random_seed(config.seed)
    with distribution_scope(distribute):
        if os.path.exists(checkpoint):
            vae = load_checkpoint(workdir)
            _check_schedule(vae, epochs * steps_per_epoch, workdir, settings)
            done = int(keras.ops.convert_to_numpy(vae.optimizer.iterations))
            start = done // steps_per_epoch
            distributed.same_everywhere(start, "the epochs done (checkpoint)")
            print(
                f"Resuming {name} from {checkpoint}: epoch {start}/{epochs} "
                "done."
            )
        else:
            distributed.same_everywhere(0, "the epochs done (checkpoint)")
            vae = build(epochs * steps_per_epoch)
            start = 0
            print(
                f"Training {name} {started}: {epochs} epochs of "
                f"{num_train} images ({config.dataset}, {split}), backend "
                f"{keras.backend.backend()}."
            )
    distributed.prepare(vae)
    if command is None:
        command = "python -m zoo.train " + shlex.join(sys.argv[1:])
    state.setdefault("command", command)
    if "settings" not in state:
        state["settings"] = settings
        if start:  # A run of an earlier zoo.train, its settings now known.
            save_state(state)
    if state.get("epochs_done", 0) != start:
        # Killed between the checkpoint and the state of an epoch: the
        # checkpoint is the truth (that epoch's log line is lost).
        state["epochs_done"] = start
        kept = [e for e in state["epochs"] if e["epoch"] <= start]
        state["epochs"] = kept
        state["wall_time_s"] = sum(e.get("seconds", 0.0) for e in kept)
        state["stopped_s"] = sum(e.get("stopped_s", 0.0) for e in kept)
        save_state(state)
    _record_machine(state)  # Once: it is written with every epoch's state.
    callbacks = []
    if tensorboard and chief:
        # Scalars, and grids of prior samples and of 8 test images beside
        # their reconstructions, in `<workdir>/logs`.
        callbacks = [TensorBoardLog(os.path.join(workdir, "logs"))]
        # On several processes, drawing would need all of them; a VQ-VAE
        # has no latent traversals to draw.
        if processes == 1 and config.model != "vq":
            test_images, labels = datasets.load_binarized_test_set(
                config.dataset
            )
            logs = os.path.join(workdir, "logs")
            inputs = test_images[:8]
            if config.model == "conditional":  # With their labels.
                inputs = (inputs, labels[:8])
            callbacks.append(SampleGrid(logs, inputs=inputs))
    try:
        for epoch in range(start, epochs):
            began = time.monotonic()
            with PauseClock() as clock:
                history = vae.fit(
                    distributed.local_share(
                        epoch_dataset(config, epoch, split, config.batch_size),
                        num_train,
                        config.batch_size,
                    ),
                    initial_epoch=epoch,
                    epochs=epoch + 1,
                    callbacks=callbacks,
                    shuffle=False,  # The data set shuffles itself by seed.
                    verbose=verbose,
                )
                if chief:
                    save_checkpoint(vae, workdir)
                else:  # Saving reads the weights with every process.
                    with tempfile.TemporaryDirectory() as scratch:
                        vae.save(os.path.join(scratch, CHECKPOINT))
                distributed.barrier(f"epoch {epoch + 1} saved")
            # Time stopped (kill -STOP) is not training time.
            elapsed = time.monotonic() - began - clock.stopped
            logs = {k: float(v[-1]) for k, v in history.history.items()}
            state["wall_time_s"] += elapsed
            record = {"epoch": epoch + 1, "seconds": elapsed, **logs}
            if clock.stopped:
                record["stopped_s"] = clock.stopped
                stopped = state.get("stopped_s", 0.0) + clock.stopped
                state["stopped_s"] = stopped
            state["epochs"].append(record)
            state["epochs_done"] = epoch + 1
            save_state(state)
    finally:
        for callback in callbacks:
            callback.close()
    return vae


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m zoo.train",
        description="Train a keras_vae preset, resuming from its checkpoint.",
    )
    parser.add_argument("preset", choices=sorted(configs.RECIPES))
    parser.add_argument(
        "--workdir", help="default: ~/.cache/keras_vae/runs/<preset>"
    )
    parser.add_argument("--epochs", type=int, help="override the preset's")
    parser.add_argument("--split", help="override the training split")
    parser.add_argument("--no-tensorboard", action="store_true")
    parser.add_argument(
        "--distribute",
        action="store_true",
        help="data-parallel over every device: MirroredStrategy "
        "(tensorflow) or DataParallel (jax)",
    )
    parser.add_argument(
        "--virtual-devices",
        type=int,
        help="split the CPU into this many devices (to try --distribute)",
    )
    distributed.add_arguments(parser)
    args = parser.parse_args(argv)
    if args.virtual_devices:
        configure_virtual_devices(args.virtual_devices)
    try:
        distributed.initialize_from(args)
    except distributed.DistributedSettingsError as e:
        parser.error(str(e))
    try:
        train(
            args.preset,
            workdir=args.workdir,
            epochs=args.epochs,
            split=args.split,
            tensorboard=not args.no_tensorboard,
            distribute=args.distribute,
        )
    except (RunSettingsError, RunFileError) as e:
        parser.error(str(e))


if __name__ == "__main__":
    main()
