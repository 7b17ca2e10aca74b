"""Systems benchmark: where a generation's time and bytes go in gtl_ray, measured side by side.

    python benchmarks/systems.py [--config configs/quickstart.yaml] [--set key=value ...]
        [--quick | --tiny] [--gpu] [--out benchmarks/results/systems.json]

Everything runs on one local Ray started here (`address="local"`) with `--num-cpus` logical CPUs
(default: the largest population of the sweep, 16). On a 2-core machine most of them are fake: a
member holds 1 logical CPU and 1 torch thread, so P members run concurrently and share the real
cores. That measures Ray/Tune's scheduling overhead at P members faithfully; it stretches
lifetimes (counted as lifetime, not overhead). Models are tiny and lifetimes short on purpose:
the overhead share is then an upper bound for real runs.

Measured (keys of the JSON):
- `generation_split`, `overhead_share`: per P in the sweep, a generation's wall time split into the
  longest lifetime, tournament + post (`timing.selection`), object store hand-off (from a
  put/get/actor-call micro-benchmark of one learngene) and the rest (Tune result handling,
  waiting); checkpoint writes run in the background and are listed apart. overhead_share =
  1 - lifetime_max / wall, the mean over generations 1.. (generation 0 includes actor start-up).
- `ray_vs_local`, `ray_vs_local_time_ratio`: `evolve` on Ray / `evolve_local` in process, the same
  run at the config's own lifetimes (the quickstart's: 20 steps of 25 images), per generation
  (1..) and whole run; `ray_vs_local_tiny`: the same at the tiny lifetimes of the sweep (2 steps),
  where the service's fixed cost is most of a generation.
- `handoff_*_ratio_vs_pbt`: gtl_ray's learngene hand-off vs Tune's stock
  `PopulationBasedTraining(synch=True)` exploit on the same population, model and lifetime
  (a Trainable that checkpoints its full state_dict). Lower is better.
- `checkpoint_bytes_ratio`: one generation's gtl_ray checkpoint vs all members' full state_dicts.
- `object_store_bytes`: object store memory in use after each of 50 generations (must be flat).
- `tell_post`: ending a generation at large P with the config's evolution options and genes of its
  shape (`benchmarks/tell_cost.py`): `Strategy.tell` and the post (the next parents made available),
  medians per generation, in process for every P of the profile (`in_process`) and through the pool
  actor on Ray, its timing.selection and timing.post (`through_pool`); beside them (`beside_s`)
  what is done off that path: the moves of reptile parents (in process) and the pool's puts of
  genes as they arrive (through the pool).
- `fitness_cost`: seconds a member spends scoring its gene with `descendant` / `instinct` fitness
  on top of its lifetime, at the config's own settings (the quickstart's by default), for a
  member that carries an inherited gene (as from generation 1 on), with the sample-gradients of
  each: descendant fitness costs about its share of sample-gradients, fitness_episodes x steps x
  support images against the lifetime's epochs x training images.
- `gpu`: with `--gpu` on a machine with CUDA, members' device and training samples/s.
- `startup`: what a run spends before its generations, apart: `ray_start_s` (the benchmark's own
  `ray.init` of a local Ray with `--num-cpus` CPUs), and per sweep run (`runs`, by P) the figures
  `evolve` reports (`RunOutcome.startup`): joining the running Ray, generation 0's gene, placing
  every member actor (resources, process, torch and Tune imports, setup) and the first
  generation, beside the run's wall time and its mean generation (generations 1..).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import shlex
import shutil
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import ray  # noqa: E402
import safetensors.torch  # noqa: E402
import torch  # noqa: E402
from ray import tune  # noqa: E402

from benchmarks import tell_cost  # noqa: E402
from gtl_ray import report  # noqa: E402
from gtl_ray.config import GTLConfig, from_dict  # noqa: E402
from gtl_ray.data import ImageSet, load_splits, sample_task  # noqa: E402
from gtl_ray.evolution import evolve_local  # noqa: E402
from gtl_ray.evolution.lifetime import lifetime_settings, newborn  # noqa: E402
from gtl_ray.learngene import Learngene, extract_learngene  # noqa: E402
from gtl_ray.preflight import load_config  # noqa: E402
from gtl_ray.run.store import RunStore  # noqa: E402
from gtl_ray.seeding import numpy_rng  # noqa: E402
from gtl_ray.service.pool import NAMESPACE  # noqa: E402
from gtl_ray.service.run import evolve  # noqa: E402
from gtl_ray.torch_streams import torch_generator  # noqa: E402
from gtl_ray.training import accuracy, fit  # noqa: E402

log = logging.getLogger("benchmarks.systems")
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "systems.json"
#: a tiny model and a short lifetime: overhead is what is measured
TINY_RUN = (
    "model.width=0.125",
    "population.cpus_per_member=1",
    "evolution.tournament_size=2",
    "lifetime.epochs=1",
    "lifetime.train_per_class=10",
    "lifetime.query_per_class=5",
    "data.num_classes=40",
    "data.images_per_class=20",
    "data.splits={base: 20, val: 5, novel: 10}",
    "evaluation.shots=[1]",
    "evaluation.query=5",
)


@dataclass(frozen=True)
class Profile:
    name: str
    sweep: tuple[int, ...] = (4, 8, 16)  #: population sizes P of the overhead sweep
    generations: int = 6  #: per run of the sweep and of the side-by-side comparisons
    compare_population: int = 4
    store_generations: int = 50
    tell_populations: tuple[int, ...] = (16, 64, 256, 1024)  #: P of the tell + post rows, in process
    tell_pool_population: int = 256  #: P of the tell + post row through the pool on Ray
    tell_generations: int = 4


PROFILES = {
    "full": Profile("full", generations=12, store_generations=200, tell_generations=8),
    "quick": Profile("quick"),
    "tiny": Profile(
        "tiny",
        sweep=(2, 4),
        generations=2,
        compare_population=2,
        store_generations=4,
        tell_populations=(4, 16),
        tell_pool_population=16,
        tell_generations=2,
    ),
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", default=str(ROOT / "configs" / "quickstart.yaml"))
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="config override (repeatable; wins over the tiny-run settings)",
    )
    p.add_argument("--quick", action="store_true", help="a few minutes on 2 CPU cores")
    p.add_argument("--tiny", action="store_true", help="smoke test of every measurement")
    p.add_argument(
        "--gpu", action="store_true", help="also measure members on GPUs (skipped when CUDA is not available)"
    )
    p.add_argument("--num-cpus", type=int, help="logical CPUs of the local Ray (default: max(sweep P, real cores))")
    p.add_argument("--out", default=str(DEFAULT_OUT))
    return p.parse_args(argv)


def mean_after_first(values: list[float]) -> float:
    """Mean over generations 1.. (generation 0 pays for actor start-up); all if only one."""
    values = values[1:] or values
    return float(statistics.fmean(values))


def gene_bytes(gene: Learngene) -> int:
    return int(sum(v.nbytes for v in gene.tensors.values()))


def state_bytes(model: torch.nn.Module) -> int:
    return len(safetensors.torch.save({k: v.contiguous() for k, v in model.state_dict().items()}))


# ------------------------------------------------------------------ gtl_ray runs


def run_gtl(config: GTLConfig) -> tuple[dict[str, Any], float, dict[str, float | None]]:
    """Evolve on Ray; returns (manifest, wall seconds, start-up figures: `RunOutcome.startup`)."""
    start = time.perf_counter()
    outcome = evolve(config, overwrite=True)
    wall = time.perf_counter() - start
    return dataclasses.asdict(RunStore(config.storage, config.name).read_manifest()), wall, outcome.startup


def ray_vs_local(config: GTLConfig) -> tuple[dict[str, Any], dict[str, Any]]:
    """The same run on Ray and by `evolve_local`: wall and mean generation (1..) of each, and the
    Ray run's manifest."""
    manifest, ray_wall, _ = run_gtl(config)
    stamps = [time.perf_counter()]
    evolve_local(config, on_generation=lambda g, fitness: stamps.append(time.perf_counter()))
    local_generation = mean_after_first(np.diff(stamps).tolist())  # the first includes loading data
    ray_generation = mean_after_first([g["timing"]["wall"] for g in manifest["generations"]])
    figures = {
        "ray_wall_s": ray_wall,
        "local_wall_s": stamps[-1] - stamps[0],
        "ray_generation_wall_s": ray_generation,
        "ray_lifetime_max_s": mean_after_first([g["timing"]["lifetime_max"] for g in manifest["generations"]]),
        "local_generation_wall_s": local_generation,
        "generation_ratio": ray_generation / local_generation,
        "ideal_ratio": 1 / min(config.population.size, os.cpu_count() or 1),
        "lifetime_steps": lifetime_steps(config),
    }
    return figures, manifest


def lifetime_steps(config: GTLConfig) -> int:
    """Optimizer steps in one lifetime (epochs of n_way x train_per_class images in batches)."""
    images = config.lifetime.n_way * config.lifetime.train_per_class
    return config.lifetime.epochs * -(-images // config.lifetime.batch_size)


def object_store_costs(gene: Learngene, repeats: int = 20) -> dict[str, float]:
    """Seconds for one learngene: ray.put, ray.get, and an actor call that takes it by value."""

    @ray.remote(num_cpus=0)
    class Sink:
        def take(self, gene: Learngene) -> int:
            return len(gene.tensors)

    sink = Sink.remote()
    ray.get(sink.take.remote(gene))
    t0 = time.perf_counter()
    refs = [ray.put(gene) for _ in range(repeats)]
    t1 = time.perf_counter()
    for ref in refs:
        ray.get(ref)
    t2 = time.perf_counter()
    ray.get([sink.take.remote(gene) for _ in range(repeats)])
    t3 = time.perf_counter()
    ray.kill(sink)
    return {
        "put_s": (t1 - t0) / repeats,
        "get_s": (t2 - t1) / repeats,
        "submit_call_s": (t3 - t2) / repeats,
        "gene_bytes": gene_bytes(gene),
    }


def generation_split(manifest: dict[str, Any], store: dict[str, float]) -> dict[str, Any]:
    """Mean seconds per generation (generations 1..) by where they go, and the overhead share."""
    timing = [g["timing"] for g in manifest["generations"]]
    population = manifest["population"]
    wall = mean_after_first([t["wall"] for t in timing])
    lifetime = mean_after_first([t["lifetime_max"] for t in timing])
    selection = mean_after_first([t["selection"] for t in timing])
    # Critical path: a member fetches its parent and submits its gene; the pool puts P genes in turn.
    hand_off = store["get_s"] + store["submit_call_s"] + population * store["put_s"]
    checkpoints = [t["checkpoint"] for t in timing if "checkpoint" in t]
    return {
        "population": population,
        "wall_s": wall,
        "lifetime_max_s": lifetime,
        "selection_s": selection,
        "object_store_s": hand_off,
        "other_scheduling_s": max(0.0, wall - lifetime - selection - hand_off),
        "checkpoint_background_s": mean_after_first(checkpoints) if checkpoints else None,
        "overhead_share": mean_after_first([1 - t["lifetime_max"] / t["wall"] for t in timing]),
    }


def checkpoint_bytes(config: GTLConfig, run_dir: str) -> dict[str, Any]:
    """One generation's files vs a checkpoint of every member's full state_dict."""
    folder = Path(run_dir) / "generations" / "0001"
    if not folder.is_dir():
        folder = Path(run_dir) / "generations" / "0000"
    gtl = sum(f.stat().st_size for f in folder.iterdir())
    full = config.population.size * state_bytes(newborn(config, 0, 0))
    return {
        "gtl_generation_bytes": gtl,
        "full_population_bytes": full,
        "checkpoint_bytes_ratio": gtl / full,
        "manifest_bytes": (Path(run_dir) / "manifest.json").stat().st_size,
        "lineage_bytes": (Path(run_dir) / "lineage.parquet").stat().st_size,
    }


# ------------------------------------------------------------------ stock PBT side


class PBTMember(tune.Trainable):
    """Stock-PBT counterpart of a gtl_ray member: the same ancestry network learns one fresh
    environment per step (the same lifetime), is kept across steps, and checkpoints its whole
    state_dict, which PBT's exploit clones into the losers. Logs every step, save and restore."""

    def setup(self, config: dict[str, Any], data: dict[str, Any] | None = None) -> None:
        self.base = ImageSet.from_arrays(data)
        torch.set_num_threads(1)
        self.reset_config(config)

    def step(self) -> dict[str, Any]:
        start = time.perf_counter()
        life, generation = self.gtl.lifetime, self.iteration
        rng_key = (self.trial_id, generation)  # PBT's exploit replaces the config, so key by trial
        task = sample_task(
            self.base,
            life.n_way,
            life.train_per_class,
            life.query_per_class,
            numpy_rng(self.gtl.seed, "pbt-env", *rng_key),
        )
        fit(
            self.model,
            task.support_x,
            task.support_y,
            lifetime_settings(self.gtl),
            torch_generator(self.gtl.seed, "pbt-life", *rng_key),
        )
        fitness = accuracy(self.model, task.query_x, task.query_y)
        self._log("step", generation=generation, lifetime_s=time.perf_counter() - start)
        return {"fitness": fitness, "generation": generation}

    def save_checkpoint(self, checkpoint_dir: str) -> None:
        data = safetensors.torch.save(
            {k: v.contiguous() for k, v in self.model.state_dict().items()}, metadata={"trial": self.trial_id}
        )
        Path(checkpoint_dir, "model.safetensors").write_bytes(data)
        self._log("save", bytes=len(data))

    def load_checkpoint(self, checkpoint_dir: str) -> None:
        data = Path(checkpoint_dir, "model.safetensors").read_bytes()
        source = json.loads(data[8 : 8 + int.from_bytes(data[:8], "little")])["__metadata__"]["trial"]
        self.model.load_state_dict(safetensors.torch.load(data))
        self._log("restore", bytes=len(data), exploit=source != self.trial_id)

    def reset_config(self, new_config: dict[str, Any]) -> bool:
        """Fresh network for the (new) trial; a restore then overwrites it."""
        self.gtl = from_dict(new_config["gtl"])
        self.log_path = new_config["log"]
        self.model = newborn(self.gtl, 0, int(new_config["member"]))
        return True

    def _log(self, event: str, **fields: Any) -> None:
        with open(self.log_path, "a") as handle:
            handle.write(json.dumps({"event": event, "trial": self.trial_id, "time": time.time(), **fields}) + "\n")


def run_pbt(config: GTLConfig, base: ImageSet, workdir: str) -> dict[str, Any]:
    """Stock synchronous PBT on the same population, model, lifetime and generations."""
    from ray.tune.schedulers import PopulationBasedTraining

    log_path = os.path.join(workdir, "pbt-events.jsonl")
    scheduler = PopulationBasedTraining(
        time_attr="training_iteration",
        metric="fitness",
        mode="max",
        perturbation_interval=1,
        quantile_fraction=0.25,
        synch=True,
        custom_explore_fn=lambda c: c,
    )
    trainable = tune.with_resources(
        tune.with_parameters(PBTMember, data=base.to_arrays()), {"cpu": config.population.cpus_per_member}
    )
    tuner = tune.Tuner(
        trainable,
        param_space={
            "gtl": config.to_dict(),
            "member": tune.grid_search(list(range(config.population.size))),
            "log": log_path,
        },
        tune_config=tune.TuneConfig(scheduler=scheduler, reuse_actors=True),
        run_config=tune.RunConfig(
            name="pbt", storage_path=workdir, stop={"training_iteration": config.evolution.generations}, verbose=0
        ),
    )
    start = time.perf_counter()
    tuner.fit()
    wall = time.perf_counter() - start
    events = [json.loads(line) for line in Path(log_path).read_text().splitlines()]
    steps = [e for e in events if e["event"] == "step"]
    generations = config.evolution.generations
    ends = [max(e["time"] for e in steps if e["generation"] == g) for g in range(generations)]
    lifetimes = [max(e["lifetime_s"] for e in steps if e["generation"] == g) for g in range(generations)]
    exploits = [e for e in events if e["event"] == "restore" and e["exploit"]]
    io = sum(e["bytes"] for e in events if e["event"] in ("save", "restore"))
    gaps = [ends[g] - ends[g - 1] for g in range(1, generations)] or [wall]
    return {
        "wall_s": wall,
        "generation_wall_s": float(statistics.fmean(gaps)),
        "lifetime_max_s": mean_after_first(lifetimes),
        "exploits": len(exploits),
        "exploit_bytes_per_generation": sum(e["bytes"] for e in exploits) / max(1, generations - 1),
        "checkpoint_io_bytes_per_generation": io / max(1, generations - 1),
        "full_state_bytes": max((e["bytes"] for e in events if e["event"] == "save"), default=0),
    }


# ------------------------------------------------------------------ object store, scheduler


def store_bytes_used(state: Any) -> int:
    """Object store bytes in use on the cluster (what `ray memory --stats-only` prints)."""
    from ray._private.internal_api import get_memory_info_reply

    return int(get_memory_info_reply(state).store_stats.object_store_bytes_used)


def object_store_over_generations(config: GTLConfig) -> dict[int, int]:
    """{generation count: object store bytes in use once the manifest counts it}, polled while
    the run goes (a generation that completes between two polls is not sampled)."""
    from ray._private.internal_api import get_state_from_address

    state = get_state_from_address(ray.get_runtime_context().gcs_address)
    store = RunStore(config.storage, config.name)
    samples: dict[int, int] = {}
    done = threading.Event()

    def poll() -> None:
        while not done.is_set():
            try:
                completed = store.read_manifest().done if store.exists() else 0
            except Exception:  # the manifest is being replaced: read it next time
                completed = 0
            if completed and completed not in samples:
                samples[completed] = store_bytes_used(state)
            time.sleep(0.005)

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    try:
        evolve(config, overwrite=True)
    finally:
        done.set()
        thread.join()
    samples.setdefault(config.evolution.generations, store_bytes_used(state))
    return dict(sorted(samples.items()))


def flatness(generations: list[int], used: list[int], tolerance: int) -> dict[str, Any]:
    """Growth of object store use over the run from a least-squares line (the raw series is a
    saw-tooth: Ray frees released objects in batches); flat when it grows less than `tolerance`."""
    slope = float(np.polyfit(generations, used, 1)[0]) if len(used) > 1 else 0.0
    growth = slope * (generations[-1] - generations[0]) if len(used) > 1 else 0.0
    return {
        "min": min(used),
        "max": max(used),
        "fitted_growth_bytes": growth,
        "tolerance_bytes": tolerance,
        "flat": abs(growth) <= tolerance,
    }


def tell_post(args: argparse.Namespace, profile: Profile, workdir: str) -> dict[str, Any]:
    """tell + post per generation (`benchmarks/tell_cost.py`) with the config's own evolution options
    and gene shape (the tiny-run settings only under --tiny), in process and through the pool."""
    settings = (list(TINY_RUN) if profile.name == "tiny" else []) + list(args.set) + [f"storage={workdir}"]

    def config(name: str, P: int) -> GTLConfig:
        return load_config(args.config, settings + [f"name={name}-{P}", f"population.size={P}"])

    rows: dict[str, Any] = {"in_process": {}, "through_pool": {}}
    for P in profile.tell_populations:
        log.info("tell + post in process, P=%d", P)
        rows["in_process"][str(P)] = tell_cost.medians(
            tell_cost.in_process(config("tell", P), profile.tell_generations)
        )
    P = profile.tell_pool_population
    log.info("tell + post through the pool, P=%d", P)
    rows["through_pool"][str(P)] = tell_cost.medians(
        tell_cost.through_pool(config("pool", P), profile.tell_generations)
    )
    return rows


def fitness_cost(config: GTLConfig, members: int) -> dict[str, Any]:
    """Seconds a member spends in its lifetime and, on top, scoring its gene by `descendant` or
    `instinct` fitness, at the config's settings (in process, one thread: the member's work)."""
    from gtl_ray.evolution.fitness import member_fitness
    from gtl_ray.evolution.lifetime import live, newborn
    from gtl_ray.learngene import extract_learngene

    torch.set_num_threads(1)
    base = load_splits(config.data).base
    # Members carry an inherited gene from generation 1 on (from 0 with evolution.init pretrained
    # or narrow), its rest started per evaluation.rest_init, as fitness descendants are.
    inherited = extract_learngene(newborn(config, 0, members), config.learngene.share)
    lifetime_config = dataclasses.replace(config, evolution=dataclasses.replace(config.evolution, fitness="lifetime"))
    out: dict[str, Any] = {
        "members": members,
        "fitness_episodes": config.evolution.fitness_episodes,
        "fitness_shots": config.evolution.fitness_shots,
        "evaluation_steps": config.evaluation.steps,
    }
    lifetimes, scores, grads = (
        [],
        {"descendant": [], "instinct": []},
        {"lifetime": [], "descendant": [], "instinct": []},
    )
    for m in range(members):
        outcome = live(lifetime_config, base, 1, m, inherited)
        lifetimes.append(outcome.seconds)
        grads["lifetime"].append(outcome.lifetime_sample_grads)
        for mode in scores:
            scored = dataclasses.replace(config, evolution=dataclasses.replace(config.evolution, fitness=mode))
            start = time.perf_counter()
            score = member_fitness(scored, base, 1, outcome.gene, outcome.lifetime_accuracy)
            scores[mode].append(time.perf_counter() - start)
            grads[mode].append(score.sample_grads)
    out["lifetime_s"] = float(statistics.fmean(lifetimes))
    out["lifetime_sample_grads"] = float(statistics.fmean(grads["lifetime"]))
    for mode, seconds in scores.items():
        out[f"{mode}_fitness_s"] = float(statistics.fmean(seconds))
        out[f"{mode}_extra_share"] = out[f"{mode}_fitness_s"] / out["lifetime_s"]
        out[f"{mode}_sample_grads"] = float(statistics.fmean(grads[mode]))
    return out


def gpu_variant(configure: Callable[..., GTLConfig], population: int, generations: int) -> dict[str, Any]:
    """Members on GPUs (a fraction each): the device they trained on and samples/s, vs CPU."""
    if not torch.cuda.is_available():
        return {
            "skipped": True,
            "reason": "no CUDA GPU visible to torch on this machine (torch.cuda.is_available() is False)",
        }
    runs = {}
    for device, extra in (("cpu", []), ("cuda", [f"population.gpus_per_member={1 / population}"])):
        cfg = configure(f"gpu-{device}", population, generations, *extra)
        manifest, wall, _ = run_gtl(cfg)
        lineage = RunStore(cfg.storage, cfg.name).load_lineage(manifest)
        results = [
            json.loads(line)
            for f in Path(cfg.storage, cfg.name).glob("tune-from-*/*/result.json")
            for line in f.read_text().splitlines()
            if line.strip()
        ]
        samples = cfg.lifetime.n_way * cfg.lifetime.train_per_class * cfg.lifetime.epochs
        runs[device] = {
            "devices_seen": sorted({r.get("device") for r in results if "device" in r}),
            "samples_per_s_per_member": statistics.fmean(
                samples / r.lifetime_seconds for r in lineage if r.generation > 0
            ),
            "wall_s": wall,
        }
    return {"skipped": False, "gpus": torch.cuda.device_count(), **runs}


# ------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)
    profile = PROFILES["tiny" if args.tiny else "quick" if args.quick else "full"]
    started = time.time()
    workdir = tempfile.mkdtemp(prefix="gtl-systems-")
    base = list(TINY_RUN) + list(args.set) + [f"storage={workdir}"]

    def configure(name: str, population: int, generations: int, *extra: str) -> GTLConfig:
        return load_config(
            args.config,
            base + [f"name={name}", f"population.size={population}", f"evolution.generations={generations}", *extra],
        )

    out: dict[str, Any] = {
        "benchmark": "systems",
        "profile": profile.name,
        "profile_settings": asdict(profile),
        "command": shlex.join(["python", "benchmarks/systems.py"] + list(sys.argv[1:] if argv is None else argv)),
    }
    out["machine"] = report.machine_description()
    out["code"] = report.code_version(ROOT)
    num_cpus = args.num_cpus or max(max(profile.sweep), os.cpu_count() or 1)
    out["ray_logical_cpus"] = num_cpus
    out["note"] = (
        f"{num_cpus} logical CPUs on {os.cpu_count()} real cores: members of 1 CPU run concurrently and share the cores; lifetimes stretch, overhead is measured as is."
    )
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, namespace=NAMESPACE, log_to_driver=False)
    out["startup"] = {"ray_start_s": time.perf_counter() - clock, "runs": {}}
    try:
        clock = time.time()
        compare = configure("compare", profile.compare_population, profile.generations)
        store = object_store_costs(extract_learngene(newborn(compare, 0, 0), compare.learngene.share))
        out["object_store_costs"] = store
        out["generation_split"], out["overhead_share"] = {}, {}
        for P in profile.sweep:
            log.info("overhead sweep: P=%d", P)
            manifest, wall, startup = run_gtl(configure(f"sweep-{P}", P, profile.generations))
            split = generation_split(manifest, store)
            out["generation_split"][str(P)], out["overhead_share"][str(P)] = split, split["overhead_share"]
            out["startup"]["runs"][str(P)] = {**startup, "wall_s": wall, "generation_wall_s": split["wall_s"]}
        timings["sweep"] = time.time() - clock

        clock = time.time()
        log.info("Ray vs in process at the quickstart's lifetimes, P=%d", compare.population.size)
        quickstart = load_config(  # the config's own lifetimes (the tiny profile keeps its tiny ones)
            args.config,
            (list(TINY_RUN) if profile.name == "tiny" else [])
            + list(args.set)
            + [f"storage={workdir}", "name=compare-quickstart", f"population.size={compare.population.size}"]
            + [f"evolution.generations={profile.generations}"],
        )
        out["ray_vs_local"], _ = ray_vs_local(quickstart)
        out["ray_vs_local_time_ratio"] = out["ray_vs_local"]["ray_wall_s"] / out["ray_vs_local"]["local_wall_s"]
        log.info("Ray vs in process at tiny lifetimes, P=%d", compare.population.size)
        out["ray_vs_local_tiny"], manifest = ray_vs_local(compare)
        ray_generation = out["ray_vs_local_tiny"]["ray_generation_wall_s"]
        out.update(checkpoint_bytes(compare, os.path.join(workdir, compare.name)))
        timings["ray_vs_local"] = time.time() - clock

        clock = time.time()
        log.info("stock PBT(synch=True), P=%d", compare.population.size)
        pbt = run_pbt(compare, load_splits(compare.data).base, workdir)
        gene_size = store["gene_bytes"]
        gtl_handoff = compare.population.size * gene_size  # every member fetches its parent's gene
        out["pbt"] = pbt
        out["gtl_handoff"] = {
            "gene_bytes": gene_size,
            "parent_bytes_per_generation": gtl_handoff,
            "io_bytes_per_generation": 2 * gtl_handoff,
            "generation_wall_s": ray_generation,
        }
        out["handoff_bytes_ratio_vs_pbt"] = (
            gtl_handoff / pbt["exploit_bytes_per_generation"] if pbt["exploit_bytes_per_generation"] else None
        )
        out["handoff_io_bytes_ratio_vs_pbt"] = (
            2 * gtl_handoff / pbt["checkpoint_io_bytes_per_generation"]
            if pbt["checkpoint_io_bytes_per_generation"]
            else None
        )
        out["handoff_time_ratio_vs_pbt"] = ray_generation / pbt["generation_wall_s"]
        gtl_overhead = ray_generation - mean_after_first([g["timing"]["lifetime_max"] for g in manifest["generations"]])
        out["gtl_handoff"]["generation_overhead_s"] = gtl_overhead
        out["handoff_overhead_ratio_vs_pbt"] = gtl_overhead / (pbt["generation_wall_s"] - pbt["lifetime_max_s"])
        timings["pbt"] = time.time() - clock

        clock = time.time()
        log.info("object store over %d generations", profile.store_generations)
        samples = object_store_over_generations(
            configure("store", profile.compare_population, profile.store_generations)
        )
        out["object_store_bytes"], out["object_store_generations"] = list(samples.values()), list(samples)
        out["object_store_flat"] = flatness(
            out["object_store_generations"], out["object_store_bytes"], 2 * profile.compare_population * gene_size
        )
        timings["object_store"] = time.time() - clock

        clock = time.time()
        out["tell_post"] = tell_post(args, profile, workdir)
        timings["tell_post"] = time.time() - clock

        clock = time.time()
        fitness_config = load_config(
            args.config, (list(TINY_RUN) if profile.name == "tiny" else []) + list(args.set) + [f"storage={workdir}"]
        )
        log.info("fitness cost at %s's settings", Path(args.config).name)
        out["fitness_cost"] = fitness_cost(fitness_config, 2 if profile.name == "tiny" else 4)
        timings["fitness_cost"] = time.time() - clock

        out["gpu"] = (
            gpu_variant(configure, profile.compare_population, profile.generations)
            if args.gpu
            else {"skipped": True, "reason": "not requested (pass --gpu on a machine with CUDA GPUs)"}
        )
    finally:
        ray.shutdown()
        shutil.rmtree(workdir, ignore_errors=True)
    print(write_outputs(Path(args.out), out, timings, started))
    return 0


def write_outputs(
    path: Path,
    out: dict[str, Any],
    timings: dict[str, float],
    started: float,
    render: Callable[[dict[str, Any]], str] | None = None,
) -> str:
    """Close the record (total time, load at the end), write the JSON and the Markdown page
    (`render`, this benchmark's by default) beside it; returns the page."""
    timings["total"] = out["wall_seconds"] = time.time() - started
    out["timings"] = timings
    out["machine"]["load_average_1min_at_end"] = report.machine_description()["load_average_1min"]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1))
    md = (render or render_markdown)(out)
    path.with_suffix(".md").write_text(md)
    return md


def render_markdown(out: dict[str, Any]) -> str:
    m = out["machine"]
    split_rows = [
        [
            P,
            f"{s['wall_s']:.3f}",
            f"{s['lifetime_max_s']:.3f}",
            f"{s['selection_s']:.4f}",
            f"{s['object_store_s']:.4f}",
            f"{s['other_scheduling_s']:.3f}",
            "" if s["checkpoint_background_s"] is None else f"{s['checkpoint_background_s']:.3f}",
            f"{s['overhead_share']:.3f}",
        ]
        for P, s in out["generation_split"].items()
    ]
    pbt, gtl, rl, flat = out["pbt"], out["gtl_handoff"], out["ray_vs_local"], out["object_store_flat"]
    tiny = out["ray_vs_local_tiny"]
    lines = [
        f"# Systems benchmark ({out['profile']})",
        f"`{out['command']}` — {out['wall_seconds']:.0f} s wall on {m['cpu_count']} CPU cores ({m['cpu_model']}, load average {m['load_average_1min']:.1f} at start), Ray with {out['ray_logical_cpus']} logical CPUs; Python {m['python']}, torch {m['torch']}, Ray {m['ray']}. {out['note']}",
        "## Generation wall time split (mean s per generation, generations 1..)",
        report.markdown_table(
            [
                "P",
                "wall",
                "longest lifetime",
                "selection",
                "object store",
                "other",
                "checkpoint (background)",
                "overhead share",
            ],
            split_rows,
        ),
        f"## Start-up (s): Ray start {out['startup']['ray_start_s']:.1f} s "
        f"(ray.init, local, {out['ray_logical_cpus']} CPUs), then per run",
        report.markdown_table(
            [
                "P",
                "joining Ray",
                "initial gene",
                "member placement",
                "first generation",
                "later generation (mean)",
                "run wall",
            ],
            [
                [
                    P,
                    _num(s["ray_start_s"], 2),
                    _num(s["initial_gene_s"], 2),
                    _num(s["placement_s"], 2),
                    _num(s["first_generation_s"], 2),
                    _num(s["generation_wall_s"], 2),
                    _num(s["wall_s"], 1),
                ]
                for P, s in out["startup"]["runs"].items()
            ],
        ),
        "## Ratios (gtl_ray / reference; lower is better)",
        report.markdown_table(
            ["measure", "value", "detail"],
            [
                [
                    "ray_vs_local_time_ratio",
                    f"{out['ray_vs_local_time_ratio']:.3f}",
                    f"whole run: Ray {rl['ray_wall_s']:.1f} s (Tune and member start-up included) vs in process {rl['local_wall_s']:.1f} s",
                ],
                [
                    "ray_vs_local generation ratio",
                    f"{rl['generation_ratio']:.3f}",
                    f"per generation (1..), the config's lifetimes ({rl['lifetime_steps']} steps): "
                    f"Ray {rl['ray_generation_wall_s']:.3f} s (longest lifetime {rl['ray_lifetime_max_s']:.3f} s) "
                    f"vs in process {rl['local_generation_wall_s']:.3f} s; "
                    f"ideal {rl['ideal_ratio']:.2f} (members in parallel on the real cores)",
                ],
                [
                    "ray_vs_local generation ratio, tiny lifetimes",
                    f"{tiny['generation_ratio']:.3f}",
                    f"the same at the sweep's lifetimes ({tiny['lifetime_steps']} steps): "
                    f"Ray {tiny['ray_generation_wall_s']:.3f} s (longest lifetime {tiny['ray_lifetime_max_s']:.3f} s) "
                    f"vs in process {tiny['local_generation_wall_s']:.3f} s",
                ],
                [
                    "handoff_bytes_ratio_vs_pbt",
                    _num(out["handoff_bytes_ratio_vs_pbt"]),
                    f"parents' learngenes {gtl['parent_bytes_per_generation']} B vs PBT exploit clones {pbt['exploit_bytes_per_generation']:.0f} B per generation ({pbt['exploits']} exploits of {pbt['full_state_bytes']} B)",
                ],
                [
                    "handoff_io_bytes_ratio_vs_pbt",
                    _num(out["handoff_io_bytes_ratio_vs_pbt"]),
                    f"all gene traffic {gtl['io_bytes_per_generation']} B vs all PBT checkpoint saves + restores {pbt['checkpoint_io_bytes_per_generation']:.0f} B per generation",
                ],
                [
                    "handoff_time_ratio_vs_pbt",
                    f"{out['handoff_time_ratio_vs_pbt']:.3f}",
                    f"generation wall {gtl['generation_wall_s']:.2f} s vs PBT {pbt['generation_wall_s']:.2f} s (PBT longest lifetime {pbt['lifetime_max_s']:.2f} s)",
                ],
                [
                    "handoff_overhead_ratio_vs_pbt",
                    f"{out['handoff_overhead_ratio_vs_pbt']:.3f}",
                    f"generation wall minus longest lifetime: {gtl['generation_overhead_s']:.3f} s vs PBT {pbt['generation_wall_s'] - pbt['lifetime_max_s']:.2f} s",
                ],
                [
                    "checkpoint_bytes_ratio",
                    f"{out['checkpoint_bytes_ratio']:.3f}",
                    f"{out['gtl_generation_bytes']} B vs {out['full_population_bytes']} B of full state_dicts",
                ],
            ],
        ),
        f"## Object store bytes after generations ({len(out['object_store_bytes'])} of {out['profile_settings']['store_generations']} sampled)",
        f"min {flat['min']} B, max {flat['max']} B (a saw-tooth: released objects are freed in batches); growth over the run from a least-squares line {flat['fitted_growth_bytes']:.0f} B, flat: {flat['flat']} (tolerance {flat['tolerance_bytes']} B = 2 x P genes). Series in MB: {', '.join(f'{b / 1e6:.2f}' for b in out['object_store_bytes'])}",
        "## tell + post per generation (ms, medians over generations 1..; `benchmarks/tell_cost.py`)",
        "In process (the generation book: tell, then apply and every member's parent lookup; beside them, "
        "computing every moved parent, which tell leaves to the members that inherit):",
        report.markdown_table(
            ["P", "tell", "post", "tell + post", "moves (at inheritance)"],
            tell_cost.table_rows(out["tell_post"]["in_process"]),
        ),
        "Through the pool actor on Ray (timing.selection, and timing.post: the next parents posted, waiting for "
        "the puts they are built on; beside them, the pool's puts of handed-in genes as submissions arrived, "
        "in a thread, all P sent at once):",
        report.markdown_table(
            ["P", "tell", "post", "tell + post", "puts at arrival (summed over 2 threads)"],
            tell_cost.table_rows(out["tell_post"]["through_pool"]),
        ),
        f"## Cost of scoring a member (in process, one thread; {out['fitness_cost']['fitness_episodes']} episodes of {out['fitness_cost']['fitness_shots']} shots, {out['fitness_cost']['evaluation_steps']} fine-tuning steps each)",
        report.markdown_table(
            ["fitness", "seconds per member", "on top of the lifetime", "sample-gradients per member"],
            [
                [
                    "lifetime (the lifetime itself)",
                    f"{out['fitness_cost']['lifetime_s']:.2f}",
                    "-",
                    f"{out['fitness_cost']['lifetime_sample_grads']:.0f}",
                ]
            ]
            + [
                [
                    mode,
                    f"{out['fitness_cost'][f'{mode}_fitness_s']:.2f}",
                    f"{100 * out['fitness_cost'][f'{mode}_extra_share']:.0f}%",
                    f"{out['fitness_cost'][f'{mode}_sample_grads']:.0f}",
                ]
                for mode in ("descendant", "instinct")
            ],
        ),
        "## GPU variant",
        json.dumps(out["gpu"]),
        "Timings (s): " + ", ".join(f"{k} {v:.0f}" for k, v in out["timings"].items()),
        report.describe_code(out["code"]),
    ]
    return "\n\n".join(lines) + "\n"


def _num(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


if __name__ == "__main__":
    sys.exit(main())
