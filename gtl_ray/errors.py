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
    """A storage URI is unsupported, a file is unreadable or too big, or a run directory is
    missing or inconsistent."""


class LeaseHeld(StorageError):
    """Another live process holds the run's writer lease; the message names it and what to do."""


class LineageError(StorageError):
    """A lineage table breaks its schema: a column's type, a value, or a family relation."""


class EpisodeFileError(StorageError):
    """A per-episode scores table breaks its schema: a column's type, a value, or a repeated key."""


class EvaluationFileError(StorageError):
    """An evaluation JSON (read by `gtl-ray report`) breaks its schema."""


def quote(value: object, limit: int = 80) -> str:
    """A bounded repr of a bad value for an error message: nested containers are cut short
    before they are expanded (a YAML alias bomb never gets rendered), the text after `limit`."""
    import reprlib

    shorter = reprlib.Repr()
    shorter.maxlevel, shorter.maxstring, shorter.maxother = 3, limit, limit
    shorter.maxlist = shorter.maxtuple = shorter.maxdict = shorter.maxset = 8
    text = shorter.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class RunFailed(Exception):
    """A run that started and could not finish (its pool died, members failed past
    population.max_failures, no room for a member): not bad input, so the CLI exits 1, with a
    one-line message that says how to resume."""


class StorageFault(RunFailed):
    """The storage refused a write the command depends on: not bad input, so exit 1.

    `kind` is one of `gtl_ray.storage_faults.KINDS` ("no space", "read-only", "unreachable",
    "missing", "other"); `location` the file or folder written; `detail` the OS's or the store's
    own message, on one line.
    """

    def __init__(self, kind: str, location: str, detail: str):
        self.kind, self.location, self.detail = kind, location, detail
        super().__init__(f"cannot write {location}: {kind} ({detail})")

    def __reduce__(self) -> tuple:  # rebuilt from its fields when Ray carries it between processes
        return type(self), (self.kind, self.location, self.detail)


class LeaseLost(RunFailed):
    """A running writer found that another process took its run's lease over (its heart-beat
    was late beyond the bound, e.g. the process was stopped): it must stop writing at once."""
