"""Scripts that train, evaluate and publish the keras_vae presets."""
