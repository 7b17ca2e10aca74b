"""What an evaluation found: per-episode scores of every method on shared episodes, and the
figures users read from them — mean and 95% CI per (method, shots), the paired difference of the
learngene against every other method, and the compute each method spent."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gtl_ray.evaluation.episodes import EpisodeScore
from gtl_ray.evaluation.methods import describe_method
from gtl_ray.evaluation.stats import mean_ci95, paired_difference
from gtl_ray.percent import chance_of

REFERENCE = "learngene"  #: the method every other one is paired against


@dataclass
class Evaluation:
    """Args:
    n_way: classes per episode.
    methods: compared methods, in table order.
    scores: per shot count, one {method: EpisodeScore} per episode (the same episodes for all).
    preparation: per method, sample-gradients spent before any episode (pre-training,
        distillation), whether computed now, cached or shared with another method; the
        learngene's evolution is accounted in its run's manifest, not here.
    transferred: per method, the fraction of the descendant's backbone parameters it transfers
        (0 for scratch and aft, which transfer no weights).
    """

    n_way: int
    methods: list[str]
    scores: dict[int, list[dict[str, EpisodeScore]]]
    preparation: dict[str, int]
    transferred: dict[str, float] = field(default_factory=dict)

    def values(self, method: str, shots: int, field: str = "accuracy") -> list[float]:
        return [float(getattr(episode[method], field)) for episode in self.scores[shots]]

    def rows(self) -> list[dict[str, Any]]:
        """{method, n_way, shots, mean, ci95, episodes, instinct_mean, instinct_ci95,
        finetune_sample_grads (mean per episode), preparation_sample_grads, transferred_share}
        per (shots, method), fractions."""
        rows = []
        for shots, episodes in self.scores.items():
            for method in self.methods:
                mean, ci = mean_ci95(self.values(method, shots))
                imean, ici = mean_ci95(self.values(method, shots, "instinct"))
                spent = sum(e[method].sample_grads for e in episodes) / len(episodes)
                rows.append(
                    {
                        "method": method,
                        "n_way": self.n_way,
                        "shots": shots,
                        "mean": mean,
                        "ci95": ci,
                        "episodes": len(episodes),
                        "instinct_mean": imean,
                        "instinct_ci95": ici,
                        "finetune_sample_grads": spent,
                        "preparation_sample_grads": self.preparation.get(method, 0),
                        "transferred_share": self.transferred.get(method, 0.0),
                    }
                )
        return rows

    def paired(self, reference: str = REFERENCE) -> list[dict[str, Any]]:
        """{method, versus, shots, mean, ci95, episodes}: `method` minus `versus` per episode,
        mean and 95% CI (fractions), for `reference` against every other method."""
        if reference not in self.methods:
            return []
        out = []
        for shots in self.scores:
            for other in self.methods:
                if other == reference:
                    continue
                mean, ci = paired_difference(self.values(reference, shots), self.values(other, shots))
                out.append(
                    {
                        "method": reference,
                        "versus": other,
                        "shots": shots,
                        "mean": mean,
                        "ci95": ci,
                        "episodes": len(self.scores[shots]),
                    }
                )
        return out

    def to_json(self) -> dict[str, Any]:
        return {"results": self.rows(), "paired": self.paired()}


def _aligned(lines: list[list[str]]) -> list[str]:
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    out = ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in lines]
    out.insert(1, "  ".join("-" * w for w in widths))
    return out


def format_table(rows: list[dict[str, Any]], paired: list[dict[str, Any]] | None = None) -> str:
    """Plain text: one line per method, accuracy in percent (mean ± 95% CI) per shot count, then
    instinct, the share of the descendant's backbone transferred and the sample-gradients spent
    (preparation; fine-tuning per episode, per shot count); below, the paired differences of the
    learngene against each other method, and what each method is."""
    shots = sorted({r["shots"] for r in rows})
    methods = list(dict.fromkeys(r["method"] for r in rows))
    n_way = rows[0]["n_way"] if rows else 0
    by = {(r["method"], r["shots"]): r for r in rows}
    head = ["method"] + [f"{n_way}-way {s}-shot" for s in shots] + [f"instinct {s}-shot" for s in shots]
    lines = [head + ["transferred", "preparation", "fine-tune / episode"]]
    for m in methods:
        cells = [m] + [f"{100 * by[(m, s)]['mean']:.2f} ± {100 * by[(m, s)]['ci95']:.2f}" for s in shots]
        cells += [f"{100 * by[(m, s)]['instinct_mean']:.2f} ± {100 * by[(m, s)]['instinct_ci95']:.2f}" for s in shots]
        first = by[(m, shots[0])]
        cells += [
            f"{100 * first.get('transferred_share', 0.0):.1f}%",
            f"{first.get('preparation_sample_grads', 0):,}",
            " / ".join(f"{by[(m, s)].get('finetune_sample_grads', 0):,.0f}" for s in shots),
        ]
        lines.append(cells)
    out = _aligned(lines)
    episodes = rows[0]["episodes"] if rows else 0
    chance = f"; {chance_of(n_way)}" if n_way else ""
    out.append(
        f"accuracy in % (mean ± 95% CI over {episodes} episodes, same episodes for every method{chance}); "
        "transferred: share of the descendant's backbone parameters; "
        "preparation and fine-tune: sample-gradients (images forwarded and back-propagated)"
    )
    if paired:
        pairs = list(dict.fromkeys((p["method"], p["versus"]) for p in paired))
        by_pair = {(p["method"], p["versus"], p["shots"]): p for p in paired}
        lines = [["paired difference"] + [f"{s}-shot" for s in shots]]
        for a, b in pairs:
            lines.append([f"{a} - {b}"] + [_signed(by_pair.get((a, b, s))) for s in shots])
        out += (
            [""]
            + _aligned(lines)
            + ["points (mean ± 95% CI of the per-episode difference; an interval that excludes 0 resolves it)"]
        )
    legend = [f"  {m}: {summary}" for m in methods if (summary := describe_method(m))]
    return "\n".join(out + ([""] + ["methods:"] + legend if legend else []))


def _signed(pair: dict[str, Any] | None) -> str:
    return "" if pair is None else f"{100 * pair['mean']:+.2f} ± {100 * pair['ci95']:.2f}"
