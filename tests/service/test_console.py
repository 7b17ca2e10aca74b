"""gtl_ray.service.console: Ray's log lines without colour codes where they do not reach a terminal."""

from __future__ import annotations

import io
import logging

from gtl_ray.service.console import PlainText, is_terminal


def test_colour_codes_are_stripped_from_a_record():
    record = logging.LogRecord("ray", logging.INFO, __file__, 1, "\x1b[32mstarted\x1b[0m %s", ("ok",), None)
    assert PlainText().filter(record) and record.getMessage() == "started ok"


def test_a_closed_or_captured_stream_is_no_terminal():
    stream = io.StringIO()
    assert not is_terminal(stream) and not is_terminal(None)
    stream.close()
    assert not is_terminal(stream)
