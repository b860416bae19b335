"""The Bot API's wire format, as the stand-in speaks it.

PTB calls ``POST {base_url}{token}/{method}`` with every parameter as a form field
(``application/x-www-form-urlencoded``, or ``multipart/form-data`` when a file is uploaded);
strings are sent as they are and every other value (numbers, booleans, objects such as
``reply_markup``) is JSON-encoded. Answers are ``{"ok": true, "result": ...}`` or Telegram's
error JSON. Text entity offsets and lengths count UTF-16 code units.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http import HTTPStatus
from typing import Any

from aiohttp import web

JSON = dict[str, Any]

# Form fields holding free text or opaque ids: never JSON-decoded, even when they look numeric.
_TEXT_FIELDS = frozenset({"text", "caption", "callback_query_id", "inline_query_id", "file_id",
                          "document", "url"})
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
# The tags of Telegram's HTML parse mode.
_HTML_TAGS = frozenset({"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span",
                        "tg-spoiler", "a", "tg-emoji", "code", "pre", "blockquote"})
_UNPARSABLE = "Bad Request: can't parse entities"
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


def unix_now() -> int:
    """The current time as Telegram dates messages: whole seconds since the epoch."""
    return int(time.time())


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _text_entities(text: str) -> list[JSON]:
    """The bot_command and mention entities Telegram would attach to ``text``."""
    return [
        {
            "type": match.lastgroup,
            "offset": utf16_len(text[: match.start()]),
            "length": utf16_len(match.group()),
        }
        for match in _ENTITY_PATTERN.finditer(text)
    ]


def text_content(text: str) -> JSON:
    """The ``text`` field of a message, with ``entities`` when it has any."""
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


async def read_params(request: web.Request) -> JSON:
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


def inline_markup(params: JSON) -> JSON | None:
    """The inline keyboard of a request; Telegram only echoes inline keyboards in messages."""
    markup = params.get("reply_markup")
    return markup if isinstance(markup, dict) and "inline_keyboard" in markup else None


class _TelegramHtml(HTMLParser):
    """Telegram's HTML parse mode, as far as refusing what it refuses: tags it does not know
    and tags left open or closed out of turn."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _HTML_TAGS:
            raise ApiError(400, f'{_UNPARSABLE}: Unsupported start tag "{tag}"')
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open.pop() != tag:
            raise ApiError(400, f'{_UNPARSABLE}: Unexpected end tag "{tag}"')


def check_html(text: str) -> None:
    """Raise Telegram's error for a text its HTML parse mode would refuse."""
    parser = _TelegramHtml()
    parser.feed(text)
    parser.close()
    if parser.open:
        raise ApiError(400, f"{_UNPARSABLE}: Can't find end tag corresponding to start tag "
                            f'"{parser.open[-1]}"')
