"""Encoder and decoder builders for the presets: plain Keras layers only, so
that every preset loads with `safe_mode=True`."""

import keras

IMAGE_SHAPE = (28, 28, 1)


def mlp(latent_dim, hidden=(512, 256), activation="relu"):
    """An MLP encoder and its mirror-image decoder (logits out).

    Args:
        latent_dim: int. Latent dimension (the decoder's input).
        hidden: tuple of ints. Encoder widths; the decoder reverses them.
        activation: str. Hidden activation.

    Returns:
        `(encoder, decoder)`, two Functional models.
    """
    inputs = keras.Input(IMAGE_SHAPE, name="image")
    h = keras.layers.Flatten()(inputs)
    for i, width in enumerate(hidden):
        h = keras.layers.Dense(width, activation=activation, name=f"enc_{i}")(h)
    encoder = keras.Model(inputs, h, name="encoder")

    latent = keras.Input((latent_dim,), name="z")
    h = latent
    for i, width in enumerate(reversed(hidden)):
        h = keras.layers.Dense(width, activation=activation, name=f"dec_{i}")(h)
    h = keras.layers.Dense(784, name="logits")(h)
    outputs = keras.layers.Reshape(IMAGE_SHAPE)(h)
    decoder = keras.Model(latent, outputs, name="decoder")
    return encoder, decoder


def conv_encoder(filters=(32, 64), dense=512, activation="relu"):
    """A convolutional encoder: strided 4x4 convolutions, then dense.

    Each stage is one 4x4 convolution with stride 2 (28 -> 14 -> 7). On
    this project's 2-core CPU a training epoch of `conv_mlp` with IWAE k=5
    takes 1.3 times as long as the same model with an MLP encoder; adding a
    3x3 convolution before each strided one made it 3.5 times.

    Args:
        filters: tuple of ints. Channels of each stage.
        dense: int. Width of the final dense layer.
        activation: str. Hidden activation.

    Returns:
        A Functional model from images to `dense` features.
    """
    inputs = keras.Input(IMAGE_SHAPE, name="image")
    h = inputs
    for i, channels in enumerate(filters):
        h = keras.layers.Conv2D(
            channels,
            4,
            strides=2,
            padding="same",
            activation=activation,
            name=f"enc_conv_{i}",
        )(h)
    h = keras.layers.Flatten()(h)
    h = keras.layers.Dense(dense, activation=activation, name="enc_dense")(h)
    return keras.Model(inputs, h, name="encoder")


def conv(latent_dim, filters=(32, 64), dense=512, activation="relu"):
    """A convolutional encoder and a transposed-convolution decoder.

    The decoder costs about 25 M multiply-adds per latent sample, 19 times
    the MLP decoder of `mlp(hidden=(1024, 512))`: too slow for a k=5000
    evaluation on a CPU, fine on an accelerator.

    Args:
        latent_dim: int. Latent dimension.
        filters: tuple of two ints. Channels at 14x14 and 7x7.
        dense: int. Width of the dense layer on each side.
        activation: str. Hidden activation.

    Returns:
        `(encoder, decoder)`, two Functional models.
    """
    encoder = conv_encoder(filters, dense, activation)
    latent = keras.Input((latent_dim,), name="z")
    h = keras.layers.Dense(dense, activation=activation, name="dec_dense")(
        latent
    )
    h = keras.layers.Dense(
        7 * 7 * filters[-1], activation=activation, name="dec_project"
    )(h)
    h = keras.layers.Reshape((7, 7, filters[-1]))(h)
    for i, channels in enumerate(reversed(filters)):
        h = keras.layers.Conv2DTranspose(
            channels,
            4,
            strides=2,
            padding="same",
            activation=activation,
            name=f"dec_deconv_{i}a",
        )(h)
        h = keras.layers.Conv2D(
            channels,
            3,
            padding="same",
            activation=activation,
            name=f"dec_conv_{i}b",
        )(h)
    outputs = keras.layers.Conv2D(1, 3, padding="same", name="logits")(h)
    decoder = keras.Model(latent, outputs, name="decoder")
    return encoder, decoder


def conv_mlp(
    latent_dim,
    filters=(32, 64),
    dense=512,
    hidden=(1024, 512),
    activation="relu",
):
    """A convolutional encoder and an MLP decoder.

    The encoder runs once per image, so its convolutions cost nothing in a
    k=5000 likelihood evaluation, where the decoder runs 5000 times per
    image; the MLP decoder keeps that evaluation in tens of minutes on a
    CPU.

    Args:
        latent_dim: int. Latent dimension.
        filters: tuple of two ints. Encoder channels at 14x14 and 7x7.
        dense: int. Width of the encoder's final dense layer.
        hidden: tuple of ints. Decoder widths, read from the output back
            (as `mlp` mirrors its encoder): `(1024, 512)` is 512 then 1024.
        activation: str. Hidden activation.

    Returns:
        `(encoder, decoder)`, two Functional models.
    """
    encoder = conv_encoder(filters, dense, activation)
    _, decoder = mlp(latent_dim, hidden=hidden, activation=activation)
    return encoder, decoder


def vq_mlp(embedding_dim, codes_per_image=16, hidden=(512, 256)):
    """A VQ-VAE's MLP encoder and decoder around a row of codes.

    The encoder maps an image to `codes_per_image` latent vectors of size
    `embedding_dim`; the decoder maps the quantized vectors back to
    logits, through the same widths reversed. (Transposed convolutions
    around a 7x7 grid trained 40 times slower per image on this project's
    CPU with JAX.)

    Args:
        embedding_dim: int. The size of a code.
        codes_per_image: int. Latent vectors (codes) per image.
        hidden: tuple of ints. Encoder widths; the decoder reverses them.

    Returns:
        `(encoder, decoder)`, two Functional models.
    """
    inputs = keras.Input(IMAGE_SHAPE, name="image")
    h = keras.layers.Flatten()(inputs)
    for i, width in enumerate(hidden):
        h = keras.layers.Dense(width, activation="relu", name=f"enc_{i}")(h)
    h = keras.layers.Dense(codes_per_image * embedding_dim, name="enc_out")(h)
    h = keras.layers.Reshape((codes_per_image, embedding_dim))(h)
    encoder = keras.Model(inputs, h, name="encoder")

    codes = keras.Input((codes_per_image, embedding_dim), name="z_q")
    h = keras.layers.Flatten()(codes)
    for i, width in enumerate(reversed(hidden)):
        h = keras.layers.Dense(width, activation="relu", name=f"dec_{i}")(h)
    h = keras.layers.Dense(784, name="logits")(h)
    decoder = keras.Model(
        codes, keras.layers.Reshape(IMAGE_SHAPE)(h), name="decoder"
    )
    return encoder, decoder


ARCHITECTURES = {
    "mlp": mlp,
    "conv": conv,
    "conv_mlp": conv_mlp,
    "vq_mlp": vq_mlp,
}
