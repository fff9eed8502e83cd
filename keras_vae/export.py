"""Export a trained model for serving: TF SavedModel or ONNX.

`export(model, path, format=...)` (also `model.export(path, format=...)`)
writes deterministic endpoints, with no random op in the graph:

- `encode`: data (and, for a `ConditionalVAE`, the condition) to the
  parameters of the posterior, `mean` and `log_var`, each
  `(batch, latent_dim)` float32 (for a `VQVAE`: `indices`, the int32 code
  indices, `(batch, *latent_shape)`).
- `decode`: latent vectors (and the condition) to `images`, the mean of
  `p(x|z)`, shaped like the data (probabilities for Bernoulli, not
  logits). A `VQVAE` decodes code `indices`.
- `sample_from_noise`: standard normal `noise` `(batch, latent_dim)` (and
  the condition) to `images`: the noise is turned into a draw of the
  prior, which is decoded. A `HierarchicalVAE` takes one noise per level,
  `noise_1` (bottom) to `noise_L` (top). A mixture prior
  (`priors.MixtureOfGaussians`, `priors.VampPrior`) takes `uniform`
  `(batch,)` in `[0, 1)` besides, which picks the component. A `VQVAE`
  has no such endpoint: its prior is over discrete codes; draw codes
  yourself (see `VQVAE.sample_codes`) and call `decode`.

Formats: `"tf_saved_model"` (Keras's name, the default) on the TensorFlow
and JAX backends, a directory for `tf.saved_model.load` and TF Serving
with one signature per endpoint; `"onnx"` on every backend (torch through
`torch.onnx`, TensorFlow through `tf2onnx`, JAX through `jax2onnx`), a
directory holding one file per endpoint, `encode.onnx`, `decode.onnx`,
`sample_from_noise.onnx`. Installing `keras_vae[export]` brings
`onnxruntime` and the converters of torch and TensorFlow; JAX's,
`jax2onnx`, is installed apart (`pip install jax2onnx`: it brings flax).
"""

import contextlib
import ctypes
import errno
import importlib.util
import os
import secrets
import shutil
import sys
import warnings

import keras
from keras import ops

__all__ = ["export"]

_FORMATS = ("tf_saved_model", "onnx")

# The Python packages of each backend's ONNX converter.
_ONNX_CONVERTERS = {
    "torch": ("onnx", "onnxscript"),
    "tensorflow": ("onnx", "tf2onnx"),
    "jax": ("onnx", "jax2onnx"),
}

_STAGING = ".{name}.keras-vae-export-{pid}-{token}"


def export(model, path, format="tf_saved_model", verbose=False):
    """Exports a model's deterministic endpoints for serving.

    Writes `encode`, `decode` and `sample_from_noise` (see the module
    docstring for what each takes and returns) as a TF SavedModel or as
    ONNX files, into a new directory `path`. Nothing random is left in the
    graphs: `sample_from_noise` takes its noise as an input, so the
    runtime needs no random generator and a fixed noise gives fixed
    images.

    The directory is written beside `path` under a temporary name,
    `.<name>.keras-vae-export-<pid>-<random>`, and renamed to `path` once
    complete: a failed or interrupted export leaves no `path` behind. An
    existing `path` (file, directory or link, even empty) is refused:
    export never replaces anything.

    | format             | TensorFlow | JAX        | torch      |
    | ------------------ | ---------- | ---------- | ---------- |
    | `"tf_saved_model"` | yes        | yes        | no         |
    | `"onnx"`           | `tf2onnx`  | `jax2onnx` | torch.onnx |

    Args:
        model: a `keras_vae.VAE`, `ConditionalVAE`, `HierarchicalVAE` or
            `VQVAE`, with a known data shape (the encoder's input shape,
            or, for a `VQVAE`, built by a call or `fit`).
        path: str or path-like. The directory to create; it must not
            exist, its parent must.
        format: str. `"tf_saved_model"` (default) or `"onnx"`.
        verbose: bool. Print the converters' messages. Default False.

    Returns:
        The path written, a str.

    Raises:
        ValueError: `format` is not a known format, the backend cannot
            write it (SavedModel on torch), or the model's data shape is
            unknown.
        FileExistsError: `path` exists.
        FileNotFoundError: the parent directory of `path` does not exist.
        ImportError: a converter for `format` is not installed (install
            `keras_vae[export]`).

    Example:

    ```python
    import os
    import tempfile

    import keras
    import numpy as np
    import keras_vae

    encoder = keras.Sequential(
        [keras.Input((6,)), keras.layers.Dense(16, activation="relu")]
    )
    decoder = keras.Sequential([keras.Input((2,)), keras.layers.Dense(6)])
    vae = keras_vae.VAE(encoder, decoder, latent_dim=2, seed=0)
    if keras.backend.backend() != "torch":  # SavedModel: TF and JAX only.
        path = os.path.join(tempfile.mkdtemp(), "vae_savedmodel")
        vae.export(path)  # or keras_vae.export.export(vae, path)

        import tensorflow as tf

        served = tf.saved_model.load(path)
        x = np.random.rand(4, 6).astype("float32")
        posterior = served.encode(x)  # {"mean": ..., "log_var": ...}
        images = served.sample_from_noise(np.zeros((4, 2), "float32"))
    ```
    """
    format = _check_format(format)
    backend = keras.backend.backend()
    if format == "tf_saved_model" and backend not in ("tensorflow", "jax"):
        raise ValueError(
            "`format='tf_saved_model'` needs the TensorFlow or JAX backend "
            f"(Keras converts the graph from them); the backend is "
            f"{backend!r}. Export to ONNX instead (`format='onnx'`, through "
            "torch.onnx), or load the model's `.keras` file or preset with "
            "KERAS_BACKEND=tensorflow (or jax) and export from there."
        )
    if format == "onnx":
        _check_converters(backend)
    elif importlib.util.find_spec("tensorflow") is None:
        raise ImportError(
            "`format='tf_saved_model'` needs TensorFlow: "
            "`pip install tensorflow`."
        )
    path = os.fspath(path)
    parent = os.path.dirname(os.path.abspath(path))
    _check_target(path, parent)
    endpoints = _endpoints(model)
    staging = _make_staging(path, parent)
    try:
        with _quiet(verbose):
            if format == "tf_saved_model":
                _write_saved_model(model, endpoints, staging, verbose)
            else:
                for endpoint in endpoints:
                    _write_onnx(
                        model,
                        endpoint,
                        os.path.join(staging, f"{endpoint.name}.onnx"),
                        verbose,
                    )
        _check_target(path, parent)
        _rename_no_replace(staging, path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return path


# ----------------------------------------------------------------------
# Checks.


def _check_format(format):
    if not isinstance(format, str) or format not in _FORMATS:
        raise ValueError(
            f"`format` must be one of {_FORMATS}. Received: format={format!r}"
        )
    return format


def _check_converters(backend):
    needed = _ONNX_CONVERTERS.get(backend)
    if needed is None:
        raise ValueError(
            f"`format='onnx'` is not available on the {backend!r} backend; "
            "use TensorFlow, JAX or torch."
        )
    missing = [p for p in needed if importlib.util.find_spec(p) is None]
    if missing:
        extra = (
            f"`pip install {' '.join(needed)}`"
            if backend == "jax"  # jax2onnx is not in the extra.
            else "the export extra, `pip install keras_vae[export]` (or "
            f"`pip install {' '.join(needed)}`)"
        )
        raise ImportError(
            f"`format='onnx'` on the {backend} backend needs "
            f"{', '.join(missing)}, which is not installed. Install {extra}."
        )


def _check_target(path, parent):
    if os.path.lexists(path):
        raise FileExistsError(
            errno.EEXIST,
            "export writes a new directory and never replaces anything: "
            "the path already exists. Choose a new path, or remove it "
            "yourself first",
            path,
        )
    if not os.path.isdir(parent):
        raise FileNotFoundError(
            errno.ENOENT, f"the directory {parent!r} does not exist", path
        )


def _make_staging(path, parent):
    name = os.path.basename(os.path.normpath(path))
    while True:
        staging = os.path.join(
            parent,
            _STAGING.format(
                name=name[:180], pid=os.getpid(), token=secrets.token_hex(4)
            ),
        )
        try:
            os.mkdir(staging, 0o700)
        except FileExistsError:
            continue
        return staging


_RENAME_NOREPLACE = 1  # renameat2's flag, <linux/fs.h>.


def _rename_no_replace(source, target):
    """Renames `source` to `target`, refusing to replace anything there
    (atomically with Linux's `renameat2(RENAME_NOREPLACE)`)."""
    if sys.platform.startswith("linux"):
        try:
            renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
        except (OSError, AttributeError):
            renameat2 = None
        if renameat2 is not None:
            renameat2.restype = ctypes.c_int
            result = renameat2(
                -100, os.fsencode(source), -100, os.fsencode(target), 1
            )
            if result == 0:
                os.chmod(target, 0o777 & ~_umask())
                return
            code = ctypes.get_errno()
            if code == errno.EEXIST:
                raise FileExistsError(code, os.strerror(code), target)
            if code not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
                raise OSError(code, os.strerror(code), target)
    if os.path.lexists(target):
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), target)
    os.rename(source, target)
    os.chmod(target, 0o777 & ~_umask())


def _umask():
    from keras_vae.utils.files import current_umask

    return current_umask()


@contextlib.contextmanager
def _quiet(verbose):
    """The converters' own warnings (deprecations of their internals) are
    not the user's business; with `verbose` they are shown."""
    if verbose:
        yield
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


# ----------------------------------------------------------------------
# The endpoints.


class _Endpoint:
    """One endpoint: `fn(*inputs) -> dict of outputs`, with the inputs'
    names, shapes (batch first, None) and dtypes."""

    def __init__(self, name, fn, inputs, outputs):
        self.name = name
        self.fn = fn
        self.inputs = inputs  # [(name, shape, dtype)]
        self.outputs = outputs  # [name]


def _float32(x):
    return ops.cast(x, "float32")


def _data_shape(model):
    shape = model._encoder_input_shape()
    if shape is None or None in shape[1:]:
        raise ValueError(
            "Export needs the shape of the data: the encoder's input shape "
            f"is unknown ({shape}). Build the encoder with "
            "`keras.Input(shape)` (a Sequential or Functional model)."
        )
    return tuple(shape[1:])


def _endpoints(model):
    from keras_vae.models.conditional_vae import ConditionalVAE
    from keras_vae.models.hierarchical_vae import HierarchicalVAE
    from keras_vae.models.vae import VAE
    from keras_vae.models.vq_vae import VQVAE

    if isinstance(model, VQVAE):
        return _vq_vae_endpoints(model)
    if not isinstance(model, VAE):
        raise ValueError(
            "`model` must be a keras_vae VAE, ConditionalVAE, "
            "HierarchicalVAE or VQVAE. Received: model of type "
            f"{type(model).__name__}"
        )
    data = ("x", (None,) + _data_shape(model), "float32")
    if not model.built:  # Its variables, made by a symbolic call.
        model(model._dummy_inputs(data[1][1:], symbolic=True))
    latent = ("z", (None, model.latent_dim), "float32")
    condition = []
    if isinstance(model, ConditionalVAE):
        shape = model._condition_shape()
        if shape is None:
            raise ValueError(
                "Export needs the shape of the condition: the decoder's "
                "second input shape is unknown. Build the decoder with two "
                "`keras.Input`s."
            )
        dtype = "int32" if model.num_classes else "float32"
        condition = [("condition", (None,) + shape, dtype)]
    hierarchical = isinstance(model, HierarchicalVAE)
    # The models' own building blocks, in inference mode.

    def network_condition(c):
        return model._network_condition(c[0]) if c else None

    def encode(x, *c):
        mean, log_var = model._encoded(x, c[0] if c else None)
        return {"mean": _float32(mean), "log_var": _float32(log_var)}

    def decode(z, *c):
        params = model._decoder_output(z, network_condition(c), False)
        return {"images": _float32(model._mean_of_likelihood(params))}

    endpoints = [
        _Endpoint("encode", encode, [data] + condition, ["mean", "log_var"]),
        _Endpoint("decode", decode, [latent] + condition, ["images"]),
    ]
    prior = model._prior(training=False)
    if hierarchical:
        noise = [
            (f"noise_{i}", (None, dim), "float32")
            for i, dim in enumerate(model.latent_dims, 1)
        ]
    else:
        noise = [("noise", (None, model.latent_dim), "float32")]
    mixture = _is_mixture(prior)
    uniform = [("uniform", (None,), "float32")] if mixture else []
    count = len(noise)

    def sample_from_noise(*inputs):
        noises = inputs[:count]
        rest = inputs[count:]
        u = rest[0] if mixture else None
        c = rest[1:] if mixture else rest
        z = _prior_draw(model._prior(training=False), noises[-1], u)
        if hierarchical:
            # Down the levels: each conditional prior's draw from its noise.
            for level in reversed(range(len(model.latent_dims) - 1)):
                p = model._conditional_prior(level, z)
                z = p.loc + p.stddev() * noises[level]
            params = model.decoder(z, training=False)
        else:
            params = model._decoder_output(z, network_condition(c), False)
        return {"images": _float32(model._mean_of_likelihood(params))}

    endpoints.append(
        _Endpoint(
            "sample_from_noise",
            sample_from_noise,
            noise + uniform + condition,
            ["images"],
        )
    )
    return endpoints


def _is_mixture(prior):
    from keras_vae import distributions

    return isinstance(prior, distributions.MixtureSameFamily)


def _prior_draw(prior, noise, uniform=None):
    """A draw of `prior` (a `Normal`, or a mixture of them) from standard
    normal `noise` `(B, L)` (and `uniform` `(B,)` for the component)."""
    from keras_vae import distributions

    if isinstance(prior, distributions.UnitNormal):
        return _float32(noise)
    if isinstance(prior, distributions.Normal):
        return prior.loc + prior.stddev() * noise
    if _is_mixture(prior) and isinstance(
        prior.components, distributions.Normal
    ):
        # The component by inversion of the weights' CDF: the number of
        # cumulative weights below `u`.
        weights = ops.softmax(prior.mixture_logits, axis=-1)
        cdf = ops.cumsum(weights)[:-1]
        below = ops.cast(
            ops.less_equal(
                ops.expand_dims(cdf, 0), ops.expand_dims(uniform, -1)
            ),
            "int32",
        )
        index = ops.sum(below, axis=-1)
        loc = ops.take(prior.components.loc, index, axis=0)
        scale = ops.take(prior.components.stddev(), index, axis=0)
        return loc + scale * noise
    raise ValueError(
        "`sample_from_noise` can be exported for priors that are a "
        "Normal or a mixture of Normals; this model's prior gives "
        f"{prior!r}. Export `encode` and `decode` and draw latents "
        "yourself."
    )


def _vq_vae_endpoints(model):
    data = ("x", (None,) + _data_shape(model), "float32")
    if not model.built:
        raise ValueError(
            "Export of a `VQVAE` needs the shape of its code grid: call "
            "the model on data (or `encode` or `fit` it) first."
        )
    codes = ("indices", (None,) + tuple(model.latent_shape), "int32")

    def encode(x):
        latents = ops.cast(model.encoder(x, training=False), "float32")
        flat = ops.reshape(latents, (-1, model.embedding_dim))
        indices = _nearest_code(flat, ops.convert_to_tensor(model.codebook))
        shape = (-1,) + tuple(model.latent_shape)
        return {"indices": ops.reshape(indices, shape)}

    def decode(indices):
        return {"images": _float32(model._decode_batch(indices))}

    return [
        _Endpoint("encode", encode, [data], ["indices"]),
        _Endpoint("decode", decode, [codes], ["images"]),
    ]


def _nearest_code(flat, codebook):
    """The index of the nearest code of each row of `flat` (N, D), as
    `VectorQuantizer.get_code_indices` (the first on a tie), without
    `argmin`: TensorFlow's (through Keras) holds ops that tf2onnx cannot
    convert (Bitcast)."""
    from keras_vae.layers.vector_quantizer import squared_distances

    distances = squared_distances(flat, codebook)
    nearest = ops.min(distances, axis=1, keepdims=True)
    count = ops.shape(codebook)[0]
    # `arange` with its start: jax2onnx takes no `stop=None`.
    positions = ops.arange(0, count, dtype="int32")[None, :]
    candidates = ops.where(distances <= nearest, positions, count)
    return ops.cast(ops.min(candidates, axis=1), "int32")


# ----------------------------------------------------------------------
# Writers.


def _write_saved_model(model, endpoints, directory, verbose):
    import tensorflow as tf

    archive = keras.export.ExportArchive()
    archive.track(model)
    for endpoint in endpoints:
        signature = [
            tf.TensorSpec(shape, dtype, name=name)
            for name, shape, dtype in endpoint.inputs
        ]
        archive.add_endpoint(endpoint.name, endpoint.fn, signature)
    archive.write_out(directory, verbose=verbose)


class _Module(keras.layers.Layer):
    """An endpoint as a layer: a torch module, or a function to trace."""

    def __init__(self, model, endpoint):
        super().__init__(name=f"export_{endpoint.name}")
        self.source = model
        self.endpoint = endpoint
        self.built = True

    def call(self, *inputs):
        outputs = self.endpoint.fn(*inputs)
        return tuple(outputs[name] for name in self.endpoint.outputs)


def _write_onnx(model, endpoint, filepath, verbose):
    backend = keras.backend.backend()
    if backend == "torch":
        _onnx_torch(model, endpoint, filepath, verbose)
    elif backend == "tensorflow":
        _onnx_tensorflow(model, endpoint, filepath, verbose)
    else:
        _onnx_jax(model, endpoint, filepath, verbose)
    _name_onnx_io(filepath, endpoint)


def _example(shape, dtype, batch=2):
    import numpy as np

    return np.zeros((batch,) + tuple(shape[1:]), dtype)


def _onnx_torch(model, endpoint, filepath, verbose):
    import torch

    module = _Module(model, endpoint)
    module.eval()
    args = tuple(
        torch.as_tensor(_example(shape, dtype))
        for _, shape, dtype in endpoint.inputs
    )
    names = [name for name, _, _ in endpoint.inputs]
    batch = torch.export.Dim("batch", min=1)
    dynamic = tuple({0: batch} for _ in args)
    program = torch.onnx.export(
        module,
        args,
        dynamo=True,
        input_names=names,
        output_names=list(endpoint.outputs),
        dynamic_shapes=(dynamic,),
        verbose=verbose,
    )
    program.save(filepath)


def _onnx_tensorflow(model, endpoint, filepath, verbose):
    import tensorflow as tf
    import tf2onnx

    try:  # As Keras's own ONNX export: tf2onnx with numpy 2.
        from keras.src.export.tf2onnx_lib import patch_tf2onnx
    except ImportError:  # A Keras that no longer needs it.
        pass
    else:
        patch_tf2onnx()
    signature = [
        tf.TensorSpec(shape, dtype, name=name)
        for name, shape, dtype in endpoint.inputs
    ]
    module = _Module(model, endpoint)

    @tf.function(input_signature=signature)
    def fn(*inputs):
        return module(*inputs)

    tf2onnx.convert.from_function(
        fn, input_signature=signature, output_path=filepath
    )


def _onnx_jax(model, endpoint, filepath, verbose):
    import jax
    import jax2onnx
    import numpy as np

    del verbose
    module = _Module(model, endpoint)
    values = [v.value for v in model.variables]

    def fn(*inputs):
        mapping = list(zip(model.variables, values))
        with keras.StatelessScope(state_mapping=mapping):
            return module(*inputs)

    specs = [
        jax.ShapeDtypeStruct(("batch",) + tuple(shape[1:]), np.dtype(dtype))
        for _, shape, dtype in endpoint.inputs
    ]
    jax2onnx.to_onnx(
        fn,
        inputs=specs,
        input_names=[name for name, _, _ in endpoint.inputs],
        return_mode="file",
        output_path=filepath,
    )


def _name_onnx_io(filepath, endpoint):
    """Names the graph's inputs and outputs after the endpoint's, in
    order (converters name them their own way)."""
    import onnx

    proto = onnx.load(filepath)
    graph = proto.graph
    initializers = {i.name for i in graph.initializer}
    inputs = [i for i in graph.input if i.name not in initializers]
    renames = {}
    for value, (name, _, _) in zip(inputs, endpoint.inputs):
        renames[value.name] = name
    for value, name in zip(graph.output, endpoint.outputs):
        renames[value.name] = name
    renames = {old: new for old, new in renames.items() if old != new}
    if not renames:
        return
    for value in list(graph.input) + list(graph.output):
        value.name = renames.get(value.name, value.name)
    for node in graph.node:
        for i, name in enumerate(node.input):
            node.input[i] = renames.get(name, name)
        for i, name in enumerate(node.output):
            node.output[i] = renames.get(name, name)
    onnx.save(proto, filepath)
