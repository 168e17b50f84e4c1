"""Handing freed memory back to the operating system.

CPython returns what Python objects free to the C allocator, and glibc's allocator keeps it in
per-thread arenas, reusing it but rarely returning it: a daemon whose threads (the event loop,
the writer, senders, the process pool's helpers) each free in their own arena grows by
fragmentation although the Python heap stays the same size. ``malloc_trim(0)`` returns the
free pages of every arena (the top of each heap and, since glibc 2.8, whole free pages inside
them). Elsewhere (musl, macOS) there is nothing to call and this does nothing.

Before that, the ``re`` module's cache of compiled patterns is emptied. The standard library's
email generator (apprise's email sender uses it) compiles a pattern of every message's random
MIME boundary, used once: about 0.8 kB an email that the cache keeps until it holds 512 of
them, so a daemon that sends email grows by 0.4 MB of dead patterns over its first hours (seen
with ``tracemalloc`` in the soak benchmark). What the daemon matches with is compiled once and
held by its own objects, not by the cache.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import re
from collections.abc import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim: Callable[[int], int] = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


def release_free_memory() -> bool:
    """Return the allocator's free pages to the system; whether anything could be asked."""
    re.purge()
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
