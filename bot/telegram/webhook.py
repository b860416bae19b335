"""The webhook: the HTTP server Telegram posts updates to, when WEBHOOK_URL is set.

python-telegram-bot's own server (run_webhook) read every body whole before looking at the
secret (16 posts of 99 MB without it took the process to 1.94 GB), kept no bound on
connections (slow ones ran the process out of file descriptors, and asyncio logged 236,291
lines in 15 s), and answered an update it could not read 400 with the update, text included,
in a CRITICAL line. This one, on tornado as python-telegram-bot's is:
- checks the secret header, and the announced size, once the headers are in: a post without
  the secret is answered 403, one over MAX_BODY_BYTES 413, and the connection closed, the
  body never read;
- holds at most max_connections() connections (the oldest closed for a new one) and gives
  each HEADER_TIMEOUT_SECONDS for its headers and BODY_TIMEOUT_SECONDS for its body, the
  refusals written one line a minute;
- makes an update python-telegram-bot cannot read a bare one of the same id, as polling does,
  answered 200 so that Telegram does not send it again, only its id logged;
- puts each update in the application's queue (the durable inbox) before answering 200.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import resource
import signal
import socket
from collections import OrderedDict
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any

from telegram import Update
from tornado.httpserver import HTTPServer
from tornado.iostream import IOStream
from tornado.web import Application as TornadoApplication
from tornado.web import RequestHandler, stream_request_body

from bot.config import Settings
from bot.logs import ThrottledLog
from bot.telegram.health import listening, monitoring_routes
from bot.telegram.ptb import BotApplication, update_from

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Telegram's updates are small (a message holds at most 4,096 characters; a long one with its
# entities and a reply is some tens of kB): a megabyte leaves room and bounds memory.
MAX_BODY_BYTES = 1_000_000
# Telegram opens at most 100 connections at once (setWebhook's max_connections, 40 by
# default); the rest of the file descriptors are kept for the bot's own work.
MAX_CONNECTIONS = 200
HEADER_TIMEOUT_SECONDS = 10.0
BODY_TIMEOUT_SECONDS = 10.0


class Receiver:
    """What the handler needs of the bot: where updates go, and the secret."""

    def __init__(self, application: BotApplication, secret: str) -> None:
        self.application = application
        self.secret = secret.encode()
        self.refusals = ThrottledLog(log)

    def refusal(self, headers: Any) -> int | None:
        """The status a post is refused with, from its headers alone, or None."""
        given = str(headers.get(SECRET_HEADER, "")).encode()
        if not hmac.compare_digest(given, self.secret):
            return 403
        try:
            length = int(headers.get("Content-Length", "0"))
        except ValueError:
            return 400
        return 413 if length > MAX_BODY_BYTES else None

    def update(self, body: bytes) -> Update | None:
        """The update posted, made bare if python-telegram-bot cannot read it; None for a
        body that is no update at all."""
        try:
            data = json.loads(body)
        except ValueError:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            return None
        return update_from(data, self.application.bot, "update")


@stream_request_body
class UpdateHandler(RequestHandler):
    """One post from Telegram: refused from its headers, or read (bounded), queued, 200."""

    SUPPORTED_METHODS = ("POST",)

    def initialize(self, receiver: Receiver) -> None:
        self.receiver = receiver
        self.body = bytearray()

    async def prepare(self) -> None:
        status = self.receiver.refusal(self.request.headers)
        if status is None:
            return
        self.receiver.refusals.warning("webhook post refused (%d) before its body was read",
                                       status)
        self.set_status(status)
        await self.finish()
        # The body is not read: with a zero limit, tornado closes the connection instead.
        assert self.request.connection is not None
        self.request.connection.set_max_body_size(0)  # type: ignore[attr-defined]

    def data_received(self, chunk: bytes) -> None:
        self.body += chunk  # tornado stops a body past max_body_size (chunked ones too)

    async def post(self) -> None:
        update = self.receiver.update(bytes(self.body))
        if update is None:
            self.set_status(400)
            return
        application = self.receiver.application
        application.bot_data.health.heard_from_telegram()
        await application.update_queue.put(update)
        self.set_status(200)

    def log_exception(self, typ: type[BaseException] | None, value: BaseException | None,
                      tb: TracebackType | None) -> None:
        """Tornado would log the request, and a failing handler's traceback, both of which
        could hold an update: one line naming the error is enough."""
        log.error("webhook post failed: %s", typ.__name__ if typ else "?")


class BoundedHTTPServer(HTTPServer):
    """tornado's HTTP server holding at most `limit` connections: a new one closes the
    oldest, which under a flood of idle or slow connections is one of those, while Telegram's
    posts take milliseconds."""

    def initialize(self, *args: Any, limit: int = MAX_CONNECTIONS,
                   **kwargs: Any) -> None:
        super().initialize(*args, **kwargs)
        self.limit = limit
        self.streams: OrderedDict[IOStream, None] = OrderedDict()
        self.evictions = ThrottledLog(log)

    def handle_stream(self, stream: IOStream, address: tuple[Any, ...]) -> None:
        for closed in [s for s in self.streams if s.closed()]:
            del self.streams[closed]
        while len(self.streams) >= self.limit:
            oldest, _ = self.streams.popitem(last=False)
            oldest.close()
            self.evictions.warning("webhook connections at their limit (%d): the oldest closed",
                                   self.limit)
        self.streams[stream] = None
        super().handle_stream(stream, address)


def max_connections() -> int:
    """MAX_CONNECTIONS, or half the file descriptors the process may open if fewer."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return MAX_CONNECTIONS if soft == resource.RLIM_INFINITY else min(MAX_CONNECTIONS,
                                                                       soft // 2)


def webhook_server(application: BotApplication, url_path: str, secret: str) -> HTTPServer:
    """The server, not yet listening: updates are posted to /<url_path>; /healthz, /readyz
    and /metrics are read there too (bot.telegram.health)."""
    routes = TornadoApplication([(f"/{url_path.strip('/')}", UpdateHandler,
                                  {"receiver": Receiver(application, secret)}),
                                 *monitoring_routes(application.bot_data)])
    return BoundedHTTPServer(routes, limit=max_connections(), max_body_size=MAX_BODY_BYTES,
                             idle_connection_timeout=HEADER_TIMEOUT_SECONDS,
                             body_timeout=BODY_TIMEOUT_SECONDS, decompress_request=False)


@contextlib.asynccontextmanager
async def serving_webhook(application: BotApplication, settings: Settings, secret: str,
                          sockets: list[socket.socket]) -> AsyncIterator[None]:
    """Run the bot on a webhook for the block, as run_webhook would: initialize and
    post_init, listen on `sockets`, tell Telegram the URL and the secret, start; then stop
    listening, let the updates in hand be handled, shut down and post_shutdown."""
    assert settings.webhook_url is not None
    await application.initialize()
    try:
        if application.post_init is not None:
            await application.post_init(application)
        server = webhook_server(application, settings.webhook_url.path or "", secret)
        server.add_sockets(sockets)
        try:
            await application.bot.set_webhook(str(settings.webhook_url), secret_token=secret,
                                              allowed_updates=Update.ALL_TYPES)
            await application.start()
            try:
                yield
            finally:
                server.stop()  # nothing new comes in; the updates in hand are handled
                await application.stop()
        finally:
            server.stop()  # does nothing if stopped already
            await server.close_all_connections()
    finally:
        await application.shutdown()
        if application.post_shutdown is not None:
            await application.post_shutdown(application)


async def run_webhook(application: BotApplication, settings: Settings, secret: str) -> None:
    """Serve the webhook on WEBHOOK_LISTEN:WEBHOOK_PORT until SIGINT or SIGTERM."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    sockets = listening(settings.webhook_port, settings.webhook_listen,
                        "WEBHOOK_LISTEN, WEBHOOK_PORT")
    async with serving_webhook(application, settings, secret, sockets):
        log.info("webhook listening on %s:%d", settings.webhook_listen, settings.webhook_port)
        await stopping.wait()
