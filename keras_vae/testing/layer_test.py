"""A generic layer test, modelled on Keras's `TestCase.run_layer_test`."""

import inspect
import os
import tempfile

import keras
import numpy as np


def to_numpy(x):
    """Converts a backend tensor or variable (or an array) to numpy.

    Args:
        x: a tensor of the current backend, a `keras.Variable` or an array.

    Returns:
        A numpy array.

    Example:

    ```python
    import keras
    from keras_vae.testing import to_numpy

    to_numpy(keras.ops.ones((2, 3))).shape  # (2, 3)
    ```
    """
    return np.asarray(keras.ops.convert_to_numpy(x))


def dtype_name(x):
    """The standardized dtype name of a tensor: "float32", "bfloat16"...

    Args:
        x: a tensor of any backend, or a numpy array.

    Returns:
        A str, the same on every backend.

    Example:

    ```python
    import keras
    from keras_vae.testing import dtype_name

    dtype_name(keras.ops.zeros((2,), dtype="bfloat16"))  # "bfloat16"
    ```
    """
    return keras.backend.standardize_dtype(x.dtype)


def check_config_has_arguments(obj, config):
    """Asserts that `config` holds every argument of `obj`'s constructor.

    Args:
        obj: a layer or model.
        config: its `get_config()`.
    """
    signature = inspect.signature(type(obj).__init__)
    missing = [
        name
        for name, parameter in signature.parameters.items()
        if name != "self"
        and parameter.kind
        not in (parameter.VAR_KEYWORD, parameter.VAR_POSITIONAL)
        and name not in config
    ]
    assert not missing, (
        f"{type(obj).__name__}.get_config() forgets constructor "
        f"argument(s) {missing}"
    )


def _seed_generators(layer):
    found = []
    seen = set()
    for sublayer in layer._flatten_layers(include_self=True):
        for generator in sublayer._seed_generators:
            if id(generator) not in seen:
                seen.add(id(generator))
                found.append(generator)
    return found


def _shapes(structure):
    return keras.tree.map_structure(
        lambda t: tuple(t.shape), structure, none_is_leaf=False
    )


def _unbatched(shapes):
    """Replaces the batch dimension of a shape, or of each shape, by None."""
    if all(d is None or isinstance(d, int) for d in shapes):
        return (None,) + tuple(shapes[1:])
    return type(shapes)(_unbatched(s) for s in shapes)


def check_config_round_trip(layer):
    """Checks that `get_config` holds every `__init__` argument and round trips.

    Args:
        layer: a layer instance.

    Raises:
        AssertionError: a constructor argument is missing from the config,
            or the rebuilt layer's config differs.

    Example:

    ```python
    import keras_vae
    from keras_vae.testing import check_config_round_trip

    check_config_round_trip(
        keras_vae.layers.ReparamSampling(kl_weight=0.5, seed=1)
    )
    ```
    """
    config = layer.get_config()
    check_config_has_arguments(layer, config)
    revived = type(layer).from_config(config)
    assert revived.get_config() == config
    serialized = keras.saving.serialize_keras_object(layer)
    revived = keras.saving.deserialize_keras_object(serialized)
    assert type(revived) is type(layer)
    assert revived.get_config() == config


def run_layer_test(
    layer_cls,
    init_kwargs,
    input_data,
    expected_output_shape,
    expected_num_trainable_weights=0,
    expected_num_non_trainable_weights=0,
    expected_num_seed_generators=0,
    expected_num_losses=0,
    run_training_check=True,
    deterministic_kwargs=None,
):
    """Runs the standard checks every keras_vae layer must pass.

    1. Config round trip (every constructor argument is in `get_config`)
       and serialization round trip.
    2. An eager call: output shapes, counts of weights, seed generators and
       losses added with `add_loss`.
    3. A symbolic call on `keras.Input`s: output shapes agree with
       `compute_output_shape`.
    4. A training step of a Functional model around the layer (a `Dense`
       after it so that there is something to train), with a finite loss
       and the layer's trainable weights changed.
    5. A `.keras` save / load round trip of that model with the default
       `safe_mode=True`, giving identical outputs when the layer is built
       with `deterministic_kwargs` (e.g. `{"inference": "mean"}`).

    Args:
        layer_cls: the layer class.
        init_kwargs: dict. Constructor arguments.
        input_data: a numpy array, or a list of them for several inputs.
        expected_output_shape: a shape tuple, or a structure of them.
        expected_num_trainable_weights: int.
        expected_num_non_trainable_weights: int.
        expected_num_seed_generators: int.
        expected_num_losses: int. Losses after one eager call.
        run_training_check: bool. Whether to run steps 4 and 5.
        deterministic_kwargs: dict or None. Extra constructor arguments that
            make the layer deterministic at inference, for step 5.

    Raises:
        AssertionError: a check failed; the message says which.

    Example:

    ```python
    import numpy as np
    import keras_vae
    from keras_vae.testing import run_layer_test

    run_layer_test(
        keras_vae.layers.ReparamSampling,
        init_kwargs={"kl_weight": 1.0, "seed": 0},
        input_data=[np.zeros((4, 2), "float32"), np.zeros((4, 2), "float32")],
        expected_output_shape=(4, 2),
        expected_num_seed_generators=1,
        expected_num_losses=1,
        deterministic_kwargs={"inference": "mean"},
    )
    ```
    """
    layer = layer_cls(**init_kwargs)
    check_config_round_trip(layer)

    # 2. Eager call.
    outputs = layer(input_data)
    assert _shapes(outputs) == expected_output_shape, (
        f"eager output shapes {_shapes(outputs)} != {expected_output_shape}"
    )
    assert len(layer.trainable_weights) == expected_num_trainable_weights
    assert (
        len(layer.non_trainable_weights) == expected_num_non_trainable_weights
    )
    assert len(_seed_generators(layer)) == expected_num_seed_generators
    assert len(layer.losses) == expected_num_losses, (
        f"{len(layer.losses)} losses != {expected_num_losses}"
    )
    check_config_round_trip(layer)  # Still true once built.

    # 3. Symbolic call.
    multiple = isinstance(input_data, (list, tuple))
    arrays = list(input_data) if multiple else [input_data]
    inputs = [keras.Input(a.shape[1:], batch_size=None) for a in arrays]
    symbolic_layer = layer_cls(**init_kwargs)
    symbolic = symbolic_layer(inputs if multiple else inputs[0])
    expected_symbolic = _unbatched(expected_output_shape)
    assert _shapes(symbolic) == expected_symbolic, (
        f"symbolic output shapes {_shapes(symbolic)} != {expected_symbolic}"
    )

    if not run_training_check:
        return

    # 4. A training step.
    def make_model(extra_kwargs):
        model_layer = layer_cls(**{**init_kwargs, **(extra_kwargs or {})})
        outs = model_layer(inputs if multiple else inputs[0])
        first = keras.tree.flatten(outs)[0]
        head = keras.layers.Dense(1, name="head")(keras.layers.Flatten()(first))
        return keras.Model(inputs, head), model_layer

    model, model_layer = make_model(None)
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
    before = [to_numpy(w) for w in model_layer.trainable_weights]
    target = np.ones((len(arrays[0]), 1), "float32")
    history = model.fit(
        arrays, target, epochs=1, batch_size=len(target), verbose=0
    )
    assert np.isfinite(history.history["loss"][0])
    after = [to_numpy(w) for w in model_layer.trainable_weights]
    for old, new in zip(before, after, strict=True):
        assert not np.allclose(old, new), "a trainable weight did not change"

    # 5. `.keras` round trip.
    model, _ = make_model(deterministic_kwargs)
    expected = model.predict(arrays, verbose=0)
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "model.keras")
        model.save(path)
        revived = keras.saving.load_model(path)
    np.testing.assert_allclose(
        revived.predict(arrays, verbose=0), expected, rtol=1e-6, atol=1e-6
    )
