"""The shipped global prior, loaded (never built) by a worker.

``aurora_stream/data/prior.bin`` is package data built deterministically by
``python -m aurora_stream.training.build``. It is the only pickle a worker loads without a
state signature: it ships with the code, like the code itself. Nothing in ``AURORA_HOME``
is ever unpickled unless its HMAC signature checks (``learn/store.py``). A missing or
unreadable shipped prior (e.g. after a River upgrade) is an installation error with the
command that fixes it, not a silent rebuild.
"""

from __future__ import annotations

from importlib import resources

from aurora_stream.recommend.models import ModelBank

PRIOR_TAG = "prior-v2"
DATA_FILE = "prior.bin"


class PriorUnavailable(RuntimeError):
    """The shipped prior is missing or cannot be read by the installed libraries."""


def _shipped() -> bytes | None:
    ref = resources.files("aurora_stream").joinpath("data", DATA_FILE)
    return ref.read_bytes() if ref.is_file() else None


def load_prior() -> ModelBank:
    """The shipped prior (see the module docstring)."""
    data = _shipped()
    fix = "rebuild it with: python -m aurora_stream.training.build"
    if data is None:
        raise PriorUnavailable(f"the shipped prior aurora_stream/data/{DATA_FILE} is missing; "
                               f"{fix}")
    try:
        bank = ModelBank.from_bytes(data)
    except Exception as exc:
        raise PriorUnavailable(f"the shipped prior cannot be read ({exc.__class__.__name__}: "
                               f"{exc}); {fix}") from None
    if bank.prior_tag != PRIOR_TAG:
        raise PriorUnavailable(f"the shipped prior is {bank.prior_tag}, the code expects "
                               f"{PRIOR_TAG}; {fix}")
    return bank
