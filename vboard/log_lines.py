"""Board log records on stderr, one line each, for ``vboard run`` (one board or a simulation)."""

from __future__ import annotations

import argparse
import sys

from emulator.boardlog import BoardLog, LogRecord, level_rank


def log_floor(args: argparse.Namespace) -> int:
    """The lowest level shown: ``--log-level``, else error with ``-q``, else warning."""
    return level_rank(getattr(args, "log_level", None) or ("error" if args.quiet else "warning"))


def print_records(board_log: BoardLog, floor: int, prefix: str = "") -> None:
    """From now on, print every record of ``board_log`` at ``floor`` or above to stderr."""

    def show(record: LogRecord) -> None:
        if level_rank(record.level) >= floor:
            print(prefix + record.text(), file=sys.stderr, flush=True)

    board_log.subscribe(show)
