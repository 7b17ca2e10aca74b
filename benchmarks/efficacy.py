"""Efficacy benchmark: does an evolved learngene help descendants learn novel classes?

    python benchmarks/efficacy.py [--config configs/quickstart.yaml] [--learngene URI]
        [--set key=value ...] [--quick | --tiny] [--local] [--skip scalability,shares] [--out PATH]

1. Evolve a learngene (on a local Ray with `gtl_ray.service.run.evolve`, or in process with
   `--local`), or take `--learngene URI`.
2. Main table: 5-way few-shot episodes on novel classes, the same episodes for every registered
   method (`gtl_ray.evaluation.list_methods()`: scratch, full, heuristic, learngene, and the
   transfer-learning baselines narrow, distilled, sparse, random_slice, aft, learngene+aft) —
   accuracy after fine-tuning and instinct (nearest centroid before any training), mean ± 95% CI,
   the learngene's paired difference against each, each method's sample-gradients and share of
   transferred parameters.
3. Scalability: descendants 1.5x and 2x as wide and one deeper than the ancestry network (every
   method that takes another shape: not `sparse`).
4. Shares: a learngene evolved per share of the network's parameters (5/10/20/40%), against the
   heuristic gene of the same share and scratch (share 0).
5. Evolution curve: fitness min/median/max per generation (from the run's manifest).

Writes PATH (JSON: `results` rows as `gtl-ray evaluate --json` prints them, plus `scalability`,
`shares`, `curve`, `machine`, `command`, `timings`, `wall_seconds`), PATH with `.md`, and PNG
plots `<stem>_*.png` next to it. Profiles: the default is the headline protocol (>= 600
episodes, 1/5/10-shot: hours on a CPU); `--quick` took about 10 minutes on 2 CPU cores with 4
methods (expect about twice that with all of them);
`--tiny` is a smoke test of every code path (seconds of compute, meaningless numbers).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import shlex
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from gtl_ray import report  # noqa: E402
from gtl_ray.config import GTLConfig  # noqa: E402
from gtl_ray.evaluation.methods import get_method, list_methods, needs_learngene  # noqa: E402
from gtl_ray.learngene import Learngene  # noqa: E402
from gtl_ray.preflight import load_config  # noqa: E402

log = logging.getLogger("benchmarks.efficacy")
#: (efficacy.json, without a profile, is the retired ablation's every-method table: benchmarks/README.md)
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "efficacy_{profile}.json"
ALL_METHODS = tuple(list_methods())
ANY_SHAPE = tuple(
    m for m in ALL_METHODS if get_method(m).same_shape is None
)  #: methods for descendants of other shapes


@dataclass(frozen=True)
class Profile:
    """Size of every part. `overrides` go before the user's --set (which wins); `share_overrides`
    are the share sweep's evolution settings (empty: the main run's, whose gene is then reused)."""

    name: str
    overrides: tuple[str, ...] = ()
    shots: tuple[int, ...] = (1, 5, 10)  #: main table
    episodes: int = 600
    scale_shots: tuple[int, ...] = (5,)
    scale_episodes: int = 600
    scale_methods: tuple[str, ...] = ANY_SHAPE
    shares: tuple[float, ...] = (0.05, 0.10, 0.20, 0.40)  #: fractions of backbone parameters
    share_overrides: tuple[str, ...] = ()
    share_shots: tuple[int, ...] = (5,)
    share_episodes: int = 600


PROFILES = {
    "full": Profile("full"),
    # Sized for < 10 minutes on 2 cores while another process holds one of them when the main
    # table had 4 methods (about half that on an idle machine; see benchmarks/README.md); with
    # all 10 methods expect about twice that (an estimate: 2.5x the fine-tunings, plus the
    # narrow pre-training and the distillation). Evolution as the config says; 50 episodes of
    # 1- and 5-shot for the main table; 1-shot sections of 20 episodes without the `full`
    # baseline (it needs a pre-training per shape); share genes evolved like the main one.
    "quick": Profile(
        "quick",
        shots=(1, 5),
        episodes=50,
        scale_shots=(1,),
        scale_episodes=20,
        scale_methods=("scratch", "heuristic", "learngene"),
        share_shots=(1,),
        share_episodes=20,
    ),
    "tiny": Profile(
        "tiny",
        overrides=(
            "model.width=0.125",
            "population.size=4",
            "population.cpus_per_member=0.5",
            "evolution.generations=2",
            "evolution.tournament_size=2",
            "lifetime.epochs=1",
            "lifetime.train_per_class=10",
            "lifetime.query_per_class=5",
            "data.num_classes=40",
            "data.images_per_class=20",
            "data.splits={base: 20, val: 5, novel: 10}",
            "evaluation.query=5",
            "evaluation.steps=5",
            "pretrain.epochs=1",
        ),
        shots=(1,),
        episodes=4,
        scale_shots=(1,),
        scale_episodes=2,
        scale_methods=("scratch", "learngene"),
        shares=(0.40,),
        share_overrides=("evolution.generations=1",),
        share_shots=(1,),
        share_episodes=2,
    ),
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", default=str(ROOT / "configs" / "quickstart.yaml"))
    p.add_argument("--learngene", help="evaluate this learngene instead of evolving one (main table and scalability)")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="config override (repeatable; wins over the profile)",
    )
    p.add_argument("--quick", action="store_true", help="about 20 minutes on 2 CPU cores (estimate)")
    p.add_argument("--tiny", action="store_true", help="smoke test: every code path, meaningless numbers")
    p.add_argument("--local", action="store_true", help="evolve in process (evolve_local) and evaluate without Ray")
    p.add_argument("--skip", default="", help="comma-separated sections to skip: scalability, shares")
    p.add_argument("--storage", help="where the benchmark's runs go (default: the config's storage)")
    p.add_argument("--num-cpus", type=int, help="CPUs of the local Ray (default: all)")
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads of this process (pre-training); more than the idle cores thrashes",
    )
    p.add_argument(
        "--out",
        help=f"JSON path; .md and _*.png are written next to it (default {str(DEFAULT_OUT).format(profile='PROFILE')}, "
        f"PROFILE one of {', '.join(PROFILES)})",
    )
    args = p.parse_args(argv)
    args.out = args.out or str(DEFAULT_OUT).format(profile=profile_name(args))
    return args


def profile_name(args: argparse.Namespace) -> str:
    """The PROFILES key that --tiny / --quick pick (full without either)."""
    return "tiny" if args.tiny else "quick" if args.quick else "full"


# ------------------------------------------------------------------ pieces


def evolve_gene(config: GTLConfig, local: bool) -> tuple[Learngene, list[dict[str, float]], str | None]:
    """(final learngene, fitness per generation, run directory or None when in process)."""
    if local:
        from gtl_ray.evolution import evolve_local

        result = evolve_local(config)
        return result.final, result.fitness, None
    from gtl_ray.run.store import RunStore
    from gtl_ray.service.run import evolve

    outcome = evolve(config, overwrite=True)
    manifest = RunStore(config.storage, config.name).read_manifest()
    return Learngene.load(outcome.final_learngene), [g.fitness for g in manifest.generations], outcome.run_dir


def curve_of_run(gene_uri: str) -> list[dict[str, float]]:
    """Fitness curve of the run a `RUN/final/learngene.safetensors` belongs to, else []."""
    from gtl_ray.run.store import RunStore

    run_dir = Path(gene_uri).resolve().parent.parent
    try:
        return [g.fitness for g in RunStore.from_path(str(run_dir)).read_manifest().generations]
    except Exception:  # not inside a run directory: no curve
        return []


def deeper_depth(config: GTLConfig) -> int:
    """The next deeper layout of the ancestry network (VGG11 -> 13, ResNet12 blocks + 1)."""
    from gtl_ray.models import create_model
    from gtl_ray.models.vgg import LAYOUTS

    model = create_model(config.model.arch, width=config.model.width, depth=config.model.depth)
    if model.family == "vgg":
        deeper = [d for d in sorted(LAYOUTS) if d > model.depth]
        return deeper[0] if deeper else model.depth
    return model.depth + 1


def section_overrides(shots: tuple[int, ...], episodes: int, methods: tuple[str, ...]) -> list[str]:
    return [
        f"evaluation.shots={json.dumps(list(shots))}",
        f"evaluation.episodes={episodes}",
        f"evaluation.methods={json.dumps(list(methods))}",
    ]


class Bench:
    """Holds what every section shares: base overrides, data, pre-training cache, engine."""

    def __init__(self, args: argparse.Namespace, profile: Profile, base: list[str]):
        from gtl_ray.data import load_splits

        self.args, self.profile, self.base = args, profile, base
        self.config = load_config(args.config, base)
        self.splits = load_splits(self.config.data)
        self.cache = tempfile.mkdtemp(prefix="gtl-efficacy-pretrained-")  # fresh: pre-training follows this config
        self.paired: list[dict[str, Any]] = []  #: paired differences of every evaluation, tagged like its rows

    def configure(self, *extra: str) -> GTLConfig:
        return load_config(self.args.config, self.base + list(extra))

    def evaluate(self, config: GTLConfig, gene: Learngene | None, **tags: Any) -> list[dict[str, Any]]:
        from gtl_ray.evaluation import evaluate

        methods = list(config.evaluation.methods)
        step = max(1, config.evaluation.episodes // 2)

        def progress(done: int, total: int) -> None:
            if done % step == 0 or done == total:
                log.info("  %s: %d/%d episodes", "/".join(methods), done, total)

        executor = None
        if not self.args.local:
            from gtl_ray.service.ray_executor import RayExecutor

            executor = RayExecutor()
        evaluation = evaluate(
            config,
            gene if any(needs_learngene(m) for m in methods) else None,
            methods,
            splits=self.splits,
            cache_dir=self.cache,
            executor=executor,
            progress=progress,
        )
        self.paired += [{**tags, **p} for p in evaluation.paired()]
        return [{**tags, **row} for row in evaluation.rows()]


def run_scalability(bench: Bench, gene: Learngene) -> list[dict[str, Any]]:
    p, config = bench.profile, bench.config
    episodes = min(p.scale_episodes, config.evaluation.episodes)
    depth = deeper_depth(config)
    variants = [
        ("wider x1.5", config.model.width * 1.5, None),
        ("wider x2", config.model.width * 2, None),
        (f"deeper (depth {depth})", None, depth),
    ]
    rows = []
    for label, width, deeper in variants:
        extra = section_overrides(p.scale_shots, episodes, p.scale_methods)
        extra += [f"evaluation.descendant.width={width}"] if width else [f"evaluation.descendant.depth={deeper}"]
        log.info("scalability: %s", label)
        rows += bench.evaluate(
            bench.configure(*extra),
            gene,
            variant=label,
            width=width or config.model.width,
            depth=deeper or config.model.depth,
        )
    return rows


def run_shares(
    bench: Bench, main_gene: Learngene | None, main_curve: list[dict[str, float]]
) -> tuple[list[dict[str, Any]], dict[str, list]]:
    """Rows per target share (heuristic and learngene) plus scratch as share 0; curves per share."""
    p = bench.profile
    episodes = min(p.share_episodes, bench.config.evaluation.episodes)
    scratch_config = bench.configure(*section_overrides(p.share_shots, episodes, ("scratch",)))
    rows = bench.evaluate(scratch_config, None, share=0.0, gene_share=0.0)
    curves = {}
    for share in p.shares:
        reuse = main_gene is not None and not p.share_overrides and math.isclose(share, bench.config.learngene.share)
        name = f"{bench.config.name}-share{round(100 * share):02d}"
        config = bench.configure(
            *p.share_overrides,
            f"learngene.share={share}",
            f"name={name}",
            *section_overrides(p.share_shots, episodes, ("heuristic", "learngene")),
        )
        log.info("shares: %s learngene at share %.2f", "reusing the main" if reuse else "evolving a", share)
        gene, curve, _ = (main_gene, main_curve, None) if reuse else evolve_gene(config, bench.args.local)
        curves[f"{share:.2f}"] = curve
        rows += bench.evaluate(config, gene, share=share, gene_share=gene.share)
    return rows, curves


# ------------------------------------------------------------------ output


def plot_accuracy(
    sections: dict[str, list[dict[str, Any]]], key: str | None, title: str, reference: dict[str, Any] | None = None
) -> bytes:
    """Grouped bars: accuracy (± CI) per method for each group (shots, variant or share);
    `reference` (a row) is drawn as a dashed line."""
    fig, ax = report.new_figure(7.0, 3.6)
    groups = list(dict.fromkeys(r[key] if key else f"{r['shots']}-shot" for rows in sections.values() for r in rows))
    methods = list(dict.fromkeys(r["method"] for rows in sections.values() for r in rows))
    width = 0.8 / max(1, len(methods))
    for i, method in enumerate(methods):
        rows = {
            (r[key] if key else f"{r['shots']}-shot"): r for s in sections.values() for r in s if r["method"] == method
        }
        xs = [g for g, name in enumerate(groups) if name in rows]
        ax.bar(
            [x + i * width for x in xs],
            [100 * rows[groups[x]]["mean"] for x in xs],
            width,
            yerr=[100 * rows[groups[x]]["ci95"] for x in xs],
            label=method,
            capsize=2,
        )
    ax.set_xticks([g + width * (len(methods) - 1) / 2 for g in range(len(groups))], [str(g) for g in groups])
    if reference is not None:
        ax.axhline(100 * reference["mean"], color="0.3", ls="--", lw=1, label=reference["method"])
    ax.set(ylabel="accuracy on novel classes (%)", title=title)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return report.figure_png(fig)


def write_outputs(out: Path, data: dict[str, Any]) -> str:
    out.parent.mkdir(parents=True, exist_ok=True)
    stem = out.with_suffix("")
    plots = {
        "curve": report.plot_fitness(
            {"main run": [c for c in data["curve"]]}, "evolution: member fitness per generation"
        )
        if data["curve"]
        else None
    }
    plots["accuracy"] = (
        plot_accuracy({"main": data["results"]}, None, "descendants on novel classes") if data["results"] else None
    )
    if data.get("scalability"):
        shots = data["scalability"][0]["shots"]
        plots["scalability"] = plot_accuracy(
            {"s": data["scalability"]}, "variant", f"other descendant shapes (5-way {shots}-shot)"
        )
    if data.get("shares"):
        shots, scratch = data["shares"][0]["shots"], [r for r in data["shares"] if r["share"] == 0]
        plots["shares"] = plot_accuracy(
            {"s": [r for r in data["shares"] if r["share"] > 0]},
            "share",
            f"learngene share of parameters (5-way {shots}-shot)",
            scratch[0] if scratch else None,
        )
    data["plots"] = {k: f"{stem.name}_{k}.png" for k, v in plots.items() if v}
    for key, png in plots.items():
        if png:
            Path(f"{stem}_{key}.png").write_bytes(png)
    out.write_text(json.dumps(data, indent=1))
    md = render_markdown(data)
    out.with_suffix(".md").write_text(md)
    return md


def render_markdown(data: dict[str, Any]) -> str:
    m = data["machine"]
    parts = [
        f"# Efficacy benchmark ({data['profile']})",
        f"`{data['command']}` — {data['wall_seconds']:.0f} s wall on {m['cpu_count']} CPU cores ({m['cpu_model']}, device {m['device']}, load average {m['load_average_1min']:.1f} at start), "
        f"Python {m['python']}, torch {m['torch']}, Ray {m['ray']}. Learngene: {data['learngene']['source']}, share {data['learngene']['share']:.3f}, {data['learngene']['num_params']} parameters.",
        "Timings (s): " + ", ".join(f"{k} {v:.0f}" for k, v in data["timings"].items()),
        report.describe_code(data["code"]),
    ]
    if data["results"]:
        parts += [
            "## Descendants on novel classes (ancestry shape)",
            report.markdown_table(*report.accuracy_table(data["results"])),
            f"accuracy in % (mean ± 95% CI over {data['results'][0]['episodes']} episodes, the same episodes for every method); instinct: nearest-centroid accuracy before any training; transferred: share of the descendant's backbone parameters; sample-grads: images forwarded and back-propagated (preparation: pre-training and distillation; fine-tuning: per episode, per shot count). `sparse` is fine-tuned densely (its pruned weights start from the descendant's own initialization).",
            report.markdown_table(
                ["method", "what it is"],
                [
                    [m, get_method(m).summary]
                    for m in dict.fromkeys(r["method"] for r in data["results"])
                    if m in ALL_METHODS
                ],
            ),
        ]
        if data.get("paired"):
            parts += [report.markdown_table(*report.paired_table(data["paired"]))]
    if data.get("scalability"):
        parts += [
            "## Scalability: other descendant shapes",
            report.markdown_table(*report.accuracy_table(data["scalability"], ("variant", "width", "depth"))),
            f"{data['scalability'][0]['episodes']} episodes per cell; the ancestry shape is the main table.",
        ]
    if data.get("shares"):
        parts += [
            "## Learngene share of parameters",
            report.markdown_table(*report.accuracy_table(data["shares"], ("share", "gene_share"))),
            f"{data['shares'][0]['episodes']} episodes per cell; share 0 is scratch; {data['share_note']}",
        ]
    if data["curve"]:
        parts += [
            "## Evolution curve",
            report.markdown_table(
                ["generation", "min", "median", "max"],
                [[g, f"{c['min']:.3f}", f"{c['median']:.3f}", f"{c['max']:.3f}"] for g, c in enumerate(data["curve"])],
            ),
        ]
    parts += [f"![{k}]({v})" for k, v in data.get("plots", {}).items()]
    return "\n\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)
    profile = PROFILES[profile_name(args)]
    torch.set_num_threads(args.threads)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    started = time.time()
    machine = report.machine_description()
    user = load_config(args.config, list(args.set))
    base = list(profile.overrides) + section_overrides(profile.shots, profile.episodes, ALL_METHODS) + list(args.set)
    base += [f"name={user.name}-efficacy-{profile.name}"] + ([f"storage={args.storage}"] if args.storage else [])
    timings: dict[str, float] = {}
    if not args.local:
        import os

        import ray

        clock = time.time()
        ray.init(
            address="local",
            num_cpus=args.num_cpus or os.cpu_count(),
            include_dashboard=False,
            namespace="gtl_ray",
            log_to_driver=False,
        )
        timings["ray_start"] = time.time() - clock
    try:
        bench = Bench(args, profile, base)
        clock = time.time()
        if args.learngene:
            gene, curve, source = Learngene.load(args.learngene), curve_of_run(args.learngene), args.learngene
        else:
            gene, curve, run_dir = evolve_gene(bench.config, args.local)
            source = f"evolved ({run_dir or 'in process'})"
            timings["evolution"] = time.time() - clock
        clock = time.time()
        results = bench.evaluate(bench.config, gene)
        paired = list(bench.paired)
        timings["evaluation"] = time.time() - clock
        data: dict[str, Any] = {
            "benchmark": "efficacy",
            "profile": profile.name,
            "command": shlex.join(["python", "benchmarks/efficacy.py"] + list(sys.argv[1:] if argv is None else argv)),
        }
        data.update(
            machine=machine,
            code=report.code_version(ROOT),
            profile_settings=asdict(profile),
            learngene={"source": source, "share": gene.share, "num_params": gene.num_params, "checksum": gene.checksum},
        )
        data.update(
            results=results,
            paired=paired,
            scalability=[],
            shares=[],
            curve=[{"generation": g, **c} for g, c in enumerate(curve)],
        )
        if "scalability" not in skip:
            clock = time.time()
            data["scalability"] = run_scalability(bench, gene)
            timings["scalability"] = time.time() - clock
        if "shares" not in skip:
            clock = time.time()
            data["shares"], data["share_curves"] = run_shares(bench, None if args.learngene else gene, curve)
            data["share_note"] = "share genes evolved with " + (
                ", ".join(profile.share_overrides) or "the main run's settings"
            )
            timings["shares"] = time.time() - clock
        shutil.rmtree(bench.cache, ignore_errors=True)
    finally:
        if not args.local:
            import ray

            ray.shutdown()
    timings["total"] = data["wall_seconds"] = time.time() - started
    data["timings"] = timings
    data["machine"]["load_average_1min_at_end"] = report.machine_description()["load_average_1min"]
    print(write_outputs(Path(args.out), data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
