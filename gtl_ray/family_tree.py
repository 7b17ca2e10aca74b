"""The family tree of a run's final learngene as a figure: readable at paper scale (64 members x
50 generations), where drawing every parent edge (P x G of them) would be a grey mesh."""

from __future__ import annotations

from typing import Any, Sequence

from gtl_ray.plots import figure_png, integer_ticks, new_figure

WIDTH_IN = 9.0  #: inches (x 110 dpi: the page's width)


def figure_size(members: int) -> tuple[float, float]:
    """Inches: a row per member of at least ~1/16 inch (7 px) for large populations."""
    return WIDTH_IN, min(7.0, max(4.6, 2.2 + members / 16))


def _columns(lineage: Sequence[Any]) -> dict[int, list[Any]]:
    columns: dict[int, list[Any]] = {}
    for r in lineage:
        columns.setdefault(r.generation, []).append(r)
    return columns


def plot_family(lineage: Sequence[Any], chain_ids: set[str], elite_ids: Sequence[str] = ()) -> bytes:
    """The family tree as a PNG (see `family_figure`)."""
    return figure_png(family_figure(lineage, chain_ids, elite_ids))


def family_figure(lineage: Sequence[Any], chain_ids: set[str], elite_ids: Sequence[str] = ()):
    """The family tree, readable at paper scale (64 members x 50 generations). Each generation is
    a column of its members ordered by fitness (row 0: the fittest; member indices are mere slots,
    a rank says where an ancestor stood), shaded by fitness; over it the ancestry of the final
    elites (`elite_ids`) as thin lines, and on top the final learngene's line of descent
    (`chain_ids`), squares where a gene passed on unchanged (elite), dots where it was mutated.
    Lines whose genes died out are not drawn."""
    columns = _columns(lineage)
    fig, ax = new_figure(*figure_size(max(len(c) for c in columns.values()) if lineage else 1))
    by_id = {r.id: r for r in lineage}
    generations, members = 1 + max(columns), max(len(c) for c in columns.values())
    grid, rank = _ranked(columns, members, generations)
    _shade(fig, ax, grid, generations, members)
    chain = sorted((by_id[i] for i in chain_ids if i in by_id), key=lambda r: r.generation)
    on_chain = {(a.id, b.id) for a, b in zip(chain, chain[1:])}
    kin = sorted(set().union(*(_edges(by_id, e) for e in elite_ids)) - on_chain) if elite_ids else []
    if kin:
        _draw_kin(ax, [[(by_id[a].generation, rank[a]), (by_id[b].generation, rank[b])] for a, b in kin])
    if chain:
        _draw_chain(ax, chain, rank)
    ax.set(
        xlim=(-0.5, generations - 0.5),
        ylim=(members - 0.5, -1.2),  # room above rank 0, where the final line usually runs
        xlabel="generation",
        ylabel="rank in its generation (0: fittest)",
        title=f"family tree: {members} members x {generations} generations",
    )
    integer_ticks(ax, "xy")
    if chain or kin:
        ax.legend(fontsize=8.5, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=4, frameon=False)
    return fig


def _ranked(columns: dict[int, list[Any]], members: int, generations: int) -> tuple[Any, dict[str, int]]:
    """(fitness in % per rank x generation, each member's rank in its generation)."""
    import numpy as np

    grid = np.full((members, generations), np.nan)
    rank: dict[str, int] = {}
    for generation, column in columns.items():
        for k, r in enumerate(sorted(column, key=lambda r: (-r.fitness, r.member))):
            rank[r.id] = k
            grid[k, generation] = 100 * r.fitness
    return grid, rank


def _shade(fig: Any, ax: Any, grid: Any, generations: int, members: int) -> None:
    """The cells, shaded by fitness, light enough for the lines drawn on top."""
    import numpy as np
    from matplotlib import colormaps
    from matplotlib.colors import ListedColormap

    pale = ListedColormap(colormaps["Greys"](np.linspace(0.04, 0.55, 256)))
    extent = (-0.5, generations - 0.5, members - 0.5, -0.5)
    cells = ax.imshow(grid, origin="upper", aspect="auto", cmap=pale, interpolation="nearest", extent=extent)
    fig.colorbar(cells, ax=ax, label="fitness (%)", pad=0.02)


def _edges(by_id: dict[str, Any], leaf: str) -> set[tuple[str, str]]:
    """(parent id, child id) of every step of `leaf`'s ancestry."""
    found, current = set(), by_id.get(leaf)
    while current is not None and current.parent in by_id:
        found.add((current.parent, current.id))
        current = by_id[current.parent]
    return found


def _halo(width: float) -> list[Any]:
    from matplotlib import patheffects

    return [patheffects.withStroke(linewidth=width, foreground="white")]


def _draw_kin(ax: Any, segments: list[list[tuple[int, int]]]) -> None:
    """The final elites' ancestry, as thin lines."""
    from matplotlib.collections import LineCollection

    kin = LineCollection(
        segments,
        colors="tab:blue",
        linewidths=1.3,
        zorder=3,
        path_effects=_halo(3.5),
        label="ancestry of the final elites",
        gid="elite-ancestry",
    )
    ax.add_collection(kin)


def _draw_chain(ax: Any, chain: list[Any], rank: dict[str, int]) -> None:
    """The final learngene's line of descent: squares where passed on unchanged, dots where mutated."""
    xs, ys = [r.generation for r in chain], [rank[r.id] for r in chain]
    line = {"color": "tab:red", "lw": 2.4, "zorder": 5, "path_effects": _halo(4.5)}
    ax.plot(xs, ys, **line, label="line of the final learngene", gid="line-of-descent")
    for elite, marker, label in ((True, "s", "passed on unchanged (elite)"), (False, "o", "mutated")):
        picked = [r for r in chain if bool(r.elite) == elite]
        if picked:
            ax.scatter(
                [r.generation for r in picked],
                [rank[r.id] for r in picked],
                marker=marker,
                s=22,
                color="tab:red",
                edgecolors="white",
                linewidths=0.8,
                zorder=6,
                label=label,
                gid="descent-marks",
            )
