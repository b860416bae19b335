"""The Bot API methods the stand-in implements, as what they do to the fake world.

Each handler takes the decoded parameters and returns the ``result``, or raises
:class:`~bot_testing.wire.ApiError` with the answer Telegram would give.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from pathlib import PurePosixPath
from typing import Any

from bot_testing.webhook import WebhookDelivery
from bot_testing.wire import (
    JSON,
    ApiError,
    UploadedFile,
    check_html,
    inline_markup,
    text_content,
    unix_now,
    utf16_len,
)

_MAX_TEXT_LENGTH = 4096
_MAX_INLINE_RESULTS = 50
_MAX_RESULT_ID_BYTES = 64
_QUERY_GONE = "Bad Request: query is too old and response timeout expired or query ID is invalid"
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
# Method name -> handler attribute of ApiMethods.
_HANDLERS = {
    "getMe": "_get_me",
    "logOut": "_return_true",
    "close": "_return_true",
    "deleteWebhook": "_delete_webhook",
    "setWebhook": "_set_webhook",
    "getWebhookInfo": "_get_webhook_info",
    "getUpdates": "_get_updates",
    "sendMessage": "_send_message",
    "sendDocument": "_send_document",
    "editMessageText": "_edit_message_text",
    "editMessageReplyMarkup": "_edit_message_reply_markup",
    "answerCallbackQuery": "_answer_callback_query",
    "answerInlineQuery": "_answer_inline_query",
    "sendChatAction": "_send_chat_action",
    "setMyCommands": "_set_my_commands",
    "deleteMyCommands": "_delete_my_commands",
    "getMyCommands": "_get_my_commands",
    "getFile": "_get_file",
}
# Bot API method names are case-insensitive.
_CANONICAL = {name.lower(): name for name in _HANDLERS}


def canonical(method: str) -> str:
    """The usual spelling of a method name (``getme`` -> ``getMe``); unknown ones as given."""
    return _CANONICAL.get(method.lower(), method)


class ApiMethods(WebhookDelivery):
    """The fake world, as the bot sees it through the Bot API."""

    def _handler(self, method: str) -> Callable[[JSON], Awaitable[Any]] | None:
        """The handler of a (canonical) method name, or None if the stand-in lacks it."""
        name = _HANDLERS.get(method)
        return None if name is None else getattr(self, name)

    def _bot_message(self, params: JSON, content: JSON) -> JSON:
        """Store and return a message the bot sends with ``params`` (chat, markup, reply)."""
        chat = self._chat(params.get("chat_id"))
        message = self._new_message(self._bot_from, chat, content)
        if markup := inline_markup(params):
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
            edited |= text_content(text)
        if markup := inline_markup(params):
            edited["reply_markup"] = markup
        if edited == message:
            raise ApiError(400, _NOT_MODIFIED)
        edited["edit_date"] = unix_now()
        self._store(edited)
        return edited

    @staticmethod
    def _message_text(params: JSON) -> str:
        text = str(params.get("text", ""))
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if utf16_len(text) > _MAX_TEXT_LENGTH:
            raise ApiError(400, "Bad Request: message is too long")
        return text

    async def _return_true(self, _params: JSON) -> bool:
        return True

    async def _get_me(self, _params: JSON) -> JSON:
        return self.bot_user

    async def _delete_webhook(self, params: JSON) -> bool:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        await self._drop_webhook()
        return True

    async def _get_updates(self, params: JSON) -> list[JSON]:
        """Confirm updates below ``offset``, then long-poll up to ``timeout`` s for new ones."""
        self._refuse_polling_while_webhook_set()
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
        return self._bot_message(params, text_content(self._message_text(params)))

    async def _send_document(self, params: JSON) -> JSON:
        document = params.get("document")
        if isinstance(document, UploadedFile):
            file_name = document.filename or "document"
            meta = self._add_file(document.data, "documents", PurePosixPath(file_name).suffix)
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
            raise ApiError(400, _QUERY_GONE)
        self._open_callback_queries.remove(query_id)
        return True

    async def _answer_inline_query(self, params: JSON) -> bool:
        """Checked as Telegram does: an open query, at most 50 results with distinct short
        ids, each message a text Telegram would send (its HTML parsed)."""
        query_id = params.get("inline_query_id")
        if query_id not in self._open_inline_queries:
            raise ApiError(400, _QUERY_GONE)
        results = params.get("results")
        if not isinstance(results, list):
            raise ApiError(400, "Bad Request: can't parse inline query results JSON object")
        if len(results) > _MAX_INLINE_RESULTS:
            raise ApiError(400, "Bad Request: RESULTS_TOO_MUCH")
        ids = [str(result.get("id", "")) for result in results]
        if len(set(ids)) < len(ids):
            raise ApiError(400, "Bad Request: RESULT_ID_DUPLICATE")
        if any(not 0 < len(id_.encode()) <= _MAX_RESULT_ID_BYTES for id_ in ids):
            raise ApiError(400, "Bad Request: RESULT_ID_INVALID")
        for result in results:
            content = result.get("input_message_content") or {}
            text = self._message_text({"text": content.get("message_text", "")})
            if content.get("parse_mode") == "HTML":
                check_html(text)
        self._open_inline_queries.remove(query_id)
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
