"""One parser process: started by ``ParsePool`` as ``python -c`` with the watcher's
``sys.path``, it reads jobs from its standard input and writes replies to its standard
output, each a length-prefixed pickle, until its input ends."""

from __future__ import annotations

import gc
import importlib
import os
import pickle
import resource
import signal
import struct
import sys
from typing import IO, Any

HEADER = struct.Struct("!Q")  # the length of the pickle that follows
# What a parser process imports before its first job, so that none pays for it.
PRELOAD = ["watcher.core.analysis", "watcher.parsing.document"]


def frame(message: object) -> bytes:
    """A message as it travels either way: its pickle's length, then the pickle."""
    data = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(data)) + data


def send(stream: IO[bytes], message: object) -> None:
    stream.write(frame(message))
    stream.flush()


def receive(stream: IO[bytes]) -> Any:
    """The next message; EOFError when the stream ends."""
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        raise EOFError
    (size,) = HEADER.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)  # noqa: S301 (from the watcher that started this process)


def main() -> None:
    # Ctrl-C in a terminal reaches the whole process group: the watcher decides when its
    # parsers end (by closing their input), not the keyboard.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # what a library prints is not a reply
    jobs = sys.stdin.buffer
    limit, matcher = receive(jobs)
    # Limited before the imports: rensa's allocator (mimalloc) reserves 1 GiB of address space
    # when it loads, unless a limit is in force, when it reserves what fits.
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    # What the imports make lives as long as the process: not walked by the cyclic collector
    # while they run, then set aside for good (as the watcher does with its own).
    gc.disable()
    for module in PRELOAD:
        importlib.import_module(module)
    from watcher.core.analysis import install_matcher  # rensa too: under the limit

    install_matcher(matcher)
    gc.freeze()
    gc.enable()
    while True:
        try:
            function, args = receive(jobs)
        except EOFError:
            return
        try:
            reply: tuple[bool, object] = (True, function(*args))
        except Exception as exc:  # the job's own failure, MemoryError included: the caller's
            reply = (False, exc)
        try:
            send(replies, reply)
        except Exception as exc:  # a result or an exception that does not pickle
            send(replies, (False, RuntimeError(f"unpicklable reply: {exc!r}")))
