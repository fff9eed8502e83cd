"""Carries an unfinished training run between machines, in one file.

A run's work directory (`~/.cache/keras_vae/runs/NAME`) does not survive a
move to another machine. Before stopping with a run unfinished, pack its
checkpoint and `state.json` into `zoo/in_training/NAME.tar` (replaced, never
accumulated: one file per run), commit it, and unpack it on the next
machine; delete it once the preset is published.

    python -m zoo.carry pack mnist_vamp      # -> zoo/in_training/mnist_vamp.tar
    python -m zoo.carry unpack mnist_vamp    # -> the run's work directory

`unpack` writes only into a work directory without a checkpoint (a run
there is never replaced); `pack` replaces only its own archive.
"""

import argparse
import io
import json
import os
import sys
import tarfile

from keras_vae.training import configs
from keras_vae.training.run import CHECKPOINT
from keras_vae.training.run import STATE
from keras_vae.training.run import check_checkpoint
from keras_vae.training.run import default_workdir
from keras_vae.training.run import read_state
from keras_vae.utils import atomic_write

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "in_training")
MEMBERS = (CHECKPOINT, STATE)


def archive_path(name):
    return os.path.join(ROOT, f"{name}.tar")


def pack(name, workdir=None):
    """Packs the run's checkpoint and state into `archive_path(name)`."""
    workdir = workdir or default_workdir(name)
    check_checkpoint(workdir)  # A damaged checkpoint is not carried.
    state = read_state(workdir)
    os.makedirs(ROOT, exist_ok=True)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for member in MEMBERS:
            archive.add(os.path.join(workdir, member), arcname=member)
    with atomic_write(archive_path(name), "wb") as f:
        f.write(buffer.getvalue())
    print(
        f"packed {name} ({state.get('epochs_done')} epochs done) into "
        f"{archive_path(name)}"
    )
    return archive_path(name)


def unpack(name, workdir=None):
    """Unpacks `archive_path(name)` into a work directory that holds no
    checkpoint yet."""
    workdir = workdir or default_workdir(name)
    if os.path.lexists(os.path.join(workdir, CHECKPOINT)):
        raise FileExistsError(
            f"{workdir} already holds a checkpoint: its run is not "
            "replaced. Resume it, or unpack into another --workdir."
        )
    with tarfile.open(archive_path(name)) as archive:
        names = archive.getnames()
        if sorted(names) != sorted(MEMBERS) or not all(
            archive.getmember(n).isfile() for n in names
        ):
            raise ValueError(
                f"{archive_path(name)} is not a packed run: it holds "
                f"{names}, not {list(MEMBERS)}."
            )
        os.makedirs(workdir, exist_ok=True)
        for member in MEMBERS:
            data = archive.extractfile(member).read()
            with atomic_write(os.path.join(workdir, member), "wb") as f:
                f.write(data)
    state = read_state(workdir)
    print(
        f"unpacked {name} into {workdir}: {state.get('epochs_done')} epochs "
        f"done; resume with `python -m zoo.train {name}`"
    )
    return workdir


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m zoo.carry")
    parser.add_argument("action", choices=("pack", "unpack"))
    parser.add_argument("preset", choices=sorted(configs.RECIPES))
    parser.add_argument("--workdir")
    args = parser.parse_args(argv)
    try:
        action = pack if args.action == "pack" else unpack
        action(args.preset, args.workdir)
    except (OSError, ValueError, json.JSONDecodeError) as e:
        parser.exit(2, f"python -m zoo.carry: error: {e}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
