"""Input validation shared by every metric entry point: non-finite inputs fail loudly.

A NaN or inf in scores or features (a broken cache entry, an overflowing float16 head) would
otherwise turn into a silent NaN ECE or a wrong AUROC. Every public metric that takes float arrays
declares them with :func:`finite_args`; the error names the function, the array and how many values
are bad.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, TypeVar

import numpy as np

F = TypeVar("F", bound=Callable[..., Any])


class NonFiniteError(ValueError):
    """A metric was given NaN or infinite values."""


def check_finite(where: str, name: str, values: Any) -> None:
    """Raise :class:`NonFiniteError` if ``values`` (array-like of numbers) has NaN or inf entries."""
    a = np.asarray(values)
    if a.dtype.kind not in "fc":
        return  # integers, booleans, strings: always finite
    bad = ~np.isfinite(a)
    n_bad = int(bad.sum())
    if n_bad:
        n_nan = int(np.isnan(a).sum())
        raise NonFiniteError(
            f"{where}: {name} has {n_bad} non-finite value(s) of {a.size} (NaN: {n_nan}, inf: {n_bad - n_nan}); "
            f"check the cache entry it came from (cliprobust cache verify) or drop those rows first")


def finite_args(*names: str) -> Callable[[F], F]:
    """Decorator: check the named array arguments with :func:`check_finite` before the call."""

    def decorate(fn: F) -> F:
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind_partial(*args, **kwargs).arguments
            for name in names:
                if bound.get(name) is not None:
                    check_finite(f"{fn.__module__.rsplit('.', 1)[-1]}.{fn.__name__}()", name, bound[name])
            return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
