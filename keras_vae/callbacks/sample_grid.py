import os

import keras
import numpy as np

from keras_vae import _validation
from keras_vae.utils.images import image_grid


class SampleGrid(keras.callbacks.Callback):
    """Writes grids of images to TensorBoard as a VAE trains.

    Every `every_n_epochs` epochs it writes, as image summaries under
    `log_dir` (at step = epochs done):

    - `samples`: `num_samples` draws from the prior, decoded, with the
      same noise every time (`seed`), so that the grids show the model
      changing, not the noise;
    - `reconstructions`, with `inputs`: each input beside its
      reconstruction (the decoded mean of its posterior);
    - `traversal`, with `traverse_dims`: the code of the first input (or
      the origin, without inputs) decoded with each of these latent
      dimensions swept from -3 to 3, one row per dimension.

    It works for any model with `sample` (and `reconstruct`, `traverse`):
    `keras_vae.VAE`, and `ConditionalVAE`, whose `inputs` are a pair
    `(x, conditions)` and whose samples take `condition` (without it, one
    with `num_classes` samples the classes in turn), on every backend:
    the images are made with the
    model's numpy API and written with `tf.summary` (TensorFlow is a
    dependency of keras_vae). One writer serves every `fit` call of the
    callback, so that a loop of `fit(epochs=1)` calls makes one event
    file; `close()` it when done (or let it be collected).

    Args:
        log_dir: str. The TensorBoard log directory; the images go to
            `log_dir/images`.
        every_n_epochs: int > 0. Write every this many epochs, default 1.
        num_samples: int > 0. Prior samples per grid, default 64.
        inputs: array `(n, ...)` or None. Examples to reconstruct, e.g. 8
            validation images; default None (no reconstructions). For a
            `ConditionalVAE`, a pair `(x, conditions)`.
        traverse_dims: list of ints or None. Latent dimensions to sweep;
            default None (no traversal).
        condition: one condition for the samples of a `ConditionalVAE`
            (e.g. a label), and for its traversal without `inputs`; or
            None.
        seed: int in [0, 2**32). Seed of the prior draws, default 0.
        columns: int or None. Samples per row; None makes the grid square.

    Example:

    ```python
    import os
    import tempfile

    import keras
    import numpy as np
    import keras_vae

    encoder = keras.Sequential(
        [keras.Input((8, 8, 1)), keras.layers.Flatten(),
         keras.layers.Dense(16, activation="relu")]
    )
    decoder = keras.Sequential(
        [keras.Input((2,)), keras.layers.Dense(64),
         keras.layers.Reshape((8, 8, 1))]
    )
    vae = keras_vae.VAE(encoder, decoder, latent_dim=2, seed=0)
    vae.compile(optimizer="adam")
    x = (np.random.rand(64, 8, 8, 1) > 0.5).astype("float32")
    log_dir = os.path.join(tempfile.mkdtemp(), "logs")
    grid = keras_vae.callbacks.SampleGrid(
        log_dir, num_samples=16, inputs=x[:4], traverse_dims=[0, 1]
    )
    vae.fit(x, epochs=2, verbose=0, callbacks=[grid])
    grid.close()
    # Then: tensorboard --logdir <log_dir>
    ```
    """

    def __init__(
        self,
        log_dir,
        every_n_epochs=1,
        num_samples=64,
        inputs=None,
        traverse_dims=None,
        condition=None,
        seed=0,
        columns=None,
    ):
        super().__init__()
        self.log_dir = os.fspath(log_dir)
        self.every_n_epochs = _validation.positive_int(
            "every_n_epochs", every_n_epochs
        )
        self.num_samples = _validation.positive_int("num_samples", num_samples)
        self.input_conditions = None
        if isinstance(inputs, (tuple, list)):
            if len(inputs) != 2:
                raise ValueError(
                    "`inputs` must be an array, or a pair `(x, conditions)` "
                    f"for a conditional model. Received {len(inputs)} arrays."
                )
            inputs, self.input_conditions = inputs
        self.inputs = None if inputs is None else np.asarray(inputs, "float32")
        if self.inputs is not None and (
            self.inputs.ndim < 2 or len(self.inputs) == 0
        ):
            raise ValueError(
                "`inputs` must be a batch of examples `(n, ...)`, n >= 1. "
                f"Received shape {self.inputs.shape}"
            )
        if traverse_dims is not None:
            traverse_dims = [int(d) for d in traverse_dims]
        self.traverse_dims = traverse_dims
        self.condition = condition
        self.seed = _validation.seed("seed", seed, allow_none=False)
        self.columns = columns
        self._writer = None

    def images(self):
        """The grids for the model now: a dict `{name: uint8 array (H, W)
        or (H, W, 3)}`, what `on_epoch_end` writes."""
        model = self.model
        grids = {}
        given = {} if self.condition is None else {"condition": self.condition}
        samples = model.sample(self.num_samples, seed=self.seed, **given)
        grids["samples"] = image_grid(samples, columns=self.columns)
        start = np.zeros(model.latent_dim, "float32")
        if self.inputs is not None:
            x = self.inputs
            conditions = self.input_conditions
            paired = {} if conditions is None else {"condition": conditions}
            pairs = np.stack([x, model.reconstruct(x, **paired)], axis=1)
            grids["reconstructions"] = image_grid(
                pairs.reshape((2 * len(x),) + x.shape[1:]),
                columns=2 * min(len(x), 8),
            )
            start = x[0]
            if conditions is not None:
                given = {"condition": np.asarray(conditions)[:1]}
        if self.traverse_dims:
            sweep = model.traverse(start, list(self.traverse_dims), **given)
            grids["traversal"] = image_grid(
                sweep.reshape((-1,) + sweep.shape[2:]),
                columns=sweep.shape[1],
            )
        return grids

    def on_epoch_end(self, epoch, logs=None):
        step = epoch + 1
        if step % self.every_n_epochs:
            return
        import tensorflow as tf

        if self._writer is None:
            self._writer = tf.summary.create_file_writer(
                os.path.join(self.log_dir, "images")
            )
        with self._writer.as_default():
            for name, grid in self.images().items():
                if grid.ndim == 2:
                    grid = grid[..., None]
                tf.summary.image(name, grid[None], step=step)
        self._writer.flush()

    def close(self):
        """Closes the event file (a later epoch opens a new one)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
