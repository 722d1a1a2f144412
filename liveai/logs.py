"""Structured logs: one `key=value` line per record, quiet unless asked (-v)."""

from __future__ import annotations

import logging
import sys
import time


class LogfmtFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(record.created))
        message = record.getMessage().replace('"', "'")
        level = record.levelname.lower()
        line = f'ts={stamp}.{int(record.msecs):03d} level={level} logger={record.name} msg="{message}"'
        if record.exc_info:
            line += " exc=" + repr(self.formatException(record.exc_info))
        return line


def setup_logging(verbosity: int) -> None:
    """verbosity: -1 warnings only, 0 lifecycle (info), 1+ debug."""
    level = logging.WARNING if verbosity < 0 else logging.INFO if verbosity == 0 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(LogfmtFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("liveai").setLevel(level)  # third-party libraries stay at warning
