"""What `gtl-ray inspect` shows: a learngene file's header, or a run's progress and the family
line of its final learngene."""

from __future__ import annotations

from typing import Any

from gtl_ray import storage
from gtl_ray.errors import StorageError, quote
from gtl_ray.evolution.lineage import ancestry
from gtl_ray.evolution.strategy import INITIAL
from gtl_ray.learngene import Learngene
from gtl_ray.learngene.locate import HUB_SCHEME
from gtl_ray.percent import chance_of, fitness_ways, percent, points
from gtl_ray.recipe import RECIPE_KEYS
from gtl_ray.run.layout import MANIFEST
from gtl_ray.run.store import RunStore


def inspect_gene(uri: str) -> dict[str, Any]:
    gene = Learngene.load(uri)
    return {
        "kind": "learngene",
        "path": uri,
        **gene.shape,
        "layers": len(gene.units),
        "checksum": gene.checksum,
        "preprocessing": gene.preprocessing,
        "provenance": _provenance_first(gene.provenance),
        "recipe": gene.info.get("recipe"),
        "info": {k: v for k, v in gene.info.items() if k not in ("preprocessing", "provenance", "recipe")},
    }


def _provenance_first(provenance: dict[str, Any] | None) -> dict[str, Any] | None:
    """The provenance with its id first and the config digest last, as a person reads it (the
    file keeps its keys sorted)."""
    if not isinstance(provenance, dict):
        return provenance
    first = [k for k in ("id", "run", "generation", "member") if k in provenance]
    rest = sorted(k for k in provenance if k not in first and k != "config_digest")
    return {k: provenance[k] for k in first + rest + (["config_digest"] if "config_digest" in provenance else [])}


def inspect_run(run_dir: str) -> dict[str, Any]:
    store = RunStore.from_path(run_dir)
    manifest = store.read_manifest()
    lineage = store.load_lineage(manifest)
    final = manifest.final
    out: dict[str, Any] = {
        "kind": "run",
        "run_dir": run_dir,
        "name": manifest.name,
        "seed": manifest.seed,
        "population": manifest.population,
        "generations_planned": manifest.generations_planned,
        "generations_completed": manifest.done,
        "fitness": [g.fitness for g in manifest.generations],
        "fitness_ways": fitness_ways(manifest.config),  #: chance is 1 / fitness_ways
        "timing": [g.timing for g in manifest.generations],
        "final_learngene": None,
    }
    if final is not None:
        gene_uri = store.path(final.learngene)
        gene = inspect_gene(gene_uri)
        if gene["checksum"] != final.checksum:
            raise StorageError(
                f"{gene_uri}: checksum {gene['checksum']} differs from the manifest's {quote(final.checksum)} "
                "(file swapped or edited)"
            )
        leaf = final.id
        out["final_learngene"] = {
            "path": gene_uri,
            "checksum": final.checksum,
            "share": gene["share"],
            "architecture": gene["architecture"],
            "num_params": gene["num_params"],
            "recipe": gene["recipe"],
            "elites": [store.path(e) for e in final.elites],
            "elite_ids": list(final.elite_ids),
            "id": leaf,
            "val_scores": dict(final.val_scores),
            "scored_on": str(final.scored_on),
        }
        out["final_lineage"] = [
            {
                "id": r.id,
                "parent": r.parent,
                "elite": r.elite,
                "mutation": r.mutation,
                "channels_mutated": r.channels_mutated,
                "fitness": r.fitness,
            }
            for r in ancestry(lineage, leaf)
        ]
    return out


def inspect_path(location: str) -> dict[str, Any]:
    """A run directory (holding manifest.json), or a learngene: a file, an exported folder or
    `hf://owner/repo[@revision]`."""
    if location.startswith(HUB_SCHEME):
        return inspect_gene(location)
    if storage.exists(storage.join(location, MANIFEST)):
        return inspect_run(location)
    if storage.exists(location):
        return inspect_gene(location)
    raise StorageError(f"{location}: neither a run directory (no {MANIFEST}) nor a learngene")


def _flat(value: Any) -> str:
    """A header value on one line: mappings as `key value, key value`, absent ones as `-`."""
    if value is None or value == {}:
        return "-"
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    return str(value)


def recipe_line(recipe: dict[str, Any]) -> str:
    """A recipe on one line, keys in `RECIPE_KEYS` order, 4 significant digits."""
    return ", ".join(f"{k} {recipe[k]:.4g}" for k in RECIPE_KEYS if k in recipe)


def format_inspection(info: dict[str, Any]) -> str:
    if info["kind"] == "learngene":
        shown = {k: recipe_line(v) if k == "recipe" and v else v for k, v in info.items()}
        return "\n".join(f"{k:14s} {_flat(v)}" for k, v in shown.items() if k != "kind")
    done = f"{info['generations_completed']}/{info['generations_planned']} generations"
    lines = [
        f"run {info['name']} (seed {info['seed']}): {done}, population {info['population']}",
        f"fitness in % ({chance_of(info['fitness_ways'])}); seconds per generation",
        "gen   min    median max    wall_s  lifetime_s  other_s",
    ]
    for g, (fit, t) in enumerate(zip(info["fitness"], info["timing"])):
        lines.append(
            f"{g:<5d} {points(fit['min']):>5}  {points(fit['median']):>5}  {points(fit['max']):>5}  "
            f"{t['wall']:7.2f} {t['lifetime_max']:10.2f}  {t['scheduling']:7.2f}"
        )
    final = info.get("final_learngene")
    if final:
        what = f"{final['architecture']}, share {final['share']:.4f}, {final['num_params']} params, {final['checksum']}"
        lines.append(f"final learngene {final['id']}: {final['path']} ({what})")
        if final["recipe"]:
            lines.append(f"its recipe (evolution.recipe): {recipe_line(final['recipe'])}")
        chain = " <- ".join(
            f"{r['id']}{'*' if r['elite'] else ''}({percent(r['fitness'], 0)})" for r in info["final_lineage"]
        )
        lines.append(
            f"family line (* = elite; fitness): {chain}"
            if final["id"] != INITIAL
            else "family line: none, the final gene is the one evolution started from (evolution.init)"
        )
        scores = final["val_scores"]
        evolved = {k: v for k, v in scores.items() if k != INITIAL}
        if evolved:  # final.selection: val
            best = max(evolved, key=evolved.__getitem__)
            start = f", the start gene {percent(scores[INITIAL])}" if INITIAL in scores else ""
            lines.append(
                f"final selection (descendant accuracy, {final['scored_on']} classes): "
                f"best evolved {best} {percent(evolved[best])}{start}"
            )
    return "\n".join(lines)
