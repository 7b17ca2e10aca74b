"""Ablation of the evolution options: which fitness, environments, write-back and start make an
evolved learngene beat the same slots of plain pre-training, and at what compute.

    python benchmarks/efficacy.py --ablation [--quick] [--data offline,glyphs] [--seeds 0,1,2]
        [--arms A,B] [--controls today,p1,rest,equal] [--episodes 60] [--final-episodes 300]
        [--novel-episodes N] [--novel-methods all] [--set key=value ...] [--workers 2] [--work DIR]
        [--out benchmarks/results/ablation.json]

Protocol (settings are chosen on base and val classes only; novel classes are for the final table):
1. The matrix: evolution.fitness (lifetime, descendant, instinct) x lifetime.shared_environment
   (off, on) x evolution.inheritance (lamarckian, reptile) x evolution.init (random, pretrained),
   on each data set, each arm evolved in process (`evolve_local`, equal to the Ray service by test)
   from every evolution seed. The data, the descendants, the episodes and the baselines' pre-training
   use the config's seed (0) in every arm, so every learngene is scored on the same episodes.
2. Every learngene is evaluated on `episodes` 5-way 1- and 5-shot episodes of the **val** classes,
   beside scratch, full transfer and the heuristic gene (the same slots of the pre-trained network)
   on the same episodes. Per arm: the learngene's mean over seeds, its spread across seeds, the
   paired difference against heuristic and full (per episode, averaged over seeds, 95% CI over
   episodes), instinct, sample-gradients and wall time.
3. The winner (best mean 5-shot paired difference against the heuristic over the data sets) and the
   controls are re-scored on `final_episodes` val episodes: the default settings, P=1 (no
   selection) with the winner's settings, the winner with each `evaluation.rest_init`, and the
   **equal-compute heuristic and narrow**: pre-trainings given as many sample-gradients as the
   winner's whole evolution (its own pre-training included). `--controls` picks which of them run
   (today, p1, rest, equal); the baselines of another rest_init score only the heuristic
   (scratch and full do not depend on it); `narrow` is scored at the winner's rest.
4. With `--novel-episodes N`, the final table: the winner's settings, now on the **novel**
   classes (N episodes, the same for every method), its learngene from every seed against
   scratch, full, heuristic (at the winner's rest and at torch's default rest) and narrow (the
   gene-shaped network pre-trained alone: the baseline a rest-0 descendant must beat), paired per
   episode; `--novel-methods all` adds every registered transfer baseline (distilled, sparse,
   random_slice, aft) and learngene+aft (from every seed's learngene, seed-averaged like the
   learngene), each with its transferred share and sample-gradients. Nothing is chosen from this table.
5. Results go to OUT (JSON: the figures) and OUT.md; every per-episode score stays in its unit under
   --work, from which any figure can be recomputed.
   Units of work are cached in --work, so an interrupted ablation resumes where it stopped; an
   evolution is cached too (`work/genes/<hash of the config>`), so the winner's re-scoring and
   the final table reuse the matrix's learngenes instead of evolving them again, and a final-table
   unit of fewer episodes is extended to more (episode i depends on the seed and i only).
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import logging
import shlex
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gtl_ray.config import GTLConfig
from gtl_ray.evaluation.methods import list_methods, needs_learngene
from gtl_ray.evaluation.stats import mean_ci95
from gtl_ray.preflight import load_config

log = logging.getLogger("benchmarks.ablation")
ROOT = Path(__file__).resolve().parents[1]
DATASETS = {"offline": "configs/quickstart.yaml", "glyphs": "configs/glyphs.yaml"}
SHOTS = (1, 5)
BASELINES = ("scratch", "full", "heuristic")
QUICK = (  # tiny sizes: every code path of the ablation in minutes, meaningless numbers
    "model.width=0.125",
    "evolution.generations=2",
    "lifetime.epochs=2",
    "lifetime.train_per_class=10",
    "pretrain.epochs=1",
    "evaluation.steps=5",
    "evolution.fitness_episodes=1",
    "final.val_episodes=5",
)


@dataclass(frozen=True)
class Arm:
    name: str
    overrides: tuple[str, ...] = ()


def matrix(inits: tuple[str, ...] = ("random", "pretrained")) -> list[Arm]:
    """The 24 arms of the issue's matrix; `inits` adds the arms of another evolution.init (e.g.
    narrow: --arms names them one by one)."""
    arms = []
    for fitness, shared, inheritance, init in itertools.product(
        ("lifetime", "descendant", "instinct"), (False, True), ("lamarckian", "reptile"), inits
    ):
        name = f"{fitness}/{'shared' if shared else 'own'}-env/{inheritance}/{init}"
        arms.append(
            Arm(
                name,
                (
                    f"evolution.fitness={fitness}",
                    f"lifetime.shared_environment={str(shared).lower()}",
                    f"evolution.inheritance={inheritance}",
                    f"evolution.init={init}",
                ),
            )
        )
    return arms


DEFAULT_ARM = "lifetime/own-env/lamarckian/random"


@dataclass(frozen=True)
class Setup:
    """What every unit of one ablation shares."""

    data: str
    common: tuple[str, ...]  #: overrides every config of the ablation gets (profile, episodes)
    work: str  #: cache folder

    def config(self, *extra: str) -> GTLConfig:
        return load_config(ROOT / DATASETS[self.data], [*self.common, f"storage={self.work}/runs", *extra])


# ---------------------------------------------------------------- units of work (worker processes)


def _splits(config: GTLConfig):
    from gtl_ray.data import load_splits

    return load_splits(config.data)


def _judged(splits, classes: str):
    """The splits an evaluation draws its episodes from: val classes (choosing settings) or the
    novel classes (the final table, after everything is chosen)."""
    return splits if classes == "novel" else dataclasses.replace(splits, novel=splits.val)


def baseline_unit(
    setup: Setup,
    rest: tuple[str, ...],
    episodes: int,
    pretrain_epochs: int | None = None,
    methods: tuple[str, ...] | None = None,
    classes: str = "val",
    first_episode: int = 0,
) -> dict[str, Any]:
    """Per-episode scores of `methods` (default: BASELINES, or with pretrain_epochs the
    heuristic) on the episodes of the `classes` split; with pretrain_epochs, from pre-trainings
    of that length."""
    import torch

    from gtl_ray.evaluation import evaluate

    torch.set_num_threads(1)
    extra = [f"evaluation.episodes={episodes}", *rest] + (
        [f"pretrain.epochs={pretrain_epochs}"] if pretrain_epochs else []
    )
    config = setup.config(*extra)
    methods = list(methods or (("heuristic",) if pretrain_epochs else BASELINES))
    start = time.time()
    ev = evaluate(
        config,
        None,
        methods,
        splits=_judged(_splits(config), classes),
        cache_dir=f"{setup.work}/pretrained",
        first_episode=first_episode,
    )
    return {**_method_figures(ev, methods), "preparation": ev.preparation, "seconds": time.time() - start}


def _method_figures(ev, methods) -> dict[str, Any]:
    """Per method and shot count: every episode's accuracy and instinct, the mean fine-tuning
    sample-gradients per episode, and the share of the descendant's parameters transferred."""
    return {
        "scores": {m: {str(s): ev.values(m, s) for s in ev.scores} for m in methods},
        "instinct": {m: {str(s): ev.values(m, s, "instinct") for s in ev.scores} for m in methods},
        "finetune": {m: {str(s): float(np.mean(ev.values(m, s, "sample_grads"))) for s in ev.scores} for m in methods},
        "transferred": {m: ev.transferred.get(m, 0.0) for m in methods},
    }


def arm_unit(
    setup: Setup,
    arm: Arm,
    seed: int,
    episodes: int,
    classes: str = "val",
    method: str = "learngene",
    first_episode: int = 0,
) -> dict[str, Any]:
    """Evolve the arm from `seed` (or reuse that evolution from `work/genes`), then score its
    learngene (or another method that starts from it, e.g. learngene+aft) on the episodes of the
    `classes` split."""
    import torch

    from gtl_ray.evaluation import evaluate

    torch.set_num_threads(1)
    config = setup.config(*arm.overrides, f"seed={seed}", f"name=ablation-{seed}")
    splits = _splits(config)
    gene, evolved = evolved_gene(setup, config, splits)
    start = time.time()
    judge = setup.config(*[o for o in arm.overrides if o.startswith("evaluation.")], f"evaluation.episodes={episodes}")
    ev = evaluate(
        judge,
        gene,
        [method],
        splits=_judged(splits, classes),
        cache_dir=f"{setup.work}/pretrained",
        first_episode=first_episode,
    )
    figures = _method_figures(ev, [method])
    return {
        **{part: figures[part][method] for part in figures},
        "preparation": ev.preparation.get(method, 0),
        "evaluate_seconds": time.time() - start,
        "checksum": gene.checksum,
        **evolved,
    }


def evolution_key(config: GTLConfig) -> str:
    """What an evolution depends on: the whole config but its name, storage and the evaluation's
    episode count, shot counts and methods (the rest of `evaluation` shapes lifetimes and
    descendant fitness, so it stays in)."""
    raw = dataclasses.asdict(config)
    raw.pop("name"), raw.pop("storage")
    for key in ("episodes", "shots", "methods"):
        raw["evaluation"].pop(key)
    return hashlib.sha256(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()[:16]


def evolved_gene(setup: Setup, config: GTLConfig, splits) -> tuple[Any, dict[str, Any]]:
    """The final learngene of `config`'s evolution and its figures (compute, fitness curve,
    seconds), evolved in process or read back from `work/genes/<evolution_key>`: the matrix and
    the final table share evolutions that only their episode counts tell apart."""
    from gtl_ray.evolution import evolve_local
    from gtl_ray.learngene import Learngene

    base = Path(setup.work, "genes", evolution_key(config))
    gene_file, figures_file = base.with_suffix(".safetensors"), base.with_suffix(".json")
    if gene_file.exists() and figures_file.exists():
        return Learngene.load(str(gene_file)), json.loads(figures_file.read_text())
    start = time.time()
    result = evolve_local(config, splits=splits, cache_dir=f"{setup.work}/pretrained")
    figures = {"compute": result.compute, "curve": result.fitness, "evolve_seconds": time.time() - start}
    base.parent.mkdir(parents=True, exist_ok=True)
    result.final.save(str(gene_file))
    _write_atomic(figures_file, figures)
    return result.final, figures


def _cached(path: Path, fn, *args) -> dict[str, Any]:
    if path.exists():
        return json.loads(path.read_text())
    out = fn(*args)
    _write_atomic(path, out)
    return out


def _cached_episodes(work: str, name: str, episodes: int, fn, *args) -> dict[str, Any]:
    """`_cached` for a unit of `episodes` episodes stored as `work/name.format(episodes)`: a cached
    unit of the same name with fewer episodes is extended (`fn(..., first_episode=its count)`:
    episode i depends on the seed and i only) instead of being redone."""
    path = Path(work, name.format(episodes))
    if path.exists():
        return json.loads(path.read_text())
    prefix, suffix = name.split("{}")
    counts = [
        int(f.name[len(prefix) : -len(suffix)])
        for f in Path(work).glob(name.format("*"))
        if f.name[len(prefix) : -len(suffix)].isdigit()
    ]
    shorter = max((c for c in counts if c < episodes), default=0)
    if shorter:
        log.info("extending %s from %d to %d episodes", name.format(shorter), shorter, episodes)
        out = _concatenated(json.loads(Path(work, name.format(shorter)).read_text()), fn(*args, first_episode=shorter))
    else:
        out = fn(*args)
    _write_atomic(path, out)
    return out


def _concatenated(head: dict[str, Any], tail: dict[str, Any]) -> dict[str, Any]:
    """A unit's per-episode scores and instinct joined (head's episodes first), its evaluation
    seconds added; every other figure is the tail's (compute, checksum, shares: the same whatever
    the episodes, or new in the tail)."""

    def join(a: Any, b: Any) -> Any:
        return {k: join(a[k], v) for k, v in b.items()} if isinstance(b, dict) else list(a) + list(b)

    out = dict(tail)
    for part in ("scores", "instinct"):
        out[part] = join(head[part], tail[part])
    for key in ("seconds", "evaluate_seconds"):
        if key in tail:
            out[key] = head.get(key, 0.0) + tail[key]
    return out


def _write_atomic(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(value))
    tmp.replace(path)


def _slug(text: str) -> str:
    return text.replace("/", "_").replace("=", "-").replace(".", "_")


# ---------------------------------------------------------------- figures


def arm_figures(units: list[dict[str, Any]], base: dict[str, Any]) -> dict[str, Any]:
    """Mean over seeds, spread across seeds, paired differences (per episode, seed-averaged)."""
    out: dict[str, Any] = {"seeds": len(units)}
    for shots in map(str, SHOTS):
        per_seed = np.array([u["scores"][shots] for u in units])  # seeds x episodes
        averaged = per_seed.mean(0)
        out[f"{shots}-shot"] = float(averaged.mean())
        out[f"{shots}-shot seed spread"] = float(per_seed.mean(1).std(ddof=1)) if len(units) > 1 else 0.0
        out[f"{shots}-shot instinct"] = float(np.mean([u["instinct"][shots] for u in units]))
        for other in ("heuristic", "full", "narrow"):
            if other not in base["scores"]:
                continue
            mean, ci = mean_ci95(list(averaged - np.array(base["scores"][other][shots])))
            out[f"{shots}-shot vs {other}"] = (mean, ci)
        out["episodes"] = int(per_seed.shape[1])
    out["sample_grads"] = float(statistics.fmean(u["compute"]["total"] for u in units))
    out["wall_seconds"] = float(statistics.fmean(u["evolve_seconds"] for u in units))
    return out


def baseline_figures(base: dict[str, Any]) -> dict[str, dict[str, float]]:
    return {
        m: {f"{s}-shot": float(np.mean(v[s])) for s in v}
        | {f"{s}-shot instinct": float(np.mean(base["instinct"][m][s])) for s in v}
        for m, v in base["scores"].items()
    }


# ---------------------------------------------------------------- the run


CONTROLS = ("today", "p1", "rest", "equal")
NOVEL_BASELINES = ("scratch", "full", "heuristic", "narrow")  #: the final table's methods beside the learngene
DEFAULT_REST = (
    "heuristic, rest_init=default"  #: the heuristic at torch's default rest (its best on val), beside the winner's rest
)


def novel_figures(
    units: list[dict[str, Any]], base: dict[str, Any], seeded: dict[str, list[dict[str, Any]]] | None = None
) -> dict[str, Any]:
    """The final table on novel classes: every method's accuracy and instinct, and the winner's
    learngene (mean over seeds, spread across seeds) paired per episode against each. `seeded`:
    the methods that start from the learngene (learngene+aft), one unit per evolution seed, shown
    seed-averaged like the learngene itself."""
    out: dict[str, Any] = {
        "seeds": len(units),
        "episodes": len(units[0]["scores"]["5"]),
        "methods": {},
        "learngene": {},
        "seeded": sorted(seeded or {}),
    }
    rows = {m: (base["scores"][m], base["instinct"][m], 1) for m in base["scores"]}
    for m, per_seed_units in (seeded or {}).items():
        rows[m] = (
            {sh: list(np.mean([u["scores"][sh] for u in per_seed_units], 0)) for sh in map(str, SHOTS)},
            {sh: list(np.mean([u["instinct"][sh] for u in per_seed_units], 0)) for sh in map(str, SHOTS)},
            len(per_seed_units),
        )
    for shots in map(str, SHOTS):
        per_seed = np.array([u["scores"][shots] for u in units])
        averaged = per_seed.mean(0)
        out["learngene"][f"{shots}-shot"] = float(averaged.mean())
        out["learngene"][f"{shots}-shot seed spread"] = float(per_seed.mean(1).std(ddof=1)) if len(units) > 1 else 0.0
        out["learngene"][f"{shots}-shot per seed"] = [float(x) for x in per_seed.mean(1)]
        out["learngene"][f"{shots}-shot instinct"] = float(np.mean([u["instinct"][shots] for u in units]))
        out["learngene"][f"{shots}-shot finetune_sample_grads"] = float(
            np.mean([u.get("finetune", {}).get(shots, 0.0) for u in units])
        )
        for m, (scores, instinct, seeds) in rows.items():
            row = out["methods"].setdefault(m, {"seeds": seeds})
            row[f"{shots}-shot"] = float(np.mean(scores[shots]))
            row[f"{shots}-shot ci95"] = mean_ci95(list(scores[shots]))[1]
            row[f"{shots}-shot instinct"] = float(np.mean(instinct[shots]))
            # a method run from the first k seeds' learngenes is paired with those k learngenes
            reference = per_seed[:seeds].mean(0) if m in (seeded or {}) else averaged
            row[f"{shots}-shot learngene minus this"] = mean_ci95(list(reference - np.array(scores[shots])))
    out["learngene"]["sample_grads"] = float(statistics.fmean(u["compute"]["total"] for u in units))
    out["learngene"]["transferred_share"] = float(units[0].get("transferred", 0.0))
    for m, row in out["methods"].items():
        if m in (seeded or {}):
            first = seeded[m][0]
            row["preparation_sample_grads"] = out["learngene"]["sample_grads"] + first.get("preparation", 0)
            row["finetune_sample_grads"] = {
                sh: float(np.mean([u.get("finetune", {}).get(sh, 0.0) for u in seeded[m]])) for sh in map(str, SHOTS)
            }
            row["transferred_share"] = float(first.get("transferred", 0.0))
        else:
            key = m.split(",")[0]
            row["preparation_sample_grads"] = base["preparation"].get(key, 0)
            row["finetune_sample_grads"] = dict(base.get("finetune", {}).get(m, {}))
            row["transferred_share"] = float(base.get("transferred", {}).get(m, 0.0))
    return out


def run(
    data: list[str],
    seeds: list[int],
    quick: bool,
    workers: int,
    work: str,
    episodes: int,
    final_episodes: int,
    arms: list[Arm],
    extra: tuple[str, ...] = (),
    controls_wanted: tuple[str, ...] = CONTROLS,
    novel_episodes: int = 0,
    novel_methods: tuple[str, ...] = NOVEL_BASELINES,
    seeded_seeds: int = 0,
) -> dict[str, Any]:
    common = tuple(QUICK if quick else ()) + ("evaluation.shots=[1, 5]",) + tuple(extra)
    setups = {d: Setup(d, common, f"{work}/{d}") for d in data}
    results: dict[str, Any] = {
        "data": {},
        "protocol": {
            "seeds": seeds,
            "episodes": episodes,
            "final_episodes": final_episodes,
            "quick": quick,
            "classes": "val",
            "overrides": list(extra),
            "arms": [a.name for a in arms],
            "controls": list(controls_wanted),
            "novel_episodes": novel_episodes,
            "novel_methods": list(novel_methods),
            "seeded_seeds": seeded_seeds or len(seeds),
        },
    }
    seeded = [m for m in novel_methods if needs_learngene(m)]  # start from the learngene: a unit per evolution seed
    seeded_from = seeds[: seeded_seeds or len(seeds)]  # ... of these seeds
    with ProcessPoolExecutor(max_workers=workers) as pool:
        # 1-2: the matrix, and the winner chosen from it
        matrix_units = _collect(_submit_matrix(pool, setups, arms, seeds, episodes))
        for d in data:
            base = {
                part: matrix_units[(d, "baselines")][part] | matrix_units[(d, "narrow")].get(part, {})
                for part in ("scores", "instinct")
            }
            rows = {arm.name: arm_figures([matrix_units[(d, arm.name, s)] for s in seeds], base) for arm in arms}
            results["data"][d] = {"baselines": baseline_figures(base), "matrix": rows}
        winner = max(
            arms,
            key=lambda a: statistics.fmean(
                results["data"][d]["matrix"][a.name]["5-shot vs heuristic"][0] for d in data
            ),
        )
        results["winner"] = {
            "arm": winner.name,
            "overrides": list(winner.overrides),
            "chosen_by": "mean over data sets of the 5-shot paired difference vs heuristic on val classes",
        }
        # 3: the arms that matter, on more episodes; 4: the final table on novel classes with the
        # winner's settings (nothing is chosen from it). Its jobs go first: it matters most.
        controls = control_arms(winner, controls_wanted, setups)
        novel_jobs = (
            _submit_novel(pool, setups, winner, seeds, novel_episodes, novel_methods, seeded, seeded_from)
            if novel_episodes
            else {}
        )
        final_jobs = _submit_final(pool, setups, controls, seeds, final_episodes)
        equal_jobs = (
            _submit_equal(pool, setups, winner, seeds, final_episodes, matrix_units, results)
            if "equal" in controls_wanted
            else {}
        )
        novel, final_units, equal = _collect(novel_jobs), _collect(final_jobs), _collect(equal_jobs)
    _complete_baselines(final_units)
    for d in data:
        results["data"][d].update(
            _final_rows(d, setups[d], winner, controls, seeds, final_units, equal.get(d), equal.get((d, "narrow")))
        )
        if novel_episodes:
            results["data"][d]["novel"] = _novel_rows(d, seeds, novel_methods, seeded, seeded_from, novel)
    return results


def _collect(jobs: dict[Any, Any]) -> dict[Any, Any]:
    return {key: future.result() for key, future in jobs.items()}


def _submit_matrix(pool, setups: dict[str, Setup], arms: list[Arm], seeds: list[int], episodes: int) -> dict[Any, Any]:
    """Every arm from every seed on `episodes` val episodes, beside the baselines (and narrow)."""
    jobs = {}
    for d, setup in setups.items():
        jobs[(d, "baselines")] = pool.submit(
            _cached, Path(setup.work, f"baselines-{episodes}.json"), baseline_unit, setup, (), episodes
        )
        jobs[(d, "narrow")] = pool.submit(
            _cached,
            Path(setup.work, f"baselines-narrow-{episodes}.json"),
            baseline_unit,
            setup,
            (),
            episodes,
            None,
            ("narrow",),
        )
        for arm in arms:
            for seed in seeds:
                jobs[(d, arm.name, seed)] = pool.submit(
                    _cached,
                    Path(setup.work, f"{_slug(arm.name)}-s{seed}-e{episodes}.json"),
                    arm_unit,
                    setup,
                    arm,
                    seed,
                    episodes,
                )
    return jobs


def control_arms(winner: Arm, wanted: tuple[str, ...], setups: dict[str, Setup]) -> list[Arm]:
    """The winner and the controls of `wanted` (none wanted: none, the final table only)."""
    if not wanted:
        return []
    controls = [Arm("winner", winner.overrides)]
    if "today" in wanted:
        controls.append(
            Arm(
                "today's settings (lifetime fitness, lamarckian, random init, default rest)",
                next(a for a in matrix() if a.name == DEFAULT_ARM).overrides + ("evaluation.rest_init=default",),
            )
        )
    if "p1" in wanted:
        controls.append(
            Arm(
                "winner, P=1 (no selection)",
                winner.overrides
                + ("population.size=1", "evolution.elites=0", "evolution.tournament_size=1", "evolution.top_k=1"),
            )
        )
    if "rest" in wanted:
        own = rest_of(next(iter(setups.values())), winner)
        controls += [
            Arm(f"winner, rest_init={r}", winner.overrides + (f"evaluation.rest_init={r}",))
            for r in ("default", "scaled", "zero_cross")
            if r != own
        ]
    return controls


def _submit_novel(
    pool,
    setups: dict[str, Setup],
    winner: Arm,
    seeds: list[int],
    novel_episodes: int,
    novel_methods: tuple[str, ...],
    seeded: list[str],
    seeded_from: list[int],
) -> dict[Any, Any]:
    """The final table's units on novel classes: the winner's learngene (and the methods that
    start from it) per seed, and one unit per other method."""
    jobs = {}
    for d, setup in setups.items():
        rest = rest_of(setup, winner)
        for seed in seeds:
            for m in ("learngene", *(seeded if seed in seeded_from else ())):
                suffix = "" if m == "learngene" else f"-{_slug(m)}"
                jobs[(d, m, seed)] = pool.submit(
                    _cached_episodes,
                    setup.work,
                    f"novel-{_slug(','.join(winner.overrides))}-s{seed}-e{{}}{suffix}.json",
                    novel_episodes,
                    arm_unit,
                    setup,
                    winner,
                    seed,
                    novel_episodes,
                    "novel",
                    m,
                )
        for m in novel_methods:  # one unit per method: they run side by side and resume one by one
            if m not in seeded:
                jobs[(d, "method", m)] = pool.submit(
                    _cached_episodes,
                    setup.work,
                    f"novel-{rest}-{_slug(m)}-{{}}.json",
                    novel_episodes,
                    baseline_unit,
                    setup,
                    (f"evaluation.rest_init={rest}",),
                    novel_episodes,
                    None,
                    (m,),
                    "novel",
                )
        if rest != "default" and "heuristic" in novel_methods:
            jobs[(d, DEFAULT_REST)] = pool.submit(
                _cached_episodes,
                setup.work,
                "novel-heuristic-default-{}.json",
                novel_episodes,
                baseline_unit,
                setup,
                ("evaluation.rest_init=default",),
                novel_episodes,
                None,
                ("heuristic",),
                "novel",
            )
    return jobs


def _submit_final(
    pool, setups: dict[str, Setup], controls: list[Arm], seeds: list[int], final_episodes: int
) -> dict[Any, Any]:
    """The controls from every seed, and the baselines at each rest_init they use, on
    `final_episodes` val episodes (scratch and full do not depend on rest_init: other rests
    score the heuristic only), and `narrow` at the winner's rest."""
    jobs = {}
    for d, setup in setups.items():
        rests = tuple(dict.fromkeys(("default", *(rest_of(setup, a) for a in controls)))) if controls else ()
        for rest in rests:
            name = (
                f"baselines-{rest}-{final_episodes}.json"
                if rest == "default"
                else f"heuristic-{rest}-{final_episodes}.json"
            )
            jobs[(d, "baselines", rest)] = pool.submit(
                _cached,
                Path(setup.work, name),
                baseline_unit,
                setup,
                (f"evaluation.rest_init={rest}",),
                final_episodes,
                None,
                BASELINES if rest == "default" else ("heuristic",),
            )
        if controls:
            rest = rest_of(setup, controls[0])
            jobs[(d, "narrow", rest)] = pool.submit(
                _cached,
                Path(setup.work, f"narrow-{rest}-{final_episodes}.json"),
                baseline_unit,
                setup,
                (f"evaluation.rest_init={rest}",),
                final_episodes,
                None,
                ("narrow",),
            )
        for arm in controls:
            for seed in seeds:
                jobs[(d, arm.name, seed)] = pool.submit(
                    _cached,
                    Path(setup.work, f"final-{_slug(','.join(arm.overrides))}-s{seed}-e{final_episodes}.json"),
                    arm_unit,
                    setup,
                    arm,
                    seed,
                    final_episodes,
                )
    return jobs


def _submit_equal(
    pool,
    setups: dict[str, Setup],
    winner: Arm,
    seeds: list[int],
    final_episodes: int,
    matrix_units: dict[Any, Any],
    results: dict[str, Any],
) -> dict[Any, Any]:
    """The heuristic and `narrow` pre-trained for as many sample-gradients as the winner's
    evolutions spent (the matrix's, so their compute is known now), on `final_episodes` val
    episodes."""
    jobs = {}
    for d, setup in setups.items():
        spent = statistics.fmean(matrix_units[(d, winner.name, s)]["compute"]["total"] for s in seeds)
        epochs = max(1, round(spent / load_base_size(setup)))
        results["data"][d]["equal_compute_epochs"] = epochs
        rest = rest_of(setup, winner)
        jobs[d] = pool.submit(
            _cached,
            Path(setup.work, f"heuristic-equal-{rest}-{epochs}-{final_episodes}.json"),
            baseline_unit,
            setup,
            (f"evaluation.rest_init={rest}",),
            final_episodes,
            epochs,
        )
        jobs[(d, "narrow")] = pool.submit(
            _cached,
            Path(setup.work, f"narrow-equal-{rest}-{epochs}-{final_episodes}.json"),
            baseline_unit,
            setup,
            (f"evaluation.rest_init={rest}",),
            final_episodes,
            epochs,
            ("narrow",),
        )
    return jobs


def _complete_baselines(final_units: dict[Any, Any]) -> None:
    """Make each rest_init's baselines whole: another rest than default scored the heuristic
    only (scratch and full come from the default ones), and narrow was scored on its own."""
    for key in [k for k in final_units if k[1] == "baselines" and len(k) == 3 and k[2] != "default"]:
        default = final_units[(key[0], "baselines", "default")]
        for part in ("scores", "instinct"):
            final_units[key][part] = {m: default[part][m] for m in BASELINES if m != "heuristic"} | final_units[key][
                part
            ]
    for d, _, rest in [k for k in final_units if k[1] == "narrow"]:  # narrow joins the baselines of its rest
        for part in ("scores", "instinct"):
            final_units[(d, "baselines", rest)][part] |= final_units[(d, "narrow", rest)][part]


def _final_rows(
    d: str,
    setup: Setup,
    winner: Arm,
    controls: list[Arm],
    seeds: list[int],
    final_units: dict[Any, Any],
    equal: dict[str, Any] | None,
    equal_narrow: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """{"final": a row per control, "final_baselines": the baselines' figures} of data set `d`."""
    final = {
        arm.name: arm_figures(
            [final_units[(d, arm.name, s)] for s in seeds], final_units[(d, "baselines", rest_of(setup, arm))]
        )
        for arm in controls
    }
    baselines = {
        r: baseline_figures(final_units[(d, "baselines", r)])
        for r in ("default", "scaled", "zero_cross")
        if (d, "baselines", r) in final_units
    }
    if equal is not None:
        base = final_units[(d, "baselines", rest_of(setup, winner))]
        equal_base = {
            "scores": {"heuristic": equal["scores"]["heuristic"], "full": base["scores"]["full"]}
            | ({"narrow": equal_narrow["scores"]["narrow"]} if equal_narrow else {})
        }
        final["winner vs equal-compute heuristic"] = arm_figures(
            [final_units[(d, "winner", s)] for s in seeds], equal_base
        )
        baselines["equal-compute heuristic"] = baseline_figures(equal)
        if equal_narrow:
            baselines["equal-compute narrow"] = baseline_figures(equal_narrow)
    return {"final_baselines": baselines, "final": final}


def _novel_rows(
    d: str,
    seeds: list[int],
    novel_methods: tuple[str, ...],
    seeded: list[str],
    seeded_from: list[int],
    novel: dict[Any, Any],
) -> dict[str, Any]:
    """The final table of data set `d`: the learngene per seed against every other method."""
    parts = ("scores", "instinct", "finetune", "transferred", "preparation")
    base: dict[str, Any] = {part: {} for part in parts}
    units = [novel[(d, "method", m)] for m in novel_methods if (d, "method", m) in novel]
    if (d, DEFAULT_REST) in novel:
        other = novel[(d, DEFAULT_REST)]
        units.append(
            {
                part: {DEFAULT_REST: other[part]["heuristic"]}
                for part in parts
                if part != "preparation" and part in other
            }
        )
    for unit in units:
        for part in parts:
            base[part] |= unit.get(part, {})
    return novel_figures(
        [novel[(d, "learngene", s)] for s in seeds], base, {m: [novel[(d, m, s)] for s in seeded_from] for m in seeded}
    )


def rest_of(setup: Setup, arm: Arm) -> str:
    """The evaluation.rest_init an arm runs with (its override, else the config's)."""
    return setup.config(*arm.overrides).evaluation.rest_init


def load_base_size(setup: Setup) -> int:
    from gtl_ray.data import load_splits

    return len(load_splits(setup.config().data).base)


# ---------------------------------------------------------------- output


def _pm(pair: tuple[float, float]) -> str:
    return f"{100 * pair[0]:+.2f} ± {100 * pair[1]:.2f}"


def _share(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.1f}%"


def _per_episode(figures: dict[str, Any], key: str) -> str:
    values = [figures.get(key.format(s)) for s in SHOTS]
    return "" if any(v is None for v in values) or not any(values) else " / ".join(f"{v:,.0f}" for v in values)


def _final_table_lines(n: dict[str, Any], protocol: dict[str, Any], title: str) -> list[str]:
    """One data set's final table: every method on the same novel episodes, paired with the
    learngene."""
    lg = n["learngene"]
    lines = [
        f"{title} ({n['episodes']} episodes, the same for every method; learngene: mean of {n['seeds']} evolution seeds)",
        "",
        "| method | 1-shot | 5-shot | instinct 5-shot | learngene − this, 1-shot | learngene − this, 5-shot | transferred | preparation sample-grads | fine-tune sample-grads / episode (1 / 5-shot) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    lines.append(
        f"| **learngene** (seed spread 1/5-shot {100 * lg['1-shot seed spread']:.1f} / {100 * lg['5-shot seed spread']:.1f}; per seed 5-shot {', '.join(f'{100 * x:.1f}' for x in lg['5-shot per seed'])}) | {100 * lg['1-shot']:.2f} | {100 * lg['5-shot']:.2f} | {100 * lg['5-shot instinct']:.1f} | | | {_share(lg.get('transferred_share'))} | {lg['sample_grads']:.3g} (whole evolution) | {_per_episode(lg, '{}-shot finetune_sample_grads')} |"
    )
    for m, row in n["methods"].items():
        label = m
        if m in n.get("seeded", ()) and row["seeds"] < n["seeds"]:
            label = (
                f"{m} (seed {protocol['seeds'][0]}'s learngene only)"
                if row["seeds"] == 1
                else f"{m} (the first {row['seeds']} seeds' learngenes)"
            )
        elif m in n.get("seeded", ()) and row["seeds"] > 1:
            label = f"{m} (mean of {row['seeds']} seeds' learngenes)"
        lines.append(
            f"| {label} | {100 * row['1-shot']:.2f} ± {100 * row['1-shot ci95']:.2f} | {100 * row['5-shot']:.2f} ± {100 * row['5-shot ci95']:.2f} | {100 * row['5-shot instinct']:.1f} | {_pm(row['1-shot learngene minus this'])} | {_pm(row['5-shot learngene minus this'])} | {_share(row.get('transferred_share'))} | {row['preparation_sample_grads']:.3g} | {_per_episode(row.get('finetune_sample_grads', {}), '{}')} |"
        )
    return lines + [
        "",
        "± : 95% CI over episodes; learngene − this: paired per episode (a method run from some seeds' learngenes only is paired with those seeds' learngenes). transferred: share of the descendant's backbone parameters taken from the source (`sparse` fine-tunes densely from the magnitude-kept weights, SPDF-style; `aft` transfers features, not weights). "
        "Preparation: sample-gradients spent before any episode (pre-training, distillation; for the learngene and learngene+aft the whole evolution, its own pre-training included).",
    ]


def render_methods_page(results: dict[str, Any]) -> str:
    """Every registered method on each data set's novel classes (the final tables alone)."""
    p = results["protocol"]
    lines = [
        "# Every way to transfer 20%: the learngene beside the transfer-learning baselines",
        f"`{results.get('command', 'python benchmarks/efficacy.py --ablation')}` (the ablation's final tables; protocol: `benchmarks/ablation.py`). "
        f"The learngene is the ablation's winner on **val** classes (`{results['winner']['arm']}`, overrides {', '.join(p['overrides']) or 'none'}), evolved from seeds {', '.join(map(str, p['seeds']))}; "
        "every method is scored on the same 5-way **novel**-class episodes (nothing was chosen on them), 1- and 5-shot, accuracy in %.",
    ]
    for d, data in results["data"].items():
        if "novel" in data:
            lines += ["", *_final_table_lines(data["novel"], p, f"## {d}")]
    return "\n".join(lines) + "\n"


def render_markdown(results: dict[str, Any]) -> str:
    p = results["protocol"]
    lines = [
        f"# Ablation of the evolution options ({'quick' if p['quick'] else 'full'} profile)",
        f"All figures on **val** classes (settings are chosen here; novel classes appear only in each data set's final table, after the winner was chosen). "
        f"Learngene figures: mean over {len(p['seeds'])} evolution seeds ({', '.join(map(str, p['seeds']))}); spread = std of the per-seed means; "
        f"paired differences: per episode (learngene averaged over seeds) minus the baseline on the same episode, mean ± 95% CI over episodes. "
        f"Matrix: {p['episodes']} episodes; the arms that matter: {p['final_episodes']}. Accuracy in %, 5-way. Compute: sample-gradients of the whole evolution "
        f"(pre-training for `init: pretrained`, lifetimes, fitness, final selection).",
        f"Winner: `{results['winner']['arm']}` ({results['winner']['chosen_by']}).",
    ]
    for d, data in results["data"].items():
        lines += [
            f"## {d}",
            "Baselines (matrix episodes): "
            + ", ".join(f"{m} {100 * v['1-shot']:.1f} / {100 * v['5-shot']:.1f}" for m, v in data["baselines"].items())
            + " (1-shot / 5-shot)",
            "",
        ]
        if not data["final"]:
            lines += ["(No controls were run: `--controls` was empty.)", ""]
        else:
            lines += [
                "### The arms that matter",
                "",
                "| arm | 1-shot | 5-shot (spread) | 5-shot vs heuristic | 5-shot vs narrow | 5-shot vs full | 1-shot vs heuristic | instinct 5-shot | sample-grads | wall s |",
                "|---|---|---|---|---|---|---|---|---|---|",
            ]
            for name, f in data["final"].items():
                label = (
                    "winner vs **equal-compute** heuristic" + (" and narrow" if "5-shot vs narrow" in f else "")
                    if name.startswith("winner vs equal")
                    else name
                )
                versus_narrow = _pm(f["5-shot vs narrow"]) if "5-shot vs narrow" in f else ""
                lines.append(
                    f"| {label} | {100 * f['1-shot']:.2f} | {100 * f['5-shot']:.2f} ({100 * f['5-shot seed spread']:.1f}) | {_pm(f['5-shot vs heuristic'])} | {versus_narrow} | {_pm(f['5-shot vs full'])} | {_pm(f['1-shot vs heuristic'])} | {100 * f['5-shot instinct']:.1f} | {f['sample_grads']:.3g} | {f['wall_seconds']:.0f} |"
                )
            lines += [
                "",
                f"Baselines on these episodes (1-shot / 5-shot, instinct 5-shot); the equal-compute baselines pre-trained {data.get('equal_compute_epochs', '(not run)')} epochs:",
                "",
            ]
            for rest, figures in data["final_baselines"].items():
                lines.append(
                    f"- rest_init `{rest}`: "
                    + ", ".join(
                        f"{m} {100 * v['1-shot']:.1f} / {100 * v['5-shot']:.1f} ({100 * v['5-shot instinct']:.1f})"
                        for m, v in figures.items()
                    )
                )
        if "novel" in data:
            lines += [
                "",
                *_final_table_lines(
                    data["novel"], results["protocol"], "### Final table: **novel** classes, the winner's settings"
                ),
            ]
        lines += [
            "",
            "### The matrix",
            "",
            "| fitness / environment / write-back / init | 1-shot | 5-shot (spread) | 5-shot vs heuristic | 5-shot vs narrow | 5-shot vs full | instinct 5-shot | sample-grads | wall s |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for name, f in sorted(data["matrix"].items(), key=lambda kv: -kv[1]["5-shot vs heuristic"][0]):
            versus_narrow = _pm(f["5-shot vs narrow"]) if "5-shot vs narrow" in f else ""
            lines.append(
                f"| {name} | {100 * f['1-shot']:.2f} | {100 * f['5-shot']:.2f} ({100 * f['5-shot seed spread']:.1f}) | {_pm(f['5-shot vs heuristic'])} | {versus_narrow} | {_pm(f['5-shot vs full'])} | {100 * f['5-shot instinct']:.1f} | {f['sample_grads']:.3g} | {f['wall_seconds']:.0f} |"
            )
    return "\n".join(lines) + "\n"


def main(args) -> int:
    data = [d.strip() for d in args.data.split(",") if d.strip()]
    unknown = [d for d in data if d not in DATASETS]
    if unknown:
        raise SystemExit(f"--data: unknown data set(s) {unknown}; choose from {', '.join(DATASETS)}")
    seeds = [int(s) for s in args.seeds.split(",")]
    wanted = [a.strip() for a in args.arms.split(",") if a.strip()] if args.arms else []
    arms = [a for a in matrix(("random", "pretrained", "narrow")) if a.name in wanted] if wanted else matrix()
    missing = sorted(set(wanted) - {a.name for a in arms})
    if missing:
        raise SystemExit(f"--arms: unknown arm(s) {missing}; arms are FITNESS/ENV/WRITE-BACK/INIT, e.g. {DEFAULT_ARM}")
    started = time.time()
    episodes, final_episodes = (10, 10) if args.quick else (args.episodes, args.final_episodes)
    controls = tuple(c.strip() for c in args.controls.split(",") if c.strip())
    if set(controls) - set(CONTROLS):
        raise SystemExit(
            f"--controls: unknown control(s) {sorted(set(controls) - set(CONTROLS))}; choose from {', '.join(CONTROLS)}"
        )
    novel_episodes = (10 if args.quick else args.novel_episodes) if args.novel_episodes else 0
    novel_methods = (
        tuple(m for m in list_methods() if m != "learngene")
        if args.novel_methods == "all"
        else tuple(m.strip() for m in args.novel_methods.split(",") if m.strip())
    )
    unknown = sorted(set(novel_methods) - set(list_methods()) | ({"learngene"} & set(novel_methods)))
    if unknown:
        raise SystemExit(
            f"--novel-methods: unknown or implied method(s) {unknown}; choose from {', '.join(m for m in list_methods() if m != 'learngene')} or all (the learngene is always in)"
        )
    results = run(
        data,
        seeds,
        args.quick,
        args.workers,
        args.work,
        episodes,
        final_episodes,
        arms,
        tuple(args.set),
        controls,
        novel_episodes,
        novel_methods,
        args.seeded_seeds,
    )
    results["wall_seconds"] = time.time() - started
    results["command"] = shlex.join(["python", "benchmarks/efficacy.py", *sys.argv[1:]])
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    md = render_markdown(results)
    out.with_suffix(".md").write_text(md)
    if args.methods_page and novel_episodes:
        page = Path(args.methods_page)
        page.write_text(
            json.dumps(
                {
                    "protocol": results["protocol"],
                    "winner": results["winner"],
                    "command": results["command"],
                    "data": {d: {"novel": v["novel"]} for d, v in results["data"].items() if "novel" in v},
                },
                indent=1,
            )
        )
        page.with_suffix(".md").write_text(render_methods_page(results))
    print(md)
    return 0
