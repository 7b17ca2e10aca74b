"""Every path of a run's folder, and the one rule for run names. The folder, under `storage` (a
local folder or pyarrow.fs URI):

    RUN/manifest.json                                 written last, atomically: what is complete
    RUN/lease/EEEEEEEE.json                           the writer lease (`run.lease`): who writes the run now
    RUN/lineage.parquet                               one row per member per generation so far
    RUN/initial/learngene.safetensors                 generation 0's gene (evolution.init: pretrained, narrow)
    RUN/generations/NNNN/member-MMMM.safetensors      every gene generation NNNN passed on
    RUN/generations/NNNN/offspring-MMMM.safetensors   reptile: what member MMMM's line passes on
    RUN/final/learngene.safetensors                   the final learngene (final.selection)
    RUN/final/elite-EE.safetensors                    the next best (evolution.elites of them)
    RUN/pretrained/                                   pre-trained networks (evaluation, init), cached
    RUN/descendants/                                  networks trained by `gtl-ray descend`
    RUN/tensorboard/                                  population figures (step = generation)
    RUN/tune-from-NNNN/                               Tune's member results, a session begun at generation NNNN

Paths inside the run are written relative (`generations/0003/member-0001.safetensors`) in the
manifest, and absolute (`RunLayout.path`) everywhere else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gtl_ray import storage
from gtl_ray.errors import StorageError

MANIFEST = "manifest.json"
LINEAGE = "lineage.parquet"
INITIAL_GENE = "initial/learngene.safetensors"
FINAL_GENE = "final/learngene.safetensors"
TENSORBOARD = "tensorboard"
PRETRAINED = "pretrained"
GENERATIONS = "generations"
LEASE = "lease"  #: the writer lease's folder: kept when --overwrite replaces the rest of a run
#: folders whose half-written temp files a crash can leave (generation folders are added per run)
WRITTEN_FOLDERS = ("", "final", "initial", TENSORBOARD)
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,128}")
_MEMBER_ID = re.compile(r"g(\d{4,})m(\d{4,})")


def valid_run_name(name: object) -> bool:
    """The one rule for run names: one path segment (letters, digits, `-_.`; not `.` or `..`),
    so a run folder is always a proper child of its storage root."""
    return isinstance(name, str) and bool(_NAME.fullmatch(name)) and name not in (".", "..")


def check_run_name(name: object) -> str:
    """`name` if it is a valid run name (`valid_run_name`), else a StorageError naming it."""
    if not valid_run_name(name):
        raise StorageError(f"run name {str(name)[:80]!r}: use 1-128 letters, digits, '-', '_' or '.' (not '.' or '..')")
    return name


def member_gene(generation: int, member: int) -> str:
    """The gene member `member` of `generation` passed on, relative to the run."""
    return f"{GENERATIONS}/{generation:04d}/member-{member:04d}.safetensors"


def offspring_gene(generation: int, member: int) -> str:
    """Reptile: what member `member`'s line passes on after `generation`, relative to the run."""
    return f"{GENERATIONS}/{generation:04d}/offspring-{member:04d}.safetensors"


def elite_gene(place: int) -> str:
    return f"final/elite-{place:02d}.safetensors"


def parent_file(parent_id: str, initial_id: str, reptile: bool) -> str:
    """Where a parent's gene lives, relative to the run: the initial gene (`initial_id`), a
    member's own gene, or (reptile: a computed gene) its offspring file."""
    if parent_id == initial_id:
        return INITIAL_GENE
    match = _MEMBER_ID.fullmatch(parent_id)
    if match is None:
        raise StorageError(f"parent id {parent_id[:40]!r} is neither {initial_id!r} nor a member id like g0001m0002")
    g, m = int(match[1]), int(match[2])
    return (offspring_gene if reptile else member_gene)(g, m)


@dataclass(frozen=True)
class RunLayout:
    """Where one run's files are: `root`/`name`."""

    root: str
    name: str

    def __post_init__(self) -> None:
        check_run_name(self.name)

    @classmethod
    def from_path(cls, run_dir: str) -> "RunLayout":
        """The layout of the run folder `run_dir` (its parent is the storage root); a URI's
        query (an S3 endpoint) stays on the root."""
        path, mark, query = str(run_dir).partition("?") if storage.is_uri(run_dir) else (str(run_dir), "", "")
        root, _, name = path.rstrip("/").rpartition("/")
        return cls(f"{root or '.'}{mark}{query}", name)

    @property
    def run_dir(self) -> str:
        return storage.join(self.root, self.name)

    def path(self, *parts: str) -> str:
        """An absolute path inside the run; `parts` may hold relative paths with slashes."""
        pieces = [piece for part in parts for piece in part.split("/") if piece]
        return storage.join(self.run_dir, *pieces)

    @property
    def manifest(self) -> str:
        return self.path(MANIFEST)

    @property
    def lineage(self) -> str:
        return self.path(LINEAGE)

    @property
    def final_learngene(self) -> str:
        return self.path(FINAL_GENE)

    @property
    def tensorboard_dir(self) -> str:
        return self.path(TENSORBOARD)

    @property
    def pretrained_dir(self) -> str:
        return self.path(PRETRAINED)

    def descendant(self, arch: str, width: float) -> str:
        return self.path("descendants", f"{arch}-w{width:g}.safetensors")

    def tune_session(self, first_generation: int) -> str:
        return f"tune-from-{first_generation:04d}"
