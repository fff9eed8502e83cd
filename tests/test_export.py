"""`keras_vae.export`: the artifacts, loaded by their own runtimes
(`tf.saved_model.load`, `onnxruntime`), give the model's outputs.

Each model is exported once per format (a module-scoped fixture) and its
endpoints are compared with the Keras model's numpy API and with
references computed here in numpy (the Bernoulli mean as the sigmoid of
the decoder's logits, the mixture prior's draw by its CDF)."""

import os

import keras
import numpy as np
import pytest

import keras_vae
from keras_vae import priors
from keras_vae.export import export

BACKEND = keras.backend.backend()
FORMATS = ["onnx"]
if BACKEND in ("tensorflow", "jax"):
    FORMATS.insert(0, "tf_saved_model")
ATOL = 1e-5
RNG = np.random.default_rng(0)
X = (RNG.random((5, 6)) > 0.5).astype("float32")
LABELS = np.array([0, 1, 2, 1, 0], "int32")


def _sigmoid(logits):
    return 1.0 / (1.0 + np.exp(-np.asarray(logits, "float64")))


def _mlp(inputs, units, outputs):
    return keras.Sequential(
        [keras.Input(inputs), keras.layers.Dense(units, activation="tanh")]
        + ([keras.layers.Dense(outputs)] if outputs else [])
    )


def _vae(prior=None):
    return keras_vae.VAE(
        _mlp((6,), 8, None),
        _mlp((2,), 8, 6),
        latent_dim=2,
        seed=0,
        prior=prior,
    )


def _make(family):
    keras.utils.set_random_seed(0)
    if family == "vae":
        return _vae()
    if family == "mixture_prior":
        # Unequal weights, so that the component's choice is tested.
        return _vae(
            priors.MixtureOfGaussians(
                3, logits_initializer=keras.initializers.RandomNormal()
            )
        )
    if family == "cvae":
        return keras_vae.ConditionalVAE.mlp(
            (6,), latent_dim=2, num_classes=3, hidden_units=(8,), seed=0
        )
    if family == "hvae":
        return keras_vae.HierarchicalVAE(
            _mlp((6,), 8, None),
            _mlp((3,), 8, 6),
            latent_dims=(3, 2),
            hidden_units=8,
            seed=0,
        )
    encoder = keras.Sequential(
        [keras.Input((6,)), keras.layers.Dense(8), keras.layers.Reshape((4, 2))]
    )
    decoder = keras.Sequential(
        [keras.Input((4, 2)), keras.layers.Flatten(), keras.layers.Dense(6)]
    )
    model = keras_vae.VQVAE(
        encoder,
        decoder,
        num_embeddings=5,
        embedding_dim=2,
        likelihood="bernoulli",
        seed=0,
    )
    model.encode(X)  # Builds it: the code grid's shape.
    return model


class _Runtime:
    """An exported artifact: `run(endpoint, **inputs)` -> dict of numpy."""

    def __init__(self, path, format):
        self.path = path
        self.format = format
        if format == "tf_saved_model":
            import tensorflow as tf

            self._loaded = tf.saved_model.load(path)
        else:
            ort = pytest.importorskip("onnxruntime")
            self._sessions = {
                name[: -len(".onnx")]: ort.InferenceSession(
                    os.path.join(path, name)
                )
                for name in os.listdir(path)
            }

    def endpoints(self):
        if self.format == "tf_saved_model":
            return set(self._loaded.signatures) - {"serving_default"}
        return set(self._sessions)

    def run(self, endpoint, **inputs):
        if self.format == "tf_saved_model":
            import tensorflow as tf

            fn = self._loaded.signatures[endpoint]  # As TF Serving calls it.
            out = fn(**{k: tf.constant(v) for k, v in inputs.items()})
            return {k: v.numpy() for k, v in out.items()}
        session = self._sessions[endpoint]
        names = [o.name for o in session.get_outputs()]
        assert {i.name for i in session.get_inputs()} == set(inputs)
        return dict(zip(names, session.run(names, inputs)))


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    cache = {}

    def get(family, format):
        if (family, format) not in cache:
            if format == "onnx":
                pytest.importorskip("onnxruntime")
                if keras.backend.backend() == "jax":
                    # JAX to ONNX: jax2onnx, an optional install (flax...).
                    pytest.importorskip("jax2onnx")
            model = _make(family)
            path = str(tmp_path_factory.mktemp(family) / format)
            # The method, which delegates to `keras_vae.export.export`.
            assert model.export(path, format=format) == path
            cache[family, format] = model, _Runtime(path, format)
        return cache[family, format]

    return get


def _close(actual, expected):
    np.testing.assert_allclose(actual, expected, atol=ATOL, rtol=0)


@pytest.mark.parametrize("format", FORMATS)
def test_vae_endpoints(exported, format):
    vae, runtime = exported("vae", format)
    assert runtime.endpoints() == {"encode", "decode", "sample_from_noise"}
    posterior = runtime.run("encode", x=X)
    mean, log_var = vae.encode(X)
    _close(posterior["mean"], mean)
    _close(posterior["log_var"], log_var)
    # A batch size other than the traced one.
    z = RNG.normal(size=(7, 2)).astype("float32")
    images = runtime.run("decode", z=z)["images"]
    _close(images, vae.decode(z))
    # Probabilities, not logits: the sigmoid of the decoder's output.
    logits = keras.ops.convert_to_numpy(vae.decoder(z))
    _close(images, _sigmoid(logits))
    # The standard normal prior: the noise is the latent code.
    _close(runtime.run("sample_from_noise", noise=z)["images"], images)


@pytest.mark.parametrize("format", FORMATS)
def test_conditional_vae_endpoints(exported, format):
    cvae, runtime = exported("cvae", format)
    posterior = runtime.run("encode", x=X, condition=LABELS)
    mean, log_var = cvae.encode(X, condition=LABELS)
    _close(posterior["mean"], mean)
    _close(posterior["log_var"], log_var)
    z = RNG.normal(size=(5, 2)).astype("float32")
    expected = cvae.decode(z, condition=LABELS)
    _close(runtime.run("decode", z=z, condition=LABELS)["images"], expected)
    images = runtime.run("sample_from_noise", noise=z, condition=LABELS)
    _close(images["images"], expected)


@pytest.mark.parametrize("format", FORMATS)
def test_hierarchical_vae_endpoints(exported, format):
    hvae, runtime = exported("hvae", format)
    # `encode` is the top level, as `HierarchicalVAE.encode`.
    posterior = runtime.run("encode", x=X)
    mean, log_var = hvae.encode(X)
    _close(posterior["mean"], mean)
    _close(posterior["log_var"], log_var)
    top = RNG.normal(size=(5, 2)).astype("float32")
    expected = hvae.decode(top)  # Down through the priors' means.
    _close(runtime.run("decode", z=top)["images"], expected)
    # Zero noise below the top: the conditional priors' means.
    zeros = np.zeros((5, 3), "float32")
    out = runtime.run("sample_from_noise", noise_1=zeros, noise_2=top)
    _close(out["images"], expected)
    # Noise at the bottom: mean + stddev * noise of p(z_1|z_2), decoded.
    noise = RNG.normal(size=(5, 3)).astype("float32")
    prior = hvae._conditional_prior(0, keras.ops.convert_to_tensor(top))
    loc = keras.ops.convert_to_numpy(prior.loc)
    log_var = keras.ops.convert_to_numpy(prior.log_var)
    z_1 = (loc + np.exp(0.5 * log_var) * noise).astype("float32")
    logits = keras.ops.convert_to_numpy(hvae.decoder(z_1))
    out = runtime.run("sample_from_noise", noise_1=noise, noise_2=top)
    _close(out["images"], _sigmoid(logits))


def test_mixture_prior_sample_from_noise(exported):
    vae, runtime = exported("mixture_prior", "onnx")
    noise = RNG.normal(size=(6, 2)).astype("float32")
    uniform = np.array([0.0, 0.2, 0.4, 0.6, 0.8, 0.99], "float32")
    prior = vae.prior
    weights = np.exp(keras.ops.convert_to_numpy(prior.logits))
    cdf = np.cumsum(weights / weights.sum())
    component = np.searchsorted(cdf, uniform, side="right")
    means = keras.ops.convert_to_numpy(prior.means)[component]
    stddevs = np.exp(0.5 * keras.ops.convert_to_numpy(prior.log_vars))
    z = (means + stddevs[component] * noise).astype("float32")
    out = runtime.run("sample_from_noise", noise=noise, uniform=uniform)
    _close(out["images"], vae.decode(z))


@pytest.mark.parametrize("format", FORMATS)
def test_vq_vae_endpoints(exported, format):
    vqvae, runtime = exported("vqvae", format)
    assert runtime.endpoints() == {"encode", "decode"}
    indices = runtime.run("encode", x=X)["indices"]
    assert indices.dtype == np.int32
    np.testing.assert_array_equal(indices, vqvae.encode(X))
    codes = RNG.integers(0, 5, size=(3, 4)).astype("int32")
    _close(runtime.run("decode", indices=codes)["images"], vqvae.decode(codes))


# ----------------------------------------------------------------------
# The method, the path and the errors.


def test_onnx_files(exported):
    _, runtime = exported("vae", "onnx")
    assert sorted(os.listdir(runtime.path)) == [
        "decode.onnx",
        "encode.onnx",
        "sample_from_noise.onnx",
    ]
    # Nothing else beside it: the staging directory was renamed.
    assert os.listdir(os.path.dirname(runtime.path)) == ["onnx"]


@pytest.mark.parametrize("kind", ["directory", "empty", "file", "link"])
def test_existing_path_is_refused(tmp_path, kind):
    path = tmp_path / "target"
    if kind == "directory":
        path.mkdir()
        (path / "mine.txt").write_text("keep me")
    elif kind == "empty":
        path.mkdir()
    elif kind == "file":
        path.write_text("keep me")
    else:
        path.symlink_to(tmp_path / "nowhere")
    before = sorted(os.listdir(tmp_path))
    with pytest.raises(FileExistsError, match="never replaces"):
        export(_vae(), path, format="onnx")
    assert sorted(os.listdir(tmp_path)) == before
    if kind in ("directory", "file"):
        mine = path / "mine.txt" if kind == "directory" else path
        assert mine.read_text() == "keep me"


def test_missing_parent_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        export(_vae(), tmp_path / "no" / "such", format="onnx")


def test_unknown_format(tmp_path):
    with pytest.raises(ValueError, match="`format` must be one of"):
        export(_vae(), tmp_path / "x", format="tflite")
    assert os.listdir(tmp_path) == []


@pytest.mark.skipif(BACKEND != "torch", reason="SavedModel works elsewhere")
def test_saved_model_on_torch_says_what_to_do(tmp_path):
    with pytest.raises(ValueError, match="TensorFlow or JAX backend") as e:
        export(_vae(), tmp_path / "x", format="tf_saved_model")
    assert "format='onnx'" in str(e.value)
    assert os.listdir(tmp_path) == []


def test_missing_converter_is_named(tmp_path, monkeypatch):
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "onnx" else find_spec(name, *a),
    )
    # The extra on TensorFlow and torch; jax2onnx is installed apart.
    hint = (
        r"pip install onnx jax2onnx"
        if BACKEND == "jax"
        else r"keras_vae\[export\]"
    )
    with pytest.raises(ImportError, match=hint):
        export(_vae(), tmp_path / "x", format="onnx")
    assert os.listdir(tmp_path) == []


def test_not_a_keras_vae_model(tmp_path):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="must be a keras_vae VAE"):
        export(model, tmp_path / "x", format="onnx")


@pytest.mark.parametrize("family", ["vae", "vqvae"])
def test_unknown_data_shape(tmp_path, family):
    # Bare layers: no input shape, so no signature to export.
    encoder, decoder = keras.layers.Dense(2), keras.layers.Dense(6)
    if family == "vae":
        model = keras_vae.VAE(encoder, decoder, latent_dim=2)
    else:
        model = keras_vae.VQVAE(
            encoder, decoder, num_embeddings=4, embedding_dim=2
        )
    with pytest.raises(ValueError, match="input shape is unknown"):
        export(model, tmp_path / "x", format="onnx")
    assert os.listdir(tmp_path) == []


def test_failed_export_leaves_nothing(tmp_path, monkeypatch):
    from keras_vae import export as export_module

    def fail(*args, **kwargs):
        raise RuntimeError("converter crashed")

    monkeypatch.setattr(export_module, "_write_onnx", fail)
    with pytest.raises(RuntimeError, match="converter crashed"):
        export(_vae(), tmp_path / "x", format="onnx")
    assert os.listdir(tmp_path) == []
