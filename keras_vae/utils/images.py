"""Image grids: look at samples and reconstructions as one PNG."""

import io
import math

import numpy as np

from keras_vae import _validation
from keras_vae.utils.files import atomic_write


def image_grid(images, columns=None, padding=2, pad_value=1.0):
    """Tiles a batch of images into one image.

    Args:
        images: array `(n, height, width)` or `(n, height, width, channels)`
            with 1 or 3 channels, values in `[0, 1]` (clipped).
        columns: int or None. Images per row; None makes the grid as square
            as possible.
        padding: int >= 0. Pixels between images, default 2.
        pad_value: float. Value of the padding, default 1.0 (white).

    Returns:
        A uint8 array `(H, W)` (grey) or `(H, W, 3)` (colour).

    Example:

    ```python
    import numpy as np
    from keras_vae.utils import image_grid

    grid = image_grid(np.random.rand(16, 28, 28, 1))
    print(grid.shape)  # (122, 122)
    ```
    """
    images = np.asarray(images, dtype="float32")
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim not in (3, 4) or (
        images.ndim == 4 and images.shape[-1] != 3
    ):
        raise ValueError(
            "`images` must have shape (n, height, width) or (n, height, "
            f"width, 1 or 3). Received: images.shape={images.shape}"
        )
    n = len(images)
    if n == 0:
        raise ValueError("`images` is empty: there is nothing to draw.")
    if columns is None:
        columns = math.ceil(math.sqrt(n))
    columns = _validation.positive_int("columns", columns)
    padding = _validation.non_negative_int("padding", padding)
    rows = math.ceil(n / columns)
    height, width = images.shape[1:3]
    shape = (
        rows * (height + padding) + padding,
        columns * (width + padding) + padding,
    ) + images.shape[3:]
    grid = np.full(shape, pad_value, dtype="float32")
    for index, image in enumerate(np.clip(images, 0.0, 1.0)):
        row, column = divmod(index, columns)
        top = padding + row * (height + padding)
        left = padding + column * (width + padding)
        grid[top : top + height, left : left + width] = image
    return np.round(grid * 255).astype("uint8")


def save_image_grid(path, images, columns=None, padding=2, scale=1):
    """Writes a grid of images to a PNG file, atomically.

    Args:
        path: str. The PNG file to write; its directory must exist.
        images: array of images, see `image_grid`.
        columns: int or None. Images per row.
        padding: int. Pixels between images.
        scale: int >= 1. Enlarge each pixel to `scale x scale`, default 1.

    Returns:
        `path`.

    Example:

    ```python
    import numpy as np
    from keras_vae.utils import save_image_grid

    save_image_grid("grid.png", np.random.rand(8, 28, 28, 1), scale=2)
    ```
    """
    from PIL import Image

    grid = image_grid(images, columns=columns, padding=padding)
    scale = _validation.positive_int("scale", scale)
    if scale > 1:
        grid = np.repeat(np.repeat(grid, scale, axis=0), scale, axis=1)
    buffer = io.BytesIO()
    Image.fromarray(grid).save(buffer, format="PNG")
    with atomic_write(path) as f:
        f.write(buffer.getvalue())
    return path
