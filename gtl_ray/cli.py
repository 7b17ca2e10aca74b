"""`gtl-ray` command line: validate, evolve, config, evaluate, descend, inspect, export, report
(the commands and their parser: `gtl_ray.commands`).

Every command validates its config before Ray starts. Exit codes: 0 success, 2 bad input (a
one-line message naming the culprit; traceback only with --debug), 1 anything else.
"""

from __future__ import annotations

import logging
import sys

from gtl_ray.commands.parser import build_parser
from gtl_ray.errors import GTLError, RunFailed

log = logging.getLogger("gtl_ray")


def _message(exc: BaseException) -> str:
    """One line: a GTLError raised inside a Ray task arrives wrapped (RayTaskError, whose text
    holds the remote traceback); show the original error's message."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, BaseException):
        exc = cause
    return " ".join(str(exc).split())


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)
    if hasattr(sys.stdout, "reconfigure"):  # a file name or header text that is not UTF-8 prints escaped
        sys.stdout.reconfigure(errors="backslashreplace")
    try:
        return int(args.func(args) or 0)
    except GTLError as exc:
        if args.debug:
            raise
        print(f"gtl-ray: error: {_message(exc)}", file=sys.stderr)
        return 2
    except RunFailed as exc:
        if args.debug:
            raise
        print(f"gtl-ray: run failed: {_message(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("gtl-ray: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug or an environment failure: one line unless --debug
        if args.debug:
            raise
        print(
            f"gtl-ray: unexpected {type(exc).__name__}: {_message(exc)} (rerun with --debug for the traceback)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
