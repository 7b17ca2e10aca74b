"""`gtl-ray export RUN_OR_GENE DIR`: a learngene as a folder a model hub can serve —
`model.safetensors` (the gene's file, byte for byte), `config.json` and a `README.md` model card
(`gtl_ray.model_card`). From a run folder it takes the final learngene, the run's facts from its
manifest and, when present, `RUN/evaluation.json`; from any other learngene location (file,
exported folder, `hf://`) the gene alone. `Learngene.load(DIR)` and `--learngene DIR` read it back.
"""

from __future__ import annotations

import re
from typing import Any

from gtl_ray import storage
from gtl_ray.errors import ConfigError, StorageError, quote
from gtl_ray.learngene import Learngene
from gtl_ray.learngene.locate import GENE_FILE, HUB_SCHEME, gene_file, parse_hub_uri
from gtl_ray.model_card import CardFacts, card_files
from gtl_ray.run.layout import MANIFEST
from gtl_ray.run.manifest import Manifest
from gtl_ray.run.result import RunResult, final_gene_file

FILES = (GENE_FILE, "config.json", "README.md")
LICENSE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+-]{0,63}")  #: an SPDX-like id (it goes into the card's YAML front matter)


def run_facts(manifest: Manifest) -> dict[str, Any]:
    """The run's settings a reader of the card wants, by readable names."""
    config = manifest.config

    def key(section: str, name: str) -> Any:
        return (config.get(section) or {}).get(name)

    return {
        "seed": manifest.seed,
        "population": manifest.population,
        "generations": manifest.done,
        "final gene": manifest.final.id if manifest.final else None,
        "data": key("data", "format"),
        "fitness": key("evolution", "fitness"),
        "inheritance": key("evolution", "inheritance"),
        "generation 0": key("evolution", "init"),
        "final selection": key("final", "selection"),
    }


def _source(source: str) -> tuple[bytes, str, CardFacts]:
    """(the gene file's bytes, where they came from, what the card says of the run)."""
    if not source.startswith(HUB_SCHEME) and storage.exists(storage.join(source, MANIFEST)):
        location = final_gene_file(source)  # verified against the run's manifest
        run = RunResult(source)
        facts = CardFacts(
            run=run_facts(run.manifest),
            run_name=run.name,
            evaluation=run.evaluation,
            image_size=(run.manifest.config.get("data") or {}).get("image_size"),
        )
        data = storage.read_bytes(location, "learngene")
        if Learngene.from_bytes(data, location).checksum != run.manifest.final.checksum:
            raise StorageError(f"{location}: checksum differs from the manifest's (file swapped or edited)")
        return data, location, facts
    location = gene_file(source)
    return storage.read_bytes(location, "learngene"), location, CardFacts()


def export(
    source: str, out_dir: str, repo: str | None = None, license: str = "apache-2.0", overwrite: bool = False
) -> str:
    """Write the export folder `out_dir` for the run or learngene `source`; returns `out_dir`.
    Everything is read and verified before anything is written; an earlier export in the folder
    is replaced only with `overwrite`."""
    if repo is not None:
        parse_hub_uri(HUB_SCHEME + repo)  # owner/name, refused as a Hub id would be
    if not LICENSE.fullmatch(license):
        raise ConfigError(f"--license: expected a license id such as apache-2.0 or cc-by-4.0, got {quote(license)}")
    data, location, facts = _source(str(source))
    gene = Learngene.from_bytes(data, location)
    facts.repo, facts.license = repo, license
    if storage.exists(out_dir) and not storage.is_dir(out_dir):
        raise StorageError(f"export: {out_dir} is a file, not a folder")
    present = [name for name in FILES if storage.exists(storage.join(out_dir, name))]
    if present and not overwrite:
        raise StorageError(f"export: {out_dir} already holds {', '.join(present)}; pass --overwrite to replace them")
    files = {GENE_FILE: data, **card_files(gene, facts)}
    for name, content in files.items():
        storage.write_bytes_atomic(storage.join(out_dir, name), content)
    return out_dir
