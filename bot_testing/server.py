"""The stand-in's HTTP server: an aiohttp app on 127.0.0.1 that answers Bot API calls.

Point python-telegram-bot at it with::

    async with BotAPIStub() as stub:
        app = (
            ApplicationBuilder()
            .token(stub.token)
            .base_url(stub.base_url)
            .base_file_url(stub.base_file_url)
            .build()
        )

Tests inject updates with the ``push_*`` helpers, observe the bot through :attr:`BotAPIStub.calls`
and :meth:`BotAPIStub.wait_for`, and make calls fail with :meth:`BotAPIStub.fail_next` (the
next calls) or :meth:`BotAPIStub.fail_randomly` (a share of all calls, for load tests), and
answer late with :meth:`BotAPIStub.delay_next`.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from http import HTTPStatus
from types import TracebackType

from aiohttp import web

from bot_testing.faults import FaultInjection
from bot_testing.methods import ApiMethods, canonical
from bot_testing.updates import UpdateBuilders
from bot_testing.wire import JSON, ApiCall, ApiError, read_params
from bot_testing.world import World

DEFAULT_TOKEN = "123456:TEST-token"
_MAX_UPLOAD_SIZE = 50 * 1024 * 1024  # the Bot API's limit for files sent by bots


class BotAPIStub(UpdateBuilders, ApiMethods, FaultInjection):
    """A fake Bot API server on 127.0.0.1 with a scriptable chat on the other side."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_username: str = "stub_test_bot",
        bot_first_name: str = "Stub Bot",
    ) -> None:
        """Create a stub accepting ``token`` (``"<bot id>:<secret>"``) for a bot of that name."""
        World.__init__(self, int(token.partition(":")[0]), bot_username, bot_first_name)
        FaultInjection.__init__(self)
        self._init_webhook()
        self.token = token
        self.calls: list[ApiCall] = []
        """Every answered API request in the order of the answers, failed ones included."""
        self.downloads: list[str] = []
        """The path of every file served."""
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Start serving on a free port of 127.0.0.1."""
        app = web.Application(client_max_size=_MAX_UPLOAD_SIZE)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_download)
        # No access log: its lines would carry the token.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Release pending getUpdates requests and shut the server down."""
        self._closing = True
        self._notify()
        await self._drop_webhook()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> BotAPIStub:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """Value for ``ApplicationBuilder.base_url``: PTB appends the token and ``/method``."""
        return f"{self._origin}/bot"

    @property
    def base_file_url(self) -> str:
        """Value for ``ApplicationBuilder.base_file_url``: PTB appends the token and ``/path``."""
        return f"{self._origin}/file/bot"

    @property
    def _origin(self) -> str:
        if self._port is None:
            raise RuntimeError("BotAPIStub is not started")
        return f"http://127.0.0.1:{self._port}"

    # -- observing the bot -------------------------------------------------------------------

    @property
    def pending_updates(self) -> int:
        """How many updates the bot has not yet confirmed (getUpdates) or been posted
        (webhook)."""
        return len(self._updates)

    def calls_of(self, method: str, *, ok: bool | None = None) -> list[ApiCall]:
        """Recorded calls of ``method``: all of them, or only the succeeded/failed ones."""
        name = canonical(method)
        return [
            call for call in self.calls if call.method == name and (ok is None or call.ok == ok)
        ]

    async def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,
        predicate: Callable[[ApiCall], bool] | None = None,
    ) -> list[ApiCall]:
        """Wait until ``count`` calls of ``method`` (matching ``predicate``) have succeeded.

        Returns all such calls so far; raises AssertionError describing the calls received if
        ``timeout`` seconds pass first.
        """

        def matching() -> list[ApiCall]:
            calls = self.calls_of(method, ok=True)
            return [call for call in calls if predicate is None or predicate(call)]

        try:
            async with asyncio.timeout(timeout):
                while len(found := matching()) < count:
                    await self._changed.wait()
        except TimeoutError:
            raise AssertionError(self._describe_wait(method, count, timeout, predicate)) from None
        return found

    def _describe_wait(
        self, method: str, count: int, timeout: float, predicate: Callable[[ApiCall], bool] | None
    ) -> str:
        matched = "" if predicate is None else " matching the predicate"
        wanted = f"{count} successful {canonical(method)} call(s){matched}"
        own_calls = [
            f"  {'ok' if call.ok else f'failed {call.status}'}: {call.params}"
            for call in self.calls_of(method)
        ]
        totals = Counter(call.method for call in self.calls)
        return "\n".join(
            [
                f"Timed out after {timeout}s waiting for {wanted}. Calls of that method:",
                *(own_calls or ["  (none)"]),
                "All calls: " + (", ".join(f"{m} x{n}" for m, n in totals.items()) or "none"),
            ]
        )

    # -- HTTP handlers -----------------------------------------------------------------------

    def _record(self, call: ApiCall) -> None:
        self.calls.append(call)
        self._notify()

    async def _handle_api(self, request: web.Request) -> web.Response:
        name = request.match_info["method"]
        method = canonical(name)
        params: JSON = {}
        try:
            params = await read_params(request)
            if request.match_info["token"] != self.token:
                raise ApiError(401)
            if delay := self._next_delay(method):
                # aiohttp lets a handler finish when its client leaves (handler_cancellation
                # is off): the call is carried out even if the bot has stopped waiting.
                await asyncio.sleep(delay)
            if fault := self._next_fault(method):
                raise fault
            handler = self._handler(method)
            if handler is None:
                raise ApiError(404, f"Not Found: method {name} is not implemented by BotAPIStub")
            result = await handler(params)
        except ApiError as error:
            self._record(ApiCall(method, params, error.status))
            return error.response()
        self._record(ApiCall(method, params, HTTPStatus.OK, result))
        return web.json_response({"ok": True, "result": result})

    async def _handle_download(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        if request.match_info["token"] != self.token:
            return ApiError(401).response()
        if path not in self._file_data:
            return ApiError(404).response()
        self.downloads.append(path)
        return web.Response(body=self._file_data[path], content_type="application/octet-stream")
