"""Pretrained VAEs that load in one line, and the tools to make your own.

A preset is a directory (the keras-hub convention): `config.json` (the
model's Keras config), `model.weights.h5`, `reference.npz` (reference
inputs and outputs, checked on every backend), `metadata.json` (metrics
with their protocol, the training command, versions, the SHA-256 of every
file), and PNG grids of samples (and, for the zoo's presets, a model card
`README.md` and reconstructions). The presets trained by `zoo/` ship
inside the package, their checksums pinned in its code.

Loading only reads and checks before it trusts (the docs' Safety page has
the list); saving never deletes a file it did not write.

Example:

```python
import keras_vae

for preset in keras_vae.presets.list_presets():
    print(preset["name"], preset["metrics"].get("nll"))
```
"""

from keras_vae.presets._preset_io import DEFAULT_MAX_PARAMETERS
from keras_vae.presets._preset_io import PRESETS_DIR
from keras_vae.presets._preset_io import PresetError
from keras_vae.presets._preset_io import builtin_presets
from keras_vae.presets._preset_io import read_metadata
from keras_vae.presets._preset_io import resolve
from keras_vae.presets._preset_io import save as save_preset
from keras_vae.presets._preset_io import verify as verify_preset


def list_presets():
    """The presets that ship with keras_vae, with their metrics.

    Returns:
        A list of dicts, one per preset, sorted by name: `name`,
        `family` (`"vae"`, `"hierarchical"`, `"conditional"` or `"vq"`),
        `description`, `dataset`, `latent_dim`, `parameters`, `metrics` (a
        dict: `nll`, `elbo`, `kl`, `reconstruction`... in nats; a VQ-VAE's
        `reconstruction`, `psnr`, `codes_used`...) and `directory`.

    Example:

    ```python
    import keras_vae

    names = [p["name"] for p in keras_vae.presets.list_presets()]
    ```
    """
    presets = []
    for name in builtin_presets():
        directory = resolve(name)
        metadata = read_metadata(directory)
        presets.append(
            {
                "name": name,
                "family": metadata.get("model", "vae"),
                "description": metadata.get("description", ""),
                "dataset": metadata.get("dataset"),
                "latent_dim": metadata.get("latent_dim"),
                "parameters": metadata.get("parameters"),
                "metrics": metadata.get("metrics", {}),
                "directory": directory,
            }
        )
    return presets


__all__ = [
    "DEFAULT_MAX_PARAMETERS",
    "PRESETS_DIR",
    "PresetError",
    "list_presets",
    "read_metadata",
    "save_preset",
    "verify_preset",
]
