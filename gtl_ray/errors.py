"""The project's error types: bad input raises a GTLError, which the CLI turns into exit code 2.

Anything that is not a GTLError is a bug and keeps its traceback.
"""
from __future__ import annotations


class GTLError(Exception):
    """Bad input from the user: a config value, a data file, a learngene file or a flag."""


class ConfigError(GTLError):
    """A config key or value is invalid; the message names the dotted key and what is allowed."""


class DataError(GTLError):
    """A data source is missing, unreadable or too small for the request."""


class LearngeneError(GTLError):
    """A learngene file is corrupt or does not fit the target network."""


class StorageError(GTLError):
    """A storage URI is unsupported or a run directory is missing or inconsistent."""


class RunFailed(Exception):
    """A run that started and could not finish (its pool died, members failed past
    population.max_failures, no room for a member): not bad input, so the CLI exits 1, with a
    one-line message that says how to resume."""
