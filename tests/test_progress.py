"""gtl_ray.progress: the lines a person reads while a run goes."""

from __future__ import annotations

import io

from gtl_ray.progress import Progress, duration


def test_durations_read_at_a_glance():
    assert [duration(s) for s in (40, 540, 9000)] == ["40 s", "9 min", "2.5 h"]


def test_lines_go_to_the_stream_and_nowhere_when_quiet():
    out = io.StringIO()
    Progress(out).line("hello")
    Progress.quiet().line("unseen")
    assert "hello" in out.getvalue() and "unseen" not in out.getvalue()
