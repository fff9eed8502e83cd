"""Training on several processes (and hosts): joining a multi-process run,
and what each process does in it.

Every process runs the same command with its own `--process-id`:

    keras-vae train mnist_mlp_32 --coordinator HOST:PORT \\
        --num-processes N --process-id I

`initialize` joins the run:

- JAX: `jax.distributed.initialize`, through `keras.distribution.initialize`
  (on CPUs the collectives go through gloo); `keras.distribution.DataParallel`
  then replicates the model on every device of every process.
- TensorFlow: a `tf.distribute.MultiWorkerMirroredStrategy`. Its cluster is
  `TF_CONFIG` where that is set (the usual way across hosts: every process
  lists every worker's address), or else, from the flags, the processes of
  one host: process `I` listens on `PORT + I` of `HOST`.

Either way every process draws the same (seeded) global batches and feeds
its own share of each (`local_share`); the gradients are summed across all
of them. Process 0, the chief, writes the checkpoints, `state.json` and the
TensorBoard logs; the others write nothing. A run resumes from its
checkpoint with the same number of processes, which must all see the same
work directory.
"""

import json
import os
import re

_ADDRESS = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$")


# The `MultiWorkerMirroredStrategy` of a TensorFlow run (`initialize`).
_STRATEGY = None


class DistributedSettingsError(ValueError):
    """Settings of a multi-process run that cannot work: a malformed
    coordinator address, a process id out of range, a backend without
    multi-process support, or processes that disagree."""


def check_settings(coordinator, num_processes, process_id):
    """Checks the three settings of a multi-process run, before any work.

    Args:
        coordinator: str. `HOST:PORT` of process 0, which every process
            connects to.
        num_processes: int >= 1.
        process_id: int in `[0, num_processes)`.

    Raises:
        DistributedSettingsError: naming the setting and the value.
    """
    match = _ADDRESS.match(str(coordinator))
    if not match or not 0 < int(match.group(2)) < 65536:
        raise DistributedSettingsError(
            "`coordinator` must be HOST:PORT, the address of process 0 "
            f"(e.g. 10.0.0.1:1234). Received: coordinator={coordinator!r}"
        )
    if (
        isinstance(num_processes, bool)
        or not isinstance(num_processes, int)
        or num_processes < 1
    ):
        raise DistributedSettingsError(
            "`num_processes` must be a positive integer. Received: "
            f"num_processes={num_processes!r}"
        )
    if (
        isinstance(process_id, bool)
        or not isinstance(process_id, int)
        or not 0 <= process_id < num_processes
    ):
        raise DistributedSettingsError(
            f"`process_id` must be an integer from 0 to {num_processes - 1} "
            f"(num_processes={num_processes}). Received: "
            f"process_id={process_id!r}"
        )


def initialize(coordinator, num_processes, process_id):
    """Joins a multi-process run; call it before any computation.

    JAX: through `jax.distributed`. TensorFlow: a
    `tf.distribute.MultiWorkerMirroredStrategy` whose workers are
    `TF_CONFIG`'s if that is set (it must then agree with the arguments),
    else the processes of one host, process `I` at `PORT + I` of the
    coordinator's `HOST`. torch is refused with an error that says so.
    Blocks until every process has joined.

    Args:
        coordinator: str. `HOST:PORT` of process 0.
        num_processes: int >= 1. Processes in the run.
        process_id: int. This process's index, from 0 (the chief).

    Raises:
        DistributedSettingsError: bad settings, settings that disagree with
            `TF_CONFIG`, or the torch backend.
    """
    import keras

    check_settings(coordinator, num_processes, process_id)
    backend = _backend()
    if backend == "tensorflow":
        from_env = _tf_config_workers()
        if from_env is not None:
            _check_against_tf_config(
                from_env, coordinator, num_processes, process_id
            )
            _join_tensorflow(*from_env)
            return
        host, port = _ADDRESS.match(coordinator).groups()
        if int(port) + num_processes - 1 > 65535:
            raise DistributedSettingsError(
                f"the {num_processes} processes listen on ports {port} to "
                f"{int(port) + num_processes - 1}, past 65535: choose a lower"
                f" port. Received: coordinator={coordinator!r}"
            )
        ports = range(int(port), int(port) + num_processes)
        _join_tensorflow([f"{host}:{p}" for p in ports], process_id)
        return
    if backend != "jax":
        raise DistributedSettingsError(
            "Training on several processes needs the jax backend "
            "(jax.distributed) or the tensorflow backend "
            "(MultiWorkerMirroredStrategy); on "
            f"{backend!r} train on one process. Received: "
            f"KERAS_BACKEND={backend!r}"
        )
    import jax

    # Collectives between the CPUs of several processes go through gloo
    # (accelerators use their own).
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    keras.distribution.initialize(
        job_addresses=coordinator,
        num_processes=num_processes,
        process_id=process_id,
    )


def _tf_config_workers():
    """The worker addresses of `TF_CONFIG` (a chief first), and the index
    of this process among them; None where `TF_CONFIG` is not set.

    Returns:
        None, or `(addresses, index)`.

    Raises:
        DistributedSettingsError: `TF_CONFIG` is not what
            `MultiWorkerMirroredStrategy` reads.
    """
    raw = os.environ.get("TF_CONFIG", "").strip()
    if not raw:
        return None
    example = (
        '{"cluster": {"worker": ["host0:port", "host1:port"]}, '
        '"task": {"type": "worker", "index": 0}}'
    )
    try:
        config = json.loads(raw)
        cluster, task = config["cluster"], config["task"]
        chiefs = list(cluster.get("chief", []))
        addresses = chiefs + list(cluster.get("worker", []))
        kind, index = task["type"], task["index"]
        if kind not in ("chief", "worker") or len(chiefs) > 1:
            raise ValueError
        index = index if kind == "chief" else len(chiefs) + index
        if isinstance(index, bool) or not 0 <= index < len(addresses):
            raise ValueError
    except (ValueError, KeyError, TypeError, AttributeError):
        raise DistributedSettingsError(
            "the environment variable TF_CONFIG must describe the run's "
            f"workers (at most one chief) and this process, e.g. {example}."
            f" Received: TF_CONFIG={raw!r}"
        ) from None
    return addresses, index


def _check_against_tf_config(workers, coordinator, num_processes, process_id):
    addresses, index = workers
    if (len(addresses), index, addresses[0]) != (
        num_processes,
        process_id,
        coordinator,
    ):
        raise DistributedSettingsError(
            "the flags disagree with TF_CONFIG, which lists "
            f"{len(addresses)} processes with {addresses[0]} first and this "
            f"one as {index}: give the same, or leave the flags out. "
            f"Received: --coordinator {coordinator} --num-processes "
            f"{num_processes} --process-id {process_id}"
        )


def _join_tensorflow(workers, process_id):
    """Creates the run's `MultiWorkerMirroredStrategy` (blocks until every
    worker has joined)."""
    global _STRATEGY
    import tensorflow as tf

    if len(workers) == 1:
        return  # One process: nothing to join.
    resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(
        tf.train.ClusterSpec({"worker": workers}),
        task_type="worker",
        task_id=process_id,
        rpc_layer="grpc",
    )
    _STRATEGY = tf.distribute.MultiWorkerMirroredStrategy(
        cluster_resolver=resolver
    )


def strategy():
    """The `tf.distribute.MultiWorkerMirroredStrategy` of a TensorFlow run
    on several processes; None otherwise.

    Example:

    ```python
    from keras_vae.training import distributed

    assert distributed.strategy() is None  # One process.
    ```
    """
    return _STRATEGY


def _backend():
    import keras

    return keras.backend.backend()


def process_index():
    """This process's index in a multi-process run; 0 on one process."""
    if _STRATEGY is not None:
        return _STRATEGY.cluster_resolver.task_id
    if _backend() != "jax":
        return 0
    import jax

    return jax.process_index()


def process_count():
    """The number of processes of the run; 1 on one process."""
    if _STRATEGY is not None:
        return len(
            _STRATEGY.cluster_resolver.cluster_spec().as_dict()["worker"]
        )
    if _backend() != "jax":
        return 1
    import jax

    return jax.process_count()


def is_chief():
    """True on process 0, the one that writes the run's files."""
    return process_index() == 0


def local_share(dataset, num_examples=None, batch_size=None):
    """This process's share of every batch of a `tf.data` data set of
    global batches (the data set itself on one process).

    Every process draws the same global batches (same seeds); process `i`
    of `n` keeps rows `[i * b, (i + 1) * b)` of each, `b = B // n` rounded
    down to a multiple of its devices, and the model sees the global batch
    again, assembled by Keras. A batch whose size `B` does not divide
    between all the devices loses its last rows (at most one per device
    less one), the same on every process; a last batch smaller than the
    number of devices (`num_examples % batch_size`, where both are given)
    is dropped.
    """
    count = process_count()
    if count == 1:
        return dataset
    import tensorflow as tf

    index = process_index()
    if _STRATEGY is not None:
        devices = _STRATEGY.num_replicas_in_sync
        local = len(_STRATEGY.extended.worker_devices)
    else:
        import jax

        devices = jax.device_count()
        local = jax.local_device_count()

    def share(*batch):
        # Every tensor of the batch (images, or `((images, labels),)`).
        size = tf.shape(tf.nest.flatten(batch)[0])[0] // devices * local
        cut = tf.nest.map_structure(
            lambda t: t[index * size : (index + 1) * size], batch
        )
        return cut[0] if len(cut) == 1 and tf.is_tensor(cut[0]) else cut

    dataset = dataset.map(share)
    if num_examples is not None and batch_size is not None:
        if 0 < num_examples % batch_size < devices:
            dataset = dataset.take(num_examples // batch_size)
    if _STRATEGY is None:
        return dataset
    if local > 1:  # One batch per local replica, in turn.

        def per_replica(*batch):
            rows = tf.shape(tf.nest.flatten(batch)[0])[0] // local

            def split(t):
                shape = tf.concat([[local, rows], tf.shape(t)[1:]], 0)
                return tf.reshape(t[: rows * local], shape)

            parts = tf.nest.map_structure(split, batch)
            if len(parts) == 1 and tf.is_tensor(parts[0]):
                parts = parts[0]
            return tf.data.Dataset.from_tensor_slices(parts)

        dataset = dataset.flat_map(per_replica)
    # Fed as it is: no rebatching or sharding of the pipeline by TensorFlow,
    # so every process keeps the draws (dynamic binarization) of one.
    return _STRATEGY.distribute_datasets_from_function(lambda _: dataset)


def prepare(model):
    """Adapts a compiled model to the run: a no-op except on a TensorFlow
    run on several processes, where its training step returns its logs as
    1-element vectors (Keras reduces a `MultiWorkerMirroredStrategy`'s
    per-replica logs along axis 0, which scalars do not have:
    keras-team/keras#20585); the logs read the same.

    Returns:
        The model.

    Example:

    ```python
    import keras_vae
    from keras_vae.training import distributed

    vae = keras_vae.ConditionalVAE.mlp((784,), num_classes=10, latent_dim=2)
    vae = distributed.prepare(vae)  # The same model, on one process.
    ```
    """
    if _STRATEGY is None or getattr(model, "_keras_vae_prepared", False):
        return model
    import keras

    step = model.train_step

    def train_step(data):
        logs = step(data)
        return keras.tree.map_structure(
            lambda v: keras.ops.reshape(v, (1,)), logs
        )

    model.train_step = train_step
    model._keras_vae_prepared = True
    return model


def _allgather(array):
    """Every process's `array` (same shape and dtype everywhere), stacked
    in process order: `(processes, *array.shape)`."""
    import numpy as np

    array = np.asarray(array)
    if _STRATEGY is None:
        from jax.experimental import multihost_utils

        return np.asarray(multihost_utils.process_allgather(array))
    import tensorflow as tf

    index = process_index()
    distribute = _STRATEGY.experimental_distribute_values_from_function
    values = distribute(lambda _: tf.constant(array[None]))
    tags = distribute(lambda _: tf.constant([index], "int32"))
    values = _STRATEGY.gather(values, axis=0).numpy()
    tags = _STRATEGY.gather(tags, axis=0).numpy()
    # Each process's first replica (a process may have several).
    return values[
        [int(np.flatnonzero(tags == p)[0]) for p in range(process_count())]
    ]


def barrier(name):
    """Waits until every process reaches the barrier `name` (no-op on one
    process)."""
    if process_count() == 1:
        return
    if _STRATEGY is not None:
        _allgather(0)  # A collective returns once every process is in it.
        return
    from jax.experimental import multihost_utils

    multihost_utils.sync_global_devices(name)


def same_everywhere(value, what):
    """Checks that every process holds the same integer `value`.

    Raises:
        DistributedSettingsError: naming `what` and each process's value.
    """
    if process_count() == 1:
        return value
    import numpy as np

    values = _allgather(np.asarray([value], "int64")).reshape(-1)
    if len(set(values.tolist())) > 1:
        raise DistributedSettingsError(
            f"the processes disagree on {what}: "
            + ", ".join(f"process {i}: {v}" for i, v in enumerate(values))
            + ". Every process must see the same work directory (a shared "
            "file system) and run the same command."
        )
    return value


def add_arguments(parser, what="trains data-parallel"):
    """Adds `--coordinator`, `--num-processes` and `--process-id` to an
    `argparse` parser (`python -m zoo.train`, `keras-vae train` and
    `evaluate`); `what` says what the processes do together."""
    group = parser.add_argument_group(
        f"several processes (jax, tensorflow): each runs the same command, "
        f"and the run {what}; on tensorflow TF_CONFIG, where set, describes "
        "the run instead, and without it process I listens on PORT + I"
    )
    group.add_argument(
        "--coordinator",
        metavar="HOST:PORT",
        help="address of process 0, which the others connect to",
    )
    group.add_argument(
        "--num-processes",
        type=int,
        metavar="N",
        help="processes in the run (with --coordinator)",
    )
    group.add_argument(
        "--process-id",
        type=int,
        metavar="I",
        help="this process's index, 0 to N - 1; 0 writes the files",
    )


def initialize_from(args):
    """`initialize` with the options of `add_arguments`, if given; on the
    tensorflow backend without them, `TF_CONFIG` where it is set.

    Returns:
        True if this process joined a multi-process run.

    Raises:
        DistributedSettingsError: some of the three options without the
            others, bad values, or a `TF_CONFIG` that cannot be read.
    """
    given = {
        "--coordinator": args.coordinator,
        "--num-processes": args.num_processes,
        "--process-id": args.process_id,
    }
    if all(value is None for value in given.values()):
        from_env = _tf_config_workers() if _backend() == "tensorflow" else None
        if from_env is None:
            return False
        addresses, index = from_env
        _join_tensorflow(addresses, index)
        return len(addresses) > 1
    missing = [option for option, value in given.items() if value is None]
    if missing:
        raise DistributedSettingsError(
            "a run on several processes needs --coordinator, "
            f"--num-processes and --process-id together: {', '.join(missing)}"
            " missing."
        )
    initialize(args.coordinator, args.num_processes, args.process_id)
    return True


def shard():
    """`(process_index(), process_count())`, or None on one process: the
    share of an estimate this process computes (see `gather`)."""
    count = process_count()
    return None if count == 1 else (process_index(), count)


def gather(rows, values, size):
    """Every process's `values` of its `rows`, as one array of `size`.

    Args:
        rows: slice. The rows of the whole that this process computed.
        values: 1-d float array, those rows' values.
        size: int. Rows of the whole.

    Returns:
        A float64 numpy array `(size,)`, the same on every process.
    """
    import numpy as np

    whole = np.zeros((size,), "float64")
    whole[rows] = values
    if process_count() == 1:
        return whole
    # Exact float64 through JAX's (float32 by default) arrays: their bits,
    # as int32 pairs; each row is taken from the process that computed it.
    owner = np.full((size,), -1, "int32")
    owner[rows] = process_index()
    bits = np.ascontiguousarray(whole).view("int32")
    parts = _allgather(bits)
    owners = _allgather(owner).max(axis=0)
    if np.any(owners < 0):
        raise DistributedSettingsError(
            "the processes' shares of the estimate do not cover every row: "
            "every process must run the same command."
        )
    values = np.ascontiguousarray(parts).view("float64")  # (processes, size)
    return values[owners, np.arange(size)]
