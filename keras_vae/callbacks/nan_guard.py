import inspect
import math
import sys

import keras
import numpy as np


def check_data(name, data, likelihood=None, support=None):
    """Raises a ValueError if array data is not finite or leaves a support.

    The one check of the data a VAE is given, in `fit`, `evaluate`,
    `predict` and its inference methods: every value must be finite (no
    NaN, no inf) and, where a likelihood has a bounded support, lie in it
    (the Bernoulli likelihood needs values in [0, 1]: 8-bit pixels scored
    by it give meaningless, hugely negative log-likelihoods). It costs a
    minimum and a maximum over the values; the positions of bad values are
    searched only to describe them.

    Arrays (numpy or backend tensors) are checked, of any real or integer
    dtype (bfloat16 and the other types of `ml_dtypes` included); complex
    arrays are refused; other values (data sets, generators) are left
    alone: see `BatchChecks` for those.

    Args:
        name: str. The argument's name, for the message.
        data: the argument's value.
        likelihood: str or None. The likelihood whose support is checked,
            for the message.
        support: a pair `(low, high)` or None. The closed interval the
            values must lie in; None accepts any finite value.

    Raises:
        ValueError: `data` holds NaN or inf, or values outside `support`,
            or is complex.
    """
    if data is None or not hasattr(data, "shape") or not hasattr(data, "dtype"):
        return
    try:
        array = np.asarray(keras.ops.convert_to_numpy(data))
    except Exception:  # Not convertible (a symbolic tensor): skip.
        return
    dtype = array.dtype
    if dtype.kind == "c":
        raise ValueError(
            f"`{name}` is complex ({dtype}): a VAE models real values. "
            "Pass the real and imaginary parts as real features, e.g. "
            "`np.concatenate([x.real, x.imag], axis=-1)`."
        )
    array = _as_real(array)
    kind = array.dtype.kind
    if array.size == 0 or kind not in "biuf" or (kind != "f" and not support):
        return
    low, high = array.min(), array.max()  # NaN, if any, propagates.
    if kind == "f" and not (np.isfinite(low) and np.isfinite(high)):
        bad = ~np.isfinite(array)
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"`{name}` contains {int(bad.sum())} non-finite value(s) (NaN or "
            f"inf), the first at index {first}. A VAE cannot learn from "
            "them: clean or impute the data first."
        )
    if support is None:
        return
    lower, upper = support
    if low < lower or high > upper:
        outside = (array < lower) | (array > upper)
        first = tuple(int(i) for i in np.argwhere(outside)[0])
        raise ValueError(
            f"The {likelihood!r} likelihood needs data in "
            f"[{lower:g}, {upper:g}], but `{name}` ({dtype}) holds "
            f"values from {float(low):g} to {float(high):g}: "
            f"{int(outside.sum())} value(s) outside, the first at index "
            f"{first}. Scale the data first, e.g. `x / 255.0` for 8-bit "
            "images, or choose a likelihood for the data's range."
        )


def _as_real(array):
    """`array`, or for the floating and integer types numpy does not know
    (`ml_dtypes`' bfloat16, float8, int4..., of dtype kind 'V') the same
    values as float32 or int64, which numpy can compare."""
    if array.dtype.kind != "V":
        return array
    ml_dtypes = sys.modules.get("ml_dtypes")  # Imported by jax and tf.
    if ml_dtypes is None:
        try:
            import ml_dtypes
        except ImportError:
            return array
    for info, target in (
        (ml_dtypes.finfo, "float32"),
        (ml_dtypes.iinfo, "int64"),
    ):
        try:
            info(array.dtype)
        except (TypeError, ValueError):
            continue
        return array.astype(target)
    return array


def _first_component(batch):
    """The data of a batch that may be an `(x, ...)` tuple."""
    if isinstance(batch, (tuple, list)) and batch:
        return batch[0]
    return batch


class BatchChecks:
    """Checks the batches of data sets and generators as they are drawn.

    Arrays are checked up front (`check_data`); a `tf.data.Dataset` or a
    Python generator is wrapped so that `check` sees each batch as `fit`
    draws it (for data sets, through a `tf.numpy_function` in a `map`, on
    every Keras backend). An error raised there may reach the caller
    wrapped in the data pipeline's own exception; the first one is kept
    so that `reraise` can raise it as itself. Other inputs
    (`keras.utils.PyDataset`, a torch `DataLoader`...) pass unchecked.

    Args:
        check: callable `(name, batch)`, raising ValueError for bad data.
    """

    def __init__(self, check):
        self._check = check
        self.error = None
        self.watching = False  # Whether `wrap` wrapped anything.

    def wrap(self, name, data):
        """`data`, checked batch by batch if it is a data set or generator."""
        if inspect.isgenerator(data):
            self.watching = True
            return self._generator(name, data)
        tf = sys.modules.get("tensorflow")  # Not imported: no tf.data.
        if tf is not None and isinstance(data, tf.data.Dataset):
            wrapped = self._dataset(name, data, tf)
            # Or: an input wrapped before (`x`) is still watched.
            self.watching = self.watching or wrapped is not data
            return wrapped
        return data

    def reraise(self):
        """Raises the first refusal, if a batch was refused."""
        if self.error is not None:
            error, self.error = self.error, None
            raise error from None

    def _run(self, name, batch):
        try:
            self._check(name, batch)
        except ValueError as error:
            if self.error is None:
                self.error = error
            raise

    def _generator(self, name, generator):
        for batch in generator:
            self._run(name, _first_component(batch))
            yield batch

    def _dataset(self, name, dataset, tf):
        spec = dataset.element_spec
        is_tuple = isinstance(spec, tuple) and len(spec) > 0
        if not isinstance(spec[0] if is_tuple else spec, tf.TensorSpec):
            return dataset  # Nested or dict elements: not a VAE's data.

        def check(batch):
            self._run(name, batch)
            return np.array(True)

        def checked(x):
            done = tf.numpy_function(check, [x], tf.bool, stateful=True)
            with tf.control_dependencies([done]):
                return tf.identity(x)

        if is_tuple:
            return dataset.map(lambda x, *rest: (checked(x), *rest))
        return dataset.map(checked)


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
