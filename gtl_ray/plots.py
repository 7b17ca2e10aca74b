"""The plots of `gtl-ray report` and of the benchmarks' pages, as PNG bytes (matplotlib, Agg)."""

from __future__ import annotations

import io
from typing import Sequence


def figure_png(fig) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return buffer.getvalue()


def new_figure(width: float = 6.4, height: float = 3.6):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(width, height))


def integer_ticks(ax, axes: str) -> None:
    from matplotlib.ticker import MaxNLocator

    for name in axes:
        getattr(ax, f"{name}axis").set_major_locator(MaxNLocator(integer=True))


def plot_fitness(
    curves: dict[str, Sequence[dict[str, float]]], title: str = "fitness per generation", ways: int | None = None
) -> bytes:
    """Median line and min..max band per generation for each named curve (fitness 0..1 as %);
    with `ways`, the chance level of `ways`-way tasks as a dashed line."""
    fig, ax = new_figure()
    if ways:
        ax.axhline(100 / ways, color="0.45", linestyle="--", linewidth=1, label=f"chance ({ways}-way)")
    for label, curve in curves.items():
        gens = list(range(len(curve)))
        line = ax.plot(gens, [100 * c["median"] for c in curve], marker="o", label=f"{label} median")[0]
        ax.fill_between(
            gens,
            [100 * c["min"] for c in curve],
            [100 * c["max"] for c in curve],
            color=line.get_color(),
            alpha=0.2,
            label=f"{label} min..max",
        )
    ax.set(xlabel="generation", ylabel="query accuracy of members (%)", title=title)
    integer_ticks(ax, "x")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return figure_png(fig)


def plot_timing(timing: Sequence[dict[str, float]]) -> bytes:
    """Per generation: the longest lifetime and the rest of the wall time, stacked."""
    fig, ax = new_figure()
    gens = list(range(len(timing)))
    life = [t.get("lifetime_max", 0.0) for t in timing]
    other = [max(0.0, t.get("wall", 0.0) - t.get("lifetime_max", 0.0)) for t in timing]
    ax.bar(gens, life, label="longest lifetime")
    ax.bar(gens, other, bottom=life, label="scheduling, hand-off, waiting")
    ax.plot(gens, [t.get("checkpoint", float("nan")) for t in timing], "k.", label="checkpoint write (in background)")
    ax.set(xlabel="generation", ylabel="seconds", title="generation wall time")
    integer_ticks(ax, "x")
    ax.legend(fontsize=8)
    return figure_png(fig)
