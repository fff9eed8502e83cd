"""The `keras-vae` command line: look at, evaluate, compare and train presets.

Installed as the `keras-vae` console script (also `python -m keras_vae.cli`).
Every command takes a preset by name (`keras-vae list` shows them) or by the
path of a preset directory, and writes its images as PNG files, atomically.

    keras-vae list                                  # the presets, test NLLs
    keras-vae list --json
    keras-vae sample mnist_mlp_2 -n 64 -o samples.png
    keras-vae reconstruct mnist_mlp_2 -n 16 -o reconstructions.png
    keras-vae interpolate mnist_mlp_2 --from 0 --to 1 --steps 10 -o strip.png
    keras-vae traverse mnist_mlp_32 --dim 3 -o traversal.png
    keras-vae evaluate mnist_mlp_2 -k 100 --limit 1000
    keras-vae evaluate path/to/my_preset --json
    keras-vae compare mnist_conv mnist_mlp_32 -k 1000  # paired, per image
    keras-vae train mnist_mlp_2 --epochs 5 --workdir /tmp/run
    keras-vae train --from-preset mnist_mlp_32 --dataset fashion_mnist \
        --epochs 10 --save-preset my_preset            # fine-tuning

`reconstruct`, `interpolate`, `evaluate` and `compare` use the fixed
binarized test set of the preset's data set
(`keras_vae.datasets.load_binarized_test_set`).
`train` runs `keras_vae.training`: a preset of the zoo from its recipe
(the same as `python -m zoo.train` in a clone of the repository), or, with
`--from-preset`, the fine-tuning of a published preset.

User errors (an unknown preset, a missing output directory, a bad number,
missing data...) print one `keras-vae: error: ...` line to stderr and exit
with status 2; an interrupted command exits with status 130. Every argument
is checked before any work (before a model or a data set is loaded where
the check allows, and always before anything is computed or written):

- seeds are integers from 0 to 2**32 - 1, on every backend;
- counts (`-n`, `-k`, `--steps`, `--limit`, `--batch-size`, `--epochs`) are
  at most 1,000,000, `--columns` at most 1,000 and `--scale` at most 32, and
  a PNG is at most `MAX_IMAGE_PIXELS` (50 million) pixels;
- test-image indices and `-n` must fit the data set's test set, and the
  preset's input shape must be that of its images;
- a `--split` must select at least one image;
- `-o` must name a PNG file that can be written (its directory exists and
  is writable; not a directory, a symbolic link or a read-only file), and
  `--workdir` a directory that exists or can be made.

A damaged preset or checkpoint is refused with an error that names the
file. Output files are written atomically: an interrupted command leaves
the previous file or the new one.

The commands live in one module per group: `catalog` (`list`), `images`
(`sample`, `reconstruct`, `interpolate`, `traverse`), `scores` (`evaluate`,
`compare`) and `training` (`train`); `main` assembles their parsers.
"""

from keras_vae.cli._common import MAX_COLUMNS
from keras_vae.cli._common import MAX_COUNT
from keras_vae.cli._common import MAX_IMAGE_PIXELS
from keras_vae.cli._common import MAX_SCALE
from keras_vae.cli._common import PROG
from keras_vae.cli._common import SEED_BOUND
from keras_vae.cli._common import CommandError
from keras_vae.cli._common import check_output_path
from keras_vae.cli.main import build_parser
from keras_vae.cli.main import main

__all__ = [
    "MAX_COLUMNS",
    "MAX_COUNT",
    "MAX_IMAGE_PIXELS",
    "MAX_SCALE",
    "PROG",
    "SEED_BOUND",
    "CommandError",
    "build_parser",
    "check_output_path",
    "main",
]
