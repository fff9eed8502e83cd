import math

import keras
import numpy as np


def check_finite(name, data):
    """Raises a ValueError if an array argument holds NaN or inf.

    Arrays (numpy or backend tensors) are checked; data sets, generators and
    other iterables are left to `NaNGuard`, which watches the loss.

    Args:
        name: str. The argument's name, for the message.
        data: the argument's value.
    """
    if data is None or not hasattr(data, "shape") or not hasattr(data, "dtype"):
        return
    try:
        array = np.asarray(keras.ops.convert_to_numpy(data))
    except Exception:  # Not convertible (a dataset, a generator): skip.
        return
    if not np.issubdtype(array.dtype, np.floating):
        return
    bad = ~np.isfinite(array)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"`{name}` contains {int(bad.sum())} non-finite value(s) (NaN or "
            f"inf), the first at index {first}. A VAE cannot learn from "
            "them: clean or impute the data first."
        )


class NaNGuard(keras.callbacks.Callback):
    """Stops training with a clear error as soon as the loss is NaN or inf.

    `keras_vae.VAE.fit` adds one automatically. Unlike
    `keras.callbacks.TerminateOnNaN`, which stops quietly, it raises a
    `FloatingPointError` that says where the loss broke and what usually
    causes it, so a NaN run never passes for a finished one.

    Args:
        check_every: int. Check the loss every this many batches, default 1.

    Example:

    ```python
    import keras
    import numpy as np
    import keras_vae

    # Any Keras model: `keras_vae.VAE.fit` adds a NaNGuard by itself.
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(
        np.random.rand(32, 4),
        np.random.rand(32, 1),
        callbacks=[keras_vae.callbacks.NaNGuard()],
        verbose=0,
    )
    ```
    """

    # Keras may run this callback in a worker thread, so that reading the
    # loss does not stall the training loop; an error raised there reaches
    # `fit` at the next batch. In that thread the callback must not read
    # `self.model`: on JAX that property syncs the training state into the
    # model's variables, racing the loop, which then donates those buffers
    # to the next step and leaves the model holding deleted arrays.
    async_safe = True

    def __init__(self, check_every=1):
        super().__init__()
        self.check_every = int(check_every)
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if not logs or "loss" not in logs or batch % self.check_every:
            return
        loss = float(np.asarray(keras.ops.convert_to_numpy(logs["loss"])))
        if not math.isfinite(loss):
            self._model.stop_training = True  # Not `self.model`: see above.
            raise FloatingPointError(
                f"The training loss became {loss} at epoch {self._epoch + 1}, "
                f"batch {batch + 1}. keras_vae clips log-variances, so this "
                "usually comes from non-finite values in the data (check "
                "`np.isfinite(x).all()`) or a learning rate that is too high."
            )
