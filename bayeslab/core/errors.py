"""Errors and warnings raised by bayeslab.

Every error a user can cause is a :class:`BayeslabError`. Messages name the column (or argument),
the bad value or the number of rows affected, and how to fix it. The CLI turns any
:class:`BayeslabError` into one line on stderr and exit code 2.
"""

from __future__ import annotations


class BayeslabError(Exception):
    """Base class of every error bayeslab raises on purpose."""


class DataError(BayeslabError, ValueError):
    """The input data is unusable as given (missing column, bad values, impossible counts).

    Parameters
    ----------
    message : str
        What is wrong, naming the column, the problem and how many rows.
    column : str, optional
        The column at fault, when there is one.
    rows : int, optional
        How many rows are affected.
    """

    def __init__(self, message: str, *, column: str | None = None, rows: int | None = None):
        super().__init__(message)
        self.column = column
        self.rows = rows


class ModelError(BayeslabError, ValueError):
    """A model cannot be specified as asked (bad prior, bad option, unsupported combination)."""


class ConvergenceError(BayeslabError, RuntimeError):
    """A sampler or optimiser failed to converge and the caller asked for an error."""


class BayeslabWarning(UserWarning):
    """Base class of every warning bayeslab emits."""


class DataWarning(BayeslabWarning):
    """The data is usable but something about it deserves attention."""


class StatisticalWarning(BayeslabWarning):
    """A result is computed but its assumptions look shaky (small counts, weak overlap)."""


class CacheWarning(BayeslabWarning):
    """A cache file was unreadable or could not be written; the work is done without it."""
