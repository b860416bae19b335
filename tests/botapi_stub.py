"""A local stand-in for the Telegram Bot API server, for end-to-end tests.

Point python-telegram-bot at it with::

    async with BotAPIStub() as stub:
        app = (
            ApplicationBuilder()
            .token(stub.token)
            .base_url(stub.base_url)
            .base_file_url(stub.base_file_url)
            .build()
        )

PTB calls ``POST {base_url}{token}/{method}`` with every parameter as a form field
(``application/x-www-form-urlencoded``, or ``multipart/form-data`` when a file is uploaded);
strings are sent as they are and every other value (numbers, booleans, objects such as
``reply_markup``) is JSON-encoded. Files are downloaded with ``GET {base_file_url}{token}/{path}``.

Tests inject updates with the ``push_*`` helpers, observe the bot through :attr:`BotAPIStub.calls`
and :meth:`BotAPIStub.wait_for`, and make calls fail with :meth:`BotAPIStub.fail_next` (the
next calls) or :meth:`BotAPIStub.fail_randomly` (a share of all calls, for load tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import random
import re
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import PurePosixPath
from types import TracebackType
from typing import Any

from aiohttp import web
from telegram.ext import Application

JSON = dict[str, Any]

DEFAULT_TOKEN = "123456:TEST-token"
DEFAULT_USER_ID = 1001
DEFAULT_GROUP_ID = -1002
DEFAULT_LANGUAGE = "fr"

# Form fields holding free text or opaque ids: never JSON-decoded, even when they look numeric.
_TEXT_FIELDS = frozenset({"text", "caption", "callback_query_id", "file_id", "document", "url"})
# Statuses a reverse proxy answers by itself, with an HTML page instead of Telegram's JSON.
_PROXY_STATUSES = frozenset({502, 503, 504})
_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running",
    500: "Internal Server Error",
}
_MAX_TEXT_LENGTH = 4096
_MAX_UPLOAD_SIZE = 50 * 1024 * 1024  # the Bot API's limit for files sent by bots
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
# Bot commands ("/start", "/start@some_bot") and @mentions, as Telegram's clients detect them.
_ENTITY_PATTERN = re.compile(
    r"(?<!\S)(?P<bot_command>/\w{1,32}(?:@\w{5,32})?)|(?<![\w@/])(?P<mention>@\w{5,32})"
)


@dataclass(frozen=True)
class ApiCall:
    """One answered Bot API request: the method, its decoded parameters and the outcome."""

    method: str
    params: JSON
    status: int = HTTPStatus.OK
    result: Any = None
    at: float = field(default_factory=time.monotonic, compare=False)
    """When the answer was given, on the ``time.monotonic`` clock."""

    @property
    def ok(self) -> bool:
        """Whether the call succeeded (for sendMessage: whether the message was delivered)."""
        return self.status == HTTPStatus.OK


@dataclass(frozen=True)
class UploadedFile:
    """A file sent as a part of a multipart request."""

    filename: str | None
    content_type: str
    data: bytes


class ApiError(Exception):
    """An error answer of the Bot API: raised by method handlers, queued by ``fail_next``."""

    def __init__(
        self, status: int, description: str | None = None, retry_after: int | None = None
    ) -> None:
        self.status = status
        self.retry_after = retry_after
        if description is None and status == HTTPStatus.TOO_MANY_REQUESTS:
            description = f"Too Many Requests: retry after {retry_after}"
        self.description = description or _DESCRIPTIONS.get(status) or HTTPStatus(status).phrase
        super().__init__(f"{status}: {self.description}")

    def response(self) -> web.Response:
        """The HTTP answer: Telegram's error JSON, or a bare page for proxy errors."""
        if self.status in _PROXY_STATUSES:
            title = f"{self.status} {HTTPStatus(self.status).phrase}"
            page = (
                f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
                f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
                "</body>\r\n</html>\r\n"
            )
            return web.Response(status=self.status, text=page, content_type="text/html")
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return web.json_response(body, status=self.status)


def _now() -> int:
    return int(time.time())


def _utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _text_entities(text: str) -> list[JSON]:
    """The bot_command and mention entities Telegram would attach to ``text``."""
    return [
        {
            "type": match.lastgroup,
            "offset": _utf16_len(text[: match.start()]),
            "length": _utf16_len(match.group()),
        }
        for match in _ENTITY_PATTERN.finditer(text)
    ]


def _text_content(text: str) -> JSON:
    entities = _text_entities(text)
    return {"text": text, "entities": entities} if entities else {"text": text}


def _decode(key: str, value: Any) -> Any:
    """Decode a form value the way the Bot API does: JSON, unless it is text or not JSON."""
    if not isinstance(value, str) or key in _TEXT_FIELDS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


async def _read_params(request: web.Request) -> JSON:
    """The request's parameters from its query string and a form, multipart or JSON body."""
    fields: JSON = dict(request.query)
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ApiError(400, "Bad Request: can't parse JSON object")
        return {**{key: _decode(key, value) for key, value in fields.items()}, **body}
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for key, value in (await request.post()).items():
            fields[key] = (
                UploadedFile(value.filename, value.content_type, value.file.read())
                if isinstance(value, web.FileField)
                else value
            )
    return {key: _decode(key, value) for key, value in fields.items()}


def _suffix(file_name: str) -> str:
    return PurePosixPath(file_name).suffix


def _inline_markup(params: JSON) -> JSON | None:
    """The inline keyboard of a request; Telegram only echoes inline keyboards in messages."""
    markup = params.get("reply_markup")
    return markup if isinstance(markup, dict) and "inline_keyboard" in markup else None


class BotAPIStub:
    """A fake Bot API server on 127.0.0.1 with a scriptable chat on the other side.

    State is kept in memory: pending updates, every message (the users' and the bot's), uploaded
    files and the bot's commands. Message and update ids are global and increasing.
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_username: str = "stub_test_bot",
        bot_first_name: str = "Stub Bot",
    ) -> None:
        """Create a stub accepting ``token`` (``"<bot id>:<secret>"``) for a bot of that name."""
        self.token = token
        self._sender: JSON = {
            "id": int(token.partition(":")[0]),
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self.bot_user: JSON = self._sender | {
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        """The bot as getMe describes it."""
        self.calls: list[ApiCall] = []
        """Every answered API request in the order of the answers, failed ones included."""
        self.downloads: list[str] = []
        """The path of every file served."""
        self._updates: list[JSON] = []
        self._messages: dict[tuple[int, int], JSON] = {}
        self._chats: dict[int, JSON] = {}
        self._files: dict[str, JSON] = {}
        self._file_data: dict[str, bytes] = {}
        self._commands: dict[tuple[str, str], list[JSON]] = {}
        self._open_callback_queries: set[str] = set()
        self._faults: dict[str, deque[ApiError]] = {}
        self._random_faults: dict[str, tuple[float, tuple[int, ...], random.Random]] = {}
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._file_numbers = itertools.count(1)
        self._callback_ids = itertools.count(4_000_000_001)
        self._changed = asyncio.Event()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        handlers: dict[str, Callable[[JSON], Awaitable[Any]]] = {
            "getMe": self._get_me,
            "logOut": self._return_true,
            "close": self._return_true,
            "deleteWebhook": self._delete_webhook,
            "getUpdates": self._get_updates,
            "sendMessage": self._send_message,
            "sendDocument": self._send_document,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "answerCallbackQuery": self._answer_callback_query,
            "sendChatAction": self._send_chat_action,
            "setMyCommands": self._set_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "getMyCommands": self._get_my_commands,
            "getFile": self._get_file,
        }
        # Bot API method names are case-insensitive.
        self._methods = {name.lower(): (name, handler) for name, handler in handlers.items()}

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

    def calls_of(self, method: str, *, ok: bool | None = None) -> list[ApiCall]:
        """Recorded calls of ``method``: all of them, or only the succeeded/failed ones."""
        name = self._canonical(method)
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
        wanted = f"{count} successful {self._canonical(method)} call(s){matched}"
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

    def fail_next(
        self,
        method: str,
        status: int,
        times: int = 1,
        retry_after: int | None = None,
        description: str | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail with HTTP ``status``.

        502, 503 and 504 come as a bare proxy error page; other statuses as Telegram's error JSON
        with ``description`` (a typical one by default). A 429 always carries
        ``parameters.retry_after`` (``retry_after`` seconds, 1 by default), as Telegram's do.
        """
        if status == HTTPStatus.TOO_MANY_REQUESTS:
            retry_after = 1 if retry_after is None else retry_after
        elif retry_after is not None:
            raise ValueError("retry_after only goes with status 429")
        queue = self._faults.setdefault(self._canonical(method), deque())
        queue.extend(ApiError(status, description, retry_after) for _ in range(times))

    def fail_randomly(
        self, method: str, rate: float, statuses: tuple[int, ...], seed: int = 0
    ) -> None:
        """Make each call of ``method`` fail with probability ``rate`` (after any queued
        ``fail_next`` faults), with one of ``statuses`` drawn at random; reproducible from
        ``seed``. A 429 carries a retry_after of 1 s. A ``rate`` of 0 stops the faults."""
        if not 0 <= rate <= 1:
            raise ValueError("rate must be between 0 and 1")
        self._random_faults[self._canonical(method)] = (rate, statuses, random.Random(seed))

    def _random_fault(self, method: str) -> ApiError | None:
        if method not in self._random_faults:
            return None
        rate, statuses, draw = self._random_faults[method]
        if draw.random() >= rate:
            return None
        status = draw.choice(statuses)
        return ApiError(status, retry_after=1 if status == HTTPStatus.TOO_MANY_REQUESTS else None)

    # -- injecting updates -------------------------------------------------------------------

    def push_text(
        self,
        text: str,
        *,
        user_id: int = DEFAULT_USER_ID,
        language_code: str | None = DEFAULT_LANGUAGE,
        chat_id: int | None = None,
        mention_bot: bool = False,
        reply_to: JSON | None = None,
    ) -> JSON:
        """Send ``text`` to the bot and return the message.

        Bot commands ("/start", "/start@bot") and @mentions get their entities. The chat is the
        user's private chat, or the group ``chat_id``. ``mention_bot`` prefixes the bot's
        @username; ``reply_to`` is a message (e.g. one the bot sent) to reply to.
        """
        if mention_bot:
            text = f"@{self.bot_user['username']} {text}"
        content = _text_content(text)
        if reply_to is not None:
            content["reply_to_message"] = self._current(reply_to)
        return self._push_message(content, user_id, language_code, chat_id)

    def push_group_text(
        self,
        text: str,
        *,
        chat_id: int = DEFAULT_GROUP_ID,
        user_id: int = DEFAULT_USER_ID,
        language_code: str | None = DEFAULT_LANGUAGE,
        mention_bot: bool = False,
        reply_to: JSON | None = None,
    ) -> JSON:
        """Send ``text`` to the bot in a group chat; see :meth:`push_text`."""
        return self.push_text(
            text,
            user_id=user_id,
            language_code=language_code,
            chat_id=chat_id,
            mention_bot=mention_bot,
            reply_to=reply_to,
        )

    def push_edited_text(self, message: JSON, text: str) -> JSON:
        """Edit a message pushed earlier to read ``text``; return the edited message."""
        stored = self._current(message)
        edited = {key: value for key, value in stored.items() if key != "entities"}
        edited |= {**_text_content(text), "edit_date": _now()}
        self._store(edited)
        self._push_update("edited_message", edited)
        return edited

    def push_sticker(
        self,
        emoji: str = "👍",
        *,
        user_id: int = DEFAULT_USER_ID,
        language_code: str | None = DEFAULT_LANGUAGE,
        chat_id: int | None = None,
    ) -> JSON:
        """Send a (regular, static) sticker to the bot; return the message."""
        sticker = self._add_file(b"RIFF\x00\x00\x00\x00WEBPVP8 ", "stickers", ".webp")
        sticker |= {
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
        }
        return self._push_message({"sticker": sticker}, user_id, language_code, chat_id)

    def push_photo(
        self,
        data: bytes = b"\xff\xd8\xff\xe0 stub jpeg \xff\xd9",
        *,
        caption: str | None = None,
        user_id: int = DEFAULT_USER_ID,
        language_code: str | None = DEFAULT_LANGUAGE,
        chat_id: int | None = None,
    ) -> JSON:
        """Send a photo (a single size, 1280x720) to the bot; return the message."""
        photo = self._add_file(data, "photos", ".jpg") | {"width": 1280, "height": 720}
        content: JSON = {"photo": [photo]}
        if caption is not None:
            content["caption"] = caption
        return self._push_message(content, user_id, language_code, chat_id)

    def push_voice(
        self,
        data: bytes = b"OggS\x00\x02 stub opus",
        *,
        duration: int = 2,
        user_id: int = DEFAULT_USER_ID,
        language_code: str | None = DEFAULT_LANGUAGE,
        chat_id: int | None = None,
    ) -> JSON:
        """Send a voice note to the bot; return the message."""
        voice = self._add_file(data, "voice", ".oga")
        voice |= {"duration": duration, "mime_type": "audio/ogg"}
        return self._push_message({"voice": voice}, user_id, language_code, chat_id)

    def push_document(
        self,
        file_name: str,
        mime_type: str,
        data: bytes,
        *,
        caption: str | None = None,
        user_id: int = DEFAULT_USER_ID,
        language_code: str | None = DEFAULT_LANGUAGE,
        chat_id: int | None = None,
    ) -> JSON:
        """Upload a document to the bot (it can getFile and download it); return the message."""
        document = self._add_file(data, "documents", _suffix(file_name))
        document |= {"file_name": file_name, "mime_type": mime_type}
        content: JSON = {"document": document}
        if caption is not None:
            content["caption"] = caption
        return self._push_message(content, user_id, language_code, chat_id)

    def push_callback_query(
        self,
        message: JSON,
        data: str,
        *,
        user_id: int | None = None,
        language_code: str | None = DEFAULT_LANGUAGE,
    ) -> JSON:
        """Press the inline button with callback ``data`` on a bot message; return the query.

        ``message`` may be a result of the bot's sendMessage (its current version is used). The
        user defaults to the private chat's user, or ``DEFAULT_USER_ID`` in groups.
        """
        chat = message["chat"]
        current = self._current(message)
        buttons = current.get("reply_markup", {}).get("inline_keyboard", [])
        offered = [button.get("callback_data") for row in buttons for button in row]
        if data not in offered:
            raise ValueError(f"no button with callback_data {data!r} on the message: {offered}")
        if user_id is None:
            user_id = chat["id"] if chat["type"] == "private" else DEFAULT_USER_ID
        query = {
            "id": str(next(self._callback_ids)),
            "from": self._user(user_id, language_code),
            "message": current,
            "chat_instance": f"{chat['id']}{self.bot_user['id']}",
            "data": data,
        }
        self._open_callback_queries.add(query["id"])
        self._push_update("callback_query", query)
        return query

    # -- internals ---------------------------------------------------------------------------

    def _canonical(self, method: str) -> str:
        entry = self._methods.get(method.lower())
        return entry[0] if entry else method

    def _notify(self) -> None:
        """Wake up everything waiting for a change (getUpdates, wait_for)."""
        self._changed.set()
        self._changed = asyncio.Event()

    def _record(self, call: ApiCall) -> None:
        self.calls.append(call)
        self._notify()

    def _push_update(self, kind: str, payload: JSON) -> None:
        self._updates.append({"update_id": next(self._update_ids), kind: payload})
        self._notify()

    def _user(self, user_id: int, language_code: str | None) -> JSON:
        user: JSON = {
            "id": user_id,
            "is_bot": False,
            "first_name": f"User{user_id}",
            "username": f"user{user_id}",
        }
        if language_code is not None:
            user["language_code"] = language_code
        return user

    def _chat(self, chat_id: Any) -> JSON:
        """A chat known from the updates, or made up for a numeric id (groups are negative)."""
        if chat_id in self._chats:
            return self._chats[chat_id]
        if not isinstance(chat_id, int):
            raise ApiError(400, "Bad Request: chat not found")
        if chat_id < 0:
            chat = {"id": chat_id, "type": "group", "title": f"Group {-chat_id}"}
        else:
            chat = {"id": chat_id, "type": "private", "first_name": f"User{chat_id}"}
            chat["username"] = f"user{chat_id}"
        return self._chats.setdefault(chat_id, chat)

    def _push_message(
        self, content: JSON, user_id: int, language_code: str | None, chat_id: int | None
    ) -> JSON:
        if chat_id is not None and chat_id >= 0:
            raise ValueError("a group chat_id must be negative; omit it for the private chat")
        message = {
            "message_id": next(self._message_ids),
            "from": self._user(user_id, language_code),
            "chat": self._chat(user_id if chat_id is None else chat_id),
            "date": _now(),
            **content,
        }
        self._store(message)
        self._push_update("message", message)
        return message

    def _store(self, message: JSON) -> None:
        self._messages[(message["chat"]["id"], message["message_id"])] = message

    def _current(self, message: JSON) -> JSON:
        """The current version of a message the stub knows (for the push helpers)."""
        key = (message["chat"]["id"], message["message_id"])
        if key not in self._messages:
            raise ValueError(f"unknown message (chat_id, message_id) = {key}")
        return self._messages[key]

    def _message(self, chat_id: Any, message_id: Any, missing: str) -> JSON:
        """A stored message, as looked up by an API call."""
        try:
            return self._messages[(chat_id, message_id)]
        except KeyError:
            raise ApiError(400, f"Bad Request: {missing}") from None

    def _add_file(self, data: bytes, folder: str, suffix: str) -> JSON:
        """Store a file for getFile and downloads; return its file_id/file_unique_id/size."""
        number = next(self._file_numbers)
        meta = {
            "file_id": f"stub-{folder}-{number}",
            "file_unique_id": f"stub-uniq-{number}",
            "file_size": len(data),
        }
        path = f"{folder}/file_{number}{suffix}"
        self._files[meta["file_id"]] = meta | {"file_path": path}
        self._file_data[path] = data
        return meta

    def _bot_message(self, params: JSON, content: JSON) -> JSON:
        """Store and return a message the bot sends with ``params`` (chat, markup, reply)."""
        chat = self._chat(params.get("chat_id"))
        message = {
            "message_id": next(self._message_ids),
            "from": self._sender,
            "chat": chat,
            "date": _now(),
            **content,
        }
        if markup := _inline_markup(params):
            message["reply_markup"] = markup
        reply_parameters = params.get("reply_parameters") or {}
        if "message_id" in reply_parameters:
            message["reply_to_message"] = self._message(
                chat["id"], reply_parameters["message_id"], "message to be replied not found"
            )
        self._store(message)
        return message

    def _edit(self, params: JSON, text: str | None) -> JSON:
        """Set the text (unless None) and the request's inline keyboard of a bot's message."""
        message = self._message(
            params.get("chat_id"), params.get("message_id"), "message to edit not found"
        )
        if message["from"]["id"] != self.bot_user["id"]:
            raise ApiError(400, "Bad Request: message can't be edited")
        edited = {key: value for key, value in message.items() if key != "reply_markup"}
        if text is not None:
            edited = {key: value for key, value in edited.items() if key != "entities"}
            edited |= _text_content(text)
        if markup := _inline_markup(params):
            edited["reply_markup"] = markup
        if edited == message:
            raise ApiError(400, _NOT_MODIFIED)
        edited["edit_date"] = _now()
        self._store(edited)
        return edited

    @staticmethod
    def _message_text(params: JSON) -> str:
        text = str(params.get("text", ""))
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if _utf16_len(text) > _MAX_TEXT_LENGTH:
            raise ApiError(400, "Bad Request: message is too long")
        return text

    # -- HTTP handlers -----------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.Response:
        name = request.match_info["method"]
        method, handler = self._methods.get(name.lower(), (name, None))
        params: JSON = {}
        try:
            params = await _read_params(request)
            if request.match_info["token"] != self.token:
                raise ApiError(401)
            if self._faults.get(method):
                raise self._faults[method].popleft()
            if fault := self._random_fault(method):
                raise fault
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

    # -- Bot API methods ---------------------------------------------------------------------

    async def _return_true(self, _params: JSON) -> bool:
        return True

    async def _get_me(self, _params: JSON) -> JSON:
        return self.bot_user

    async def _delete_webhook(self, params: JSON) -> bool:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _get_updates(self, params: JSON) -> list[JSON]:
        """Confirm updates below ``offset``, then long-poll up to ``timeout`` s for new ones."""
        offset = int(params.get("offset", 0))
        if offset > 0:
            self._updates = [update for update in self._updates if update["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]
        limit = min(max(int(params.get("limit", 100)), 1), 100)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(float(params.get("timeout", 0)), 0.0)):
                while not self._updates and not self._closing:
                    await self._changed.wait()
        return self._updates[:limit]

    async def _send_message(self, params: JSON) -> JSON:
        return self._bot_message(params, _text_content(self._message_text(params)))

    async def _send_document(self, params: JSON) -> JSON:
        document = params.get("document")
        if isinstance(document, UploadedFile):
            file_name = document.filename or "document"
            meta = self._add_file(document.data, "documents", _suffix(file_name))
            meta |= {"file_name": file_name, "mime_type": document.content_type}
        elif document in self._files:
            meta = {
                key: value for key, value in self._files[document].items() if key != "file_path"
            }
        else:
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        content: JSON = {"document": meta}
        if params.get("caption"):
            content["caption"] = params["caption"]
        return self._bot_message(params, content)

    async def _edit_message_text(self, params: JSON) -> JSON:
        return self._edit(params, self._message_text(params))

    async def _edit_message_reply_markup(self, params: JSON) -> JSON:
        return self._edit(params, None)

    async def _answer_callback_query(self, params: JSON) -> bool:
        query_id = params.get("callback_query_id")
        if query_id not in self._open_callback_queries:
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        self._open_callback_queries.remove(query_id)
        return True

    async def _send_chat_action(self, params: JSON) -> bool:
        self._chat(params.get("chat_id"))
        return True

    @staticmethod
    def _commands_key(params: JSON) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), params.get("language_code") or ""

    async def _set_my_commands(self, params: JSON) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise ApiError(400, "Bad Request: can't parse commands JSON object")
        self._commands[self._commands_key(params)] = commands
        return True

    async def _delete_my_commands(self, params: JSON) -> bool:
        self._commands.pop(self._commands_key(params), None)
        return True

    async def _get_my_commands(self, params: JSON) -> list[JSON]:
        return self._commands.get(self._commands_key(params), [])

    async def _get_file(self, params: JSON) -> JSON:
        file_id = params.get("file_id")
        if file_id not in self._files:
            raise ApiError(400, "Bad Request: invalid file_id")
        return self._files[file_id]


@contextlib.asynccontextmanager
async def polling(
    app: Application,
    after_initialize: Callable[[Application], Awaitable[None]] | None = None,
) -> AsyncIterator[Application]:
    """Run ``app`` with long polling (against the stub its base_url names) for the block, as
    ``run_polling`` would: initialize, ``after_initialize`` (say ``app.post_init``), start."""
    await app.initialize()
    try:
        if after_initialize is not None:
            await after_initialize(app)
        await app.start()
        await app.updater.start_polling(poll_interval=0.0, timeout=1)
        yield app
    finally:
        if app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()
