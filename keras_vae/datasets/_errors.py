"""Exceptions raised by `keras_vae.datasets`."""


class DatasetNotFoundError(FileNotFoundError):
    """Raised when no source can provide the requested dataset.

    The message lists every source tried and the command that fixes it.
    """


class ChecksumError(ValueError):
    """Raised when a decoded file does not match its pinned SHA-256."""


class FetchError(RuntimeError):
    """Raised when the files of a dataset cannot be downloaded."""
