import math

import keras
from keras import ops

from keras_vae import _validation
from keras_vae import ops as vae_ops

_PARAMETERIZATIONS = ("log_var", "softplus")
_SOFTPLUS_MIN_SCALE = 1e-4


@keras.saving.register_keras_serializable(package="keras_vae")
class GaussianEncoderHead(keras.layers.Layer):
    """Maps features to the mean and log-variance of a diagonal Gaussian.

    This is the last layer of a VAE encoder: instead of a single point of
    the latent space, it outputs a distribution over it, `N(mean,
    exp(log_var))`, one mean and one variance per latent dimension. The
    features may have any shape; they are flattened and sent through one
    dense projection that produces both outputs.

    Two parameterizations of the variance are available:

    - `"log_var"` (default): the projection outputs the log-variance
      directly. This is the classic choice.
    - `"softplus"`: the projection outputs `s`, and the standard deviation
      is `softplus(s) + 1e-4`. It grows linearly rather than exponentially
      with the pre-activation, which some find more stable on data with
      outliers.

    Either way the layer returns the log-variance, clipped to
    `[min_log_var, max_log_var]` (by default `[-30, 20]`, see
    `keras_vae.ops.LOG_VAR_MIN` and `LOG_VAR_MAX`) so that `exp(log_var)`
    stays finite in float32. The clip has zero gradient outside the range.

    Args:
        latent_dim: int. Dimension of the latent space, > 0.
        parameterization: str. `"log_var"` or `"softplus"`, see above.
            Defaults to `"log_var"`.
        min_log_var: float. Lower clip of the log-variance, default -30.
        max_log_var: float. Upper clip of the log-variance, default 20.
        kernel_initializer: initializer for the projection kernel, default
            `"glorot_uniform"`.
        bias_initializer: initializer for the projection bias, default
            `"zeros"`.
        kernel_regularizer: optional regularizer for the kernel.
        bias_regularizer: optional regularizer for the bias.
        kernel_constraint: optional constraint for the kernel.
        bias_constraint: optional constraint for the bias.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: tensor of shape `(batch, ...)`. Features from the encoder.

    Input shape:
        `(batch, d1, ..., dn)`, with every non-batch dimension known.

    Output shape:
        A tuple `(mean, log_var)`, each `(batch, latent_dim)`.

    Example:

    ```python
    import keras
    import keras_vae

    inputs = keras.Input((28, 28, 1))
    features = keras.layers.Conv2D(8, 3, strides=2)(inputs)
    mean, log_var = keras_vae.layers.GaussianEncoderHead(latent_dim=2)(
        features
    )
    encoder = keras.Model(inputs, [mean, log_var])
    print(encoder.output_shape)  # [(None, 2), (None, 2)]
    ```
    """

    def __init__(
        self,
        latent_dim,
        parameterization="log_var",
        min_log_var=vae_ops.LOG_VAR_MIN,
        max_log_var=vae_ops.LOG_VAR_MAX,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.latent_dim = _validation.positive_int("latent_dim", latent_dim)
        self.parameterization = _validation.one_of(
            "parameterization", parameterization, _PARAMETERIZATIONS
        )
        self.min_log_var = float(min_log_var)
        self.max_log_var = float(max_log_var)
        if not (
            vae_ops.LOG_VAR_MIN
            <= self.min_log_var
            < self.max_log_var
            <= vae_ops.LOG_VAR_MAX
        ):
            raise ValueError(
                "`min_log_var` and `max_log_var` must satisfy "
                f"{vae_ops.LOG_VAR_MIN} <= min_log_var < max_log_var <= "
                f"{vae_ops.LOG_VAR_MAX}. Received: min_log_var={min_log_var}, "
                f"max_log_var={max_log_var}"
            )
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)
        self.kernel_constraint = keras.constraints.get(kernel_constraint)
        self.bias_constraint = keras.constraints.get(bias_constraint)

    def build(self, input_shape):
        feature_shape = tuple(input_shape[1:])
        if not feature_shape or any(d is None for d in feature_shape):
            raise ValueError(
                "`GaussianEncoderHead` needs features with at least one "
                "non-batch dimension, all of them known. Received: "
                f"input_shape={tuple(input_shape)}"
            )
        self._feature_dim = math.prod(feature_shape)
        self.kernel = self.add_weight(
            name="kernel",
            shape=(self._feature_dim, 2 * self.latent_dim),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.bias = self.add_weight(
            name="bias",
            shape=(2 * self.latent_dim,),
            initializer=self.bias_initializer,
            regularizer=self.bias_regularizer,
            constraint=self.bias_constraint,
        )

    def call(self, inputs):
        if len(inputs.shape) != 2:
            inputs = ops.reshape(inputs, (-1, self._feature_dim))
        outputs = ops.add(ops.matmul(inputs, self.kernel), self.bias)
        mean = outputs[:, : self.latent_dim]
        raw = outputs[:, self.latent_dim :]
        if self.parameterization == "softplus":
            scale = ops.softplus(ops.cast(raw, "float32"))
            raw = 2.0 * ops.log(scale + _SOFTPLUS_MIN_SCALE)
        log_var = ops.clip(raw, self.min_log_var, self.max_log_var)
        return mean, ops.cast(log_var, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        shape = (input_shape[0], self.latent_dim)
        return shape, shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "latent_dim": self.latent_dim,
                "parameterization": self.parameterization,
                "min_log_var": self.min_log_var,
                "max_log_var": self.max_log_var,
                "kernel_initializer": keras.initializers.serialize(
                    self.kernel_initializer
                ),
                "bias_initializer": keras.initializers.serialize(
                    self.bias_initializer
                ),
                "kernel_regularizer": keras.regularizers.serialize(
                    self.kernel_regularizer
                ),
                "bias_regularizer": keras.regularizers.serialize(
                    self.bias_regularizer
                ),
                "kernel_constraint": keras.constraints.serialize(
                    self.kernel_constraint
                ),
                "bias_constraint": keras.constraints.serialize(
                    self.bias_constraint
                ),
            }
        )
        return config
