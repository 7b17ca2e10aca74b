"""What Ray prints on a command's stderr, made fit for a log file as well as a terminal.

- Off a terminal, Ray's own log lines carry no colour codes: Ray writes ANSI escapes into some
  messages ("View the dashboard at ...") and around its worker-log prefixes whatever the
  stream; a filter on Ray's stderr handler strips the first, `RAY_COLOR_PREFIX=0` the second.
- A Ray that the command starts itself keeps the token authentication Ray 2.x turns on by
  default, without Ray's WARNING about it (which tells how to turn it off): a handler filter
  drops that one record. Joining a running cluster changes nothing: what Ray says about that
  cluster's authentication is shown as Ray says it.
"""

from __future__ import annotations

import logging
import os
import re
from typing import TextIO

from gtl_ray.service.capacity import RayCluster

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
TOKEN_NOTICE = "Token authentication is enabled for this Ray cluster"  #: Ray 2.60's WARNING on a Ray it starts
COLOR_PREFIX = "RAY_COLOR_PREFIX"


def is_terminal(stream: TextIO | None) -> bool:
    """Whether `stream` is an open terminal (a closed one, e.g. a finished capture, is not)."""
    try:
        return bool(stream is not None and getattr(stream, "isatty", lambda: False)())
    except ValueError:  # I/O operation on closed file
        return False


class PlainText(logging.Filter):
    """Strips ANSI escape sequences from a record's message (a handler filter: it sees every
    record the handler writes, those of child loggers included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "\x1b[" in message:
            record.msg, record.args = ANSI.sub("", message), None
        return True


def plain_ray_logs() -> None:
    """Ray's log lines and worker-log prefixes without colour codes wherever they do not go to a
    terminal (idempotent)."""
    for handler in logging.getLogger("ray").handlers:
        stream = getattr(handler, "stream", None)
        if not is_terminal(stream) and not any(isinstance(f, PlainText) for f in handler.filters):
            handler.addFilter(PlainText())
    import sys

    if not is_terminal(sys.stderr):
        os.environ.setdefault(COLOR_PREFIX, "0")


class DropTokenNotice(logging.Filter):
    """Drops Ray's notice that it turned token authentication on for a Ray it starts."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(TOKEN_NOTICE)


def quiet_own_ray_auth(address: str | None) -> bool:
    """Before `ray.init(address)`: when it will start a Ray of this process's own, drop Ray's
    token-auth notice (the authentication itself stays on). Returns whether it will."""
    if not RayCluster.starts_its_own(address):
        return False
    for handler in logging.getLogger("ray").handlers:
        if not any(isinstance(f, DropTokenNotice) for f in handler.filters):
            handler.addFilter(DropTokenNotice())
    return True


def prepare(address: str | None) -> None:
    """Everything above, before a command that may start or join Ray."""
    import ray  # noqa: F401  (Ray configures its logger on import; the filter goes on its handler)

    plain_ray_logs()
    quiet_own_ray_auth(address)
