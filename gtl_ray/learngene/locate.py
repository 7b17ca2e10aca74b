"""Where the learngene a user names lives, so that `Learngene.load` and every `--learngene` take
the same locations:

- a learngene file: a local path or any pyarrow.fs URI (`s3://`, `gs://`);
- a folder written by `gtl-ray export` (a model-hub folder): its `model.safetensors`;
- `hf://owner/repo[@revision]`: such a folder on the Hugging Face Hub, fetched (or found in the
  local cache, e.g. with `HF_HUB_OFFLINE=1`) by `huggingface_hub`, the optional `hub` extra.

Numpy-free and torch-free: only names are resolved here; `Learngene.load` reads and verifies.
"""

from __future__ import annotations

import re

from gtl_ray import storage
from gtl_ray.errors import LearngeneError

GENE_FILE = "model.safetensors"  #: the learngene's file in an exported folder (the model hubs' usual name)
HUB_SCHEME = "hf://"
RUN_FINAL = "final/learngene.safetensors"  #: a run folder's final gene (`gtl_ray.run.layout.FINAL_GENE`)
_HUB_URI = re.compile(r"hf://([A-Za-z0-9][\w.-]{0,95})/([\w.-]{1,96})(?:@([\w./-]{1,200}))?")
_INSTALL_HUB = "pip install 'gtl_ray[hub]' (or: pip install huggingface_hub)"


def gene_file(location: str) -> str:
    """The learngene file `location` names: itself, an exported folder's `model.safetensors`, or
    the local copy of a Hub repository's. Raises LearngeneError naming the location."""
    location = str(location)
    if location.startswith(HUB_SCHEME):
        return hub_file(location)
    if not location.endswith(".safetensors") and storage.is_dir(location):
        return folder_file(location)
    return location


def folder_file(folder: str) -> str:
    """An exported folder's learngene file; a pointer to the final gene for a run folder."""
    candidate = storage.join(folder, GENE_FILE)
    if storage.exists(candidate):
        return candidate
    if storage.exists(storage.join(folder, "manifest.json")):
        raise LearngeneError(
            f"{folder}: a run folder, not a learngene; its final gene is {storage.join(folder, RUN_FINAL)}"
        )
    raise LearngeneError(
        f"{folder}: a folder without {GENE_FILE}; pass a learngene file, or a folder written by `gtl-ray export`"
    )


def parse_hub_uri(uri: str) -> tuple[str, str | None]:
    """(`owner/repo`, revision or None) of `hf://owner/repo[@revision]`."""
    match = _HUB_URI.fullmatch(uri)
    if match is None:
        raise LearngeneError(
            f"{uri[:200]!r}: expected hf://owner/repo or hf://owner/repo@revision (a branch, tag or commit)"
        )
    owner, repo, revision = match.groups()
    return f"{owner}/{repo}", revision


def hub_file(uri: str) -> str:
    """The local path of the learngene of `hf://owner/repo[@revision]`, through huggingface_hub
    (its cache, its token and its offline mode, as configured by its environment variables)."""
    repo, revision = parse_hub_uri(uri)
    try:
        import huggingface_hub
    except ImportError:
        raise LearngeneError(f"{uri}: loading a learngene from the Hugging Face Hub needs {_INSTALL_HUB}") from None
    from huggingface_hub.errors import EntryNotFoundError

    try:
        return str(huggingface_hub.hf_hub_download(repo, GENE_FILE, revision=revision, library_name="gtl_ray"))
    except (OSError, ValueError, EntryNotFoundError) as exc:  # not found, offline and not cached, no access
        reason = " ".join(str(exc).split())[:300] or type(exc).__name__
        raise LearngeneError(f"{uri}: cannot fetch {GENE_FILE} of {repo}: {type(exc).__name__}: {reason}") from None
