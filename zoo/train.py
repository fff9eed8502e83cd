"""`python -m zoo.train PRESET`: trains (or resumes) a preset of the zoo.

The training code is part of the library, `keras_vae.training` (also
`keras-vae train PRESET`); this module keeps the command every published
preset records in its metadata working. See `keras_vae.training.run`.
"""

from keras_vae.training.run import *  # noqa: F403
from keras_vae.training.run import main

if __name__ == "__main__":
    main()
