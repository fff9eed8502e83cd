"""Training on several processes (and hosts): joining a JAX multi-process
run, and what each process does in it.

Every process runs the same command with its own `--process-id`:

    keras-vae train mnist_mlp_32 --coordinator HOST:PORT \\
        --num-processes N --process-id I

`initialize` joins the run (`jax.distributed.initialize`, through
`keras.distribution.initialize`; on CPUs the collectives go through gloo);
`keras.distribution.DataParallel` then replicates the model on every device
of every process, and Keras splits each global batch of the (identical,
seeded) training data between the processes. Process 0, the chief, writes
the checkpoints, `state.json` and the TensorBoard logs; the others write
nothing. A run resumes from its checkpoint with the same number of
processes, which must all see the same work directory.
"""

import re

_ADDRESS = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$")


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

    JAX only (`jax.distributed`): the TensorFlow backend's multi-worker
    strategy and torch's are not supported yet, and are refused with an
    error that says so. Blocks until every process has joined.

    Args:
        coordinator: str. `HOST:PORT` of process 0.
        num_processes: int >= 1. Processes in the run.
        process_id: int. This process's index, from 0 (the chief).

    Raises:
        DistributedSettingsError: bad settings, or another backend than
            JAX.
    """
    import keras

    check_settings(coordinator, num_processes, process_id)
    backend = keras.backend.backend()
    if backend != "jax":
        raise DistributedSettingsError(
            "Training on several processes needs the jax backend "
            "(keras_vae runs it through jax.distributed); on "
            f"{backend!r} train on one process, on the devices of one "
            "machine with --distribute. Received: "
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


def _backend():
    import keras

    return keras.backend.backend()


def process_index():
    """This process's index in a multi-process run; 0 on one process."""
    if _backend() != "jax":
        return 0
    import jax

    return jax.process_index()


def process_count():
    """The number of processes of the run; 1 on one process."""
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
    import jax
    import tensorflow as tf

    index = process_index()
    devices = jax.device_count()
    local = jax.local_device_count()

    def share(batch):
        size = tf.shape(batch)[0] // devices * local
        return batch[index * size : (index + 1) * size]

    dataset = dataset.map(share)
    if num_examples is not None and batch_size is not None:
        if 0 < num_examples % batch_size < devices:
            dataset = dataset.take(num_examples // batch_size)
    return dataset


def barrier(name):
    """Waits until every process reaches the barrier `name` (no-op on one
    process)."""
    if process_count() > 1:
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
    from jax.experimental import multihost_utils

    values = np.asarray(
        multihost_utils.process_allgather(np.asarray([value], "int64"))
    ).reshape(-1)
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
        f"several processes (jax): each runs the same command, and the run "
        f"{what}"
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
    """`initialize` with the options of `add_arguments`, if given.

    Returns:
        True if this process joined a multi-process run.

    Raises:
        DistributedSettingsError: some of the three options without the
            others, or bad values.
    """
    given = {
        "--coordinator": args.coordinator,
        "--num-processes": args.num_processes,
        "--process-id": args.process_id,
    }
    if all(value is None for value in given.values()):
        return False
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
    from jax.experimental import multihost_utils

    # Exact float64 through JAX's (float32 by default) arrays: their bits,
    # as int32 pairs; each row is taken from the process that computed it.
    owner = np.full((size,), -1, "int32")
    owner[rows] = process_index()
    bits = np.ascontiguousarray(whole).view("int32")
    parts = np.asarray(multihost_utils.process_allgather(bits))
    owners = np.asarray(multihost_utils.process_allgather(owner)).max(axis=0)
    if np.any(owners < 0):
        raise DistributedSettingsError(
            "the processes' shares of the estimate do not cover every row: "
            "every process must run the same command."
        )
    values = np.ascontiguousarray(parts).view("float64")  # (processes, size)
    return values[owners, np.arange(size)]
