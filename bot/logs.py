"""Logging that never writes a bot token or a message text.

The token is in every Bot API URL, and httpx logs request URLs at INFO; python-telegram-bot's
bot and application loggers write call parameters and whole updates (message texts included)
at DEBUG, and "Received data was …" with every queued update at CRITICAL when updates cannot
be read (the webhook's "Received data was: %r" holds even one short update whole). So: those
loggers are held at WARNING; a filter blanks anything shaped like a bot token, whatever
logger it comes from; and a record of another package's logger keeps its message template but
not its arguments when they are long or are structured data (a dict, a list, an update: where
updates travel), and its traceback shrinks to the exception's last line.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable

TOKEN_SHAPE = re.compile(r"\d{5,}(?::|%3A)[A-Za-z0-9_-]{20,}")
# These log request URLs (with the token) or whole updates (with message texts) below WARNING.
# The bot's own loggers write no message text; other packages' may, in long arguments.
OWN_LOGGER = "bot"
MAX_FOREIGN_MESSAGE_CHARS = 300
QUIET_LOGGERS = ("httpx", "httpcore", "telegram.Bot", "telegram.ext.ExtBot",
                 "telegram.ext.Application", "telegram.ext.Updater",
                 # the webhook's server: a line per request (its path), and per malformed one
                 "tornado.access", "tornado.general")


class SecretFilter(logging.Filter):
    """Replaces bot tokens, and the given secrets, in every record it sees."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if s]

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "[secret]")
        return TOKEN_SHAPE.sub("[token]", text)

    def filter(self, record: logging.LogRecord) -> bool:
        ours = record.name == OWN_LOGGER or record.name.startswith(f"{OWN_LOGGER}.")
        text = record.getMessage()
        if not ours and record.args and (len(text) > MAX_FOREIGN_MESSAGE_CHARS
                                         or not _plain(record.args)):
            text = f"{record.msg} [arguments withheld: they may hold users' messages]"
        record.msg = self.redact(text)
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            trace = logging.Formatter().formatException(record.exc_info) if ours \
                else f"{type(error).__name__}: {str(error)[:MAX_FOREIGN_MESSAGE_CHARS]}"
            record.exc_text = self.redact(trace)
            record.exc_info = None
        return True


def _plain(args: object) -> bool:
    """Whether a record's arguments are plain values (numbers, short words), not data."""
    values = args.values() if isinstance(args, dict) else args
    if not isinstance(values, Iterable) or isinstance(values, str):
        values = (values,)
    return all(isinstance(v, int | float | str | bool | None) for v in values)


def configure_logging(level: str, secrets: Iterable[str] = ()) -> None:
    """Log to stderr at `level`, through the secret filter, with the chatty loggers quiet."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(SecretFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


class ThrottledLog:
    """One kind of warning written at most once per `seconds`, the next line counting the
    ones left out: a fault that repeats for every update or connection says so without
    flooding the log (236,291 lines in 15 s were seen without it)."""

    def __init__(self, logger: logging.Logger, seconds: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._logger, self._seconds, self._clock = logger, seconds, clock
        self._last: float | None = None
        self._left_out = 0

    def warning(self, template: str, *args: object) -> None:
        now = self._clock()
        if self._last is not None and now - self._last < self._seconds:
            self._left_out += 1
            return
        if self._left_out:
            template += f" (and {self._left_out} more like it in the last %.0f s)"
            args = (*args, now - self._last if self._last is not None else 0.0)
        self._logger.warning(template, *args)
        self._last, self._left_out = now, 0
