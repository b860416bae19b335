"""A local stand-in for the Telegram Bot API server, for end-to-end tests and benchmarks.

Test support, not part of the bot: it needs the ``test`` (or ``bench``) extra for aiohttp.

- :mod:`bot_testing.wire`: the wire format (parameters, text entities, error answers);
- :mod:`bot_testing.server`: :class:`BotAPIStub`, the aiohttp server, and observing the bot;
- :mod:`bot_testing.world`: the fake Telegram (chats, messages, files, pending updates);
- :mod:`bot_testing.methods`: the Bot API methods, as what they do to that world;
- :mod:`bot_testing.updates`: the ``push_*`` helpers, what users do;
- :mod:`bot_testing.faults`: failed calls, scripted or random, and slow answers;
- :mod:`bot_testing.ptb`: :func:`polling`, a python-telegram-bot Application run against it;
- :mod:`bot_testing.offline`: :class:`OfflineRequest`, no server at all, for handler tests;
- :mod:`bot_testing.postgres`: :class:`PostgresServer`, a real PostgreSQL server in a
  temporary folder, for the PostgreSQL store (DATABASE_URL).
"""

from bot_testing.ptb import polling
from bot_testing.server import DEFAULT_TOKEN, BotAPIStub
from bot_testing.wire import ApiCall, ApiError, UploadedFile
from bot_testing.world import (
    DEFAULT_GROUP_ID,
    DEFAULT_LANGUAGE,
    DEFAULT_SENDER,
    DEFAULT_USER_ID,
    Sender,
)

__all__ = [
    "DEFAULT_GROUP_ID",
    "DEFAULT_LANGUAGE",
    "DEFAULT_SENDER",
    "DEFAULT_TOKEN",
    "DEFAULT_USER_ID",
    "ApiCall",
    "ApiError",
    "BotAPIStub",
    "Sender",
    "UploadedFile",
    "polling",
]
