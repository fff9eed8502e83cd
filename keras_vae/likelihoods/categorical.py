"""The categorical likelihood, for discrete data such as 8-bit pixels."""

import keras

from keras_vae import _validation
from keras_vae import distributions
from keras_vae.likelihoods.likelihood import Likelihood
from keras_vae.likelihoods.likelihood import register_alias


@keras.saving.register_keras_serializable(package="keras_vae")
class Categorical(Likelihood):
    """Independent categoricals: the decoder outputs logits over the classes.

    For data whose values are class indices `0, ..., num_classes - 1`, such
    as 8-bit images kept as integers (`0..255`, not rescaled): each value
    gets its own softmax over `num_classes` logits, so the decoder's output
    has a trailing axis of `num_classes` (`params_shape(data_shape) ==
    data_shape + (num_classes,)`), as in PixelRNN/PixelCNN's 256-way
    softmax. The model knows nothing of the classes' order (intensity 7 is
    no closer to 8 than to 200): `DiscretizedLogisticMixture` does, with
    far fewer parameters. The mean of `p(x|z)` (what `VAE.reconstruct`
    draws) is the expected index, a float in `[0, num_classes - 1]`.

    Data must be whole numbers in `[0, num_classes - 1]` (`check_data`
    refuses others).

    Args:
        num_classes: int >= 2. The number of classes, default 256.
        **kwargs: base layer arguments (`name`, `dtype`).

    Example:

    ```python
    import numpy as np
    from keras_vae import likelihoods

    likelihood = likelihoods.Categorical(num_classes=256)
    likelihood.params_shape((28, 28, 1))  # (28, 28, 1, 256)
    p = likelihood(np.zeros((2, 28, 28, 1, 256), "float32"))
    p.log_prob(np.full((2, 28, 28, 1), 17))  # 784 * log(1 / 256) each
    ```
    """

    integer = True
    param_axes = 1

    def __init__(self, num_classes=256, **kwargs):
        super().__init__(**kwargs)
        num_classes = _validation.positive_int("num_classes", num_classes)
        if num_classes < 2:
            raise ValueError(
                "`num_classes` must be an integer >= 2. "
                f"Received: num_classes={num_classes!r}"
            )
        self.num_classes = num_classes
        self.support = (0, num_classes - 1)

    def describe(self):
        return "categorical"

    def _extra_params_shape(self, data_shape):
        return (self.num_classes,)

    def distribution(self, params, event_ndims):
        return distributions.Categorical(params, event_ndims=event_ndims)

    def get_config(self):
        config = super().get_config()
        config["num_classes"] = self.num_classes
        return config


register_alias("categorical")(Categorical)
