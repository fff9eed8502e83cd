"""Argument checks shared by the library: errors name the argument and value."""

import numbers


def positive_int(name, value):
    """Returns `value` if it is an integer > 0, else raises ValueError."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or value <= 0
    ):
        raise ValueError(
            f"`{name}` must be a positive integer. Received: {name}={value!r}"
        )
    return int(value)


def non_negative_int(name, value):
    """Returns `value` if it is an integer >= 0, else raises ValueError."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or value < 0
    ):
        raise ValueError(
            f"`{name}` must be a non-negative integer. "
            f"Received: {name}={value!r}"
        )
    return int(value)


def non_negative_float(name, value):
    """Returns `float(value)` if it is a finite number >= 0."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not value >= 0
        or value == float("inf")
    ):
        raise ValueError(
            f"`{name}` must be a finite number >= 0. Received: {name}={value!r}"
        )
    return float(value)


def positive_float(name, value):
    """Returns `float(value)` if it is a finite number > 0."""
    if non_negative_float(name, value) == 0:
        raise ValueError(
            f"`{name}` must be a finite number > 0. Received: {name}={value!r}"
        )
    return float(value)


def one_of(name, value, choices):
    """Returns `value` if it is one of `choices`, else raises ValueError."""
    if value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        raise ValueError(
            f"`{name}` must be one of {listed}. Received: {name}={value!r}"
        )
    return value


SEED_LIMIT = 2**32
"""Seeds are 32-bit on every backend: None or an int in [0, SEED_LIMIT)."""


def seed(name, value, allow_none=True):
    """Returns `value` if it is a valid seed, else raises ValueError.

    The one rule for every public `seed` argument, on every backend: an
    integer in [0, 2**32) (not a bool), or None where `allow_none`. Keras
    backends hold seeds in different dtypes (uint32, int32, int64), so a
    seed outside that range works on one backend and overflows on another.

    Args:
        name: str. The argument's name, for the message.
        value: the argument's value.
        allow_none: bool. Whether None (a random seed) is accepted.

    Returns:
        `int(value)`, or None.
    """
    if value is None and allow_none:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or not 0 <= value < SEED_LIMIT
    ):
        what = "None or an integer" if allow_none else "an integer"
        raise ValueError(
            f"`{name}` must be {what} in [0, 2**32). Received: {name}={value!r}"
        )
    return int(value)
