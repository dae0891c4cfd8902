"""TLS contexts that trust the system's roots plus given anchors, built once per set of anchors.

`ssl.create_default_context()` reads the system's roots on every call (tens of milliseconds); a
device talks to the same MDM with the same anchors on every check-in, so contexts are cached by
their anchors. A cached context is shared: callers must not change it (a client certificate goes
into a context of its own, `fresh_context`).
"""

from __future__ import annotations

import functools
import ssl


def fresh_context(anchors: tuple[str | bytes, ...]) -> ssl.SSLContext:
    """A new context: the system's roots and `anchors` (PEM text or DER bytes each)."""
    context = ssl.create_default_context()
    for anchor in anchors:
        context.load_verify_locations(cadata=anchor)
    return context


@functools.lru_cache(maxsize=256)
def shared_context(anchors: tuple[str | bytes, ...]) -> ssl.SSLContext:
    """The same as `fresh_context`, built once per distinct `anchors`; read-only for callers."""
    return fresh_context(anchors)
