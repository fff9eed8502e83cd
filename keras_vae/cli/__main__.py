"""`python -m keras_vae.cli`: the `keras-vae` command line."""

import sys

from keras_vae.cli.main import main

sys.exit(main())
