"""gtl_ray.plots: figures as PNG bytes, headless."""

from __future__ import annotations

from gtl_ray.plots import figure_png, integer_ticks, new_figure


def test_a_figure_becomes_a_png():
    fig, ax = new_figure(3, 2)
    ax.plot([0, 1, 2], [0.2, 0.5, 0.4])
    integer_ticks(ax, "x")
    assert figure_png(fig).startswith(b"\x89PNG\r\n\x1a\n")
