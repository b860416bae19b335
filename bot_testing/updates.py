"""Update builders: what a user does, pushed as an update for the bot's next getUpdates."""

from __future__ import annotations

from pathlib import PurePosixPath

from bot_testing.wire import JSON, text_content, unix_now
from bot_testing.world import DEFAULT_GROUP_ID, DEFAULT_SENDER, Sender, World

GROUP_ANONYMOUS_BOT_ID = 1087968824  # the author Telegram gives anonymous admins' messages


class UpdateBuilders(World):
    """The ``push_*`` helpers: each adds an update to the queue and returns what it carries.

    Each comes from a :class:`~bot_testing.world.Sender`, by default user ``DEFAULT_USER_ID``
    with a French client; messages go to their private chat unless a group ``chat_id`` is given.
    """

    def push_text(
        self,
        text: str,
        *,
        sender: Sender = DEFAULT_SENDER,
        chat_id: int | None = None,
        mention_bot: bool = False,
        reply_to: JSON | None = None,
    ) -> JSON:
        """Send ``text`` to the bot and return the message.

        Bot commands ("/start", "/start@bot") and @mentions get their entities. The chat is the
        ``sender``'s private chat, or the group ``chat_id``. ``mention_bot`` prefixes the bot's
        @username; ``reply_to`` is a message (e.g. one the bot sent) to reply to.
        """
        if mention_bot:
            text = f"@{self.bot_user['username']} {text}"
        content = text_content(text)
        if reply_to is not None:
            content["reply_to_message"] = self._current(reply_to)
        return self._push_message(content, sender, chat_id)

    def push_group_text(
        self,
        text: str,
        *,
        chat_id: int = DEFAULT_GROUP_ID,
        sender: Sender = DEFAULT_SENDER,
        mention_bot: bool = False,
        reply_to: JSON | None = None,
    ) -> JSON:
        """Send ``text`` to the bot in a group chat; see :meth:`push_text`."""
        return self.push_text(
            text,
            sender=sender,
            chat_id=chat_id,
            mention_bot=mention_bot,
            reply_to=reply_to,
        )

    def push_anonymous_text(self, text: str, *, chat_id: int, channel: bool = False) -> JSON:
        """Send ``text`` with no person behind it: a post of the channel ``chat_id``, or a
        message of an anonymous admin of the group ``chat_id`` (Telegram's GroupAnonymousBot
        as its author, the group as its sender_chat). Return the message."""
        if chat_id >= 0:
            raise ValueError("a group or channel chat_id must be negative")
        chat = self._chats.setdefault(chat_id, {
            "id": chat_id, "type": "channel" if channel else "supergroup",
            "title": f"{'Channel' if channel else 'Group'} {-chat_id}"})
        author = {} if channel else {"id": GROUP_ANONYMOUS_BOT_ID, "is_bot": True,
                                     "first_name": "Group", "username": "GroupAnonymousBot"}
        message = self._new_message(author, chat, text_content(text)) | {"sender_chat": chat}
        if channel:
            message.pop("from", None)
        self._store(message)
        self._push_update("channel_post" if channel else "message", message)
        return message

    def push_update(self, kind: str, payload: JSON) -> None:
        """Queue an update of any kind with this payload as is, even one a client library
        cannot read (an older Bot API server sends polls without fields newer ones have)."""
        self._push_update(kind, payload)

    def push_edited_text(self, message: JSON, text: str) -> JSON:
        """Edit a message pushed earlier to read ``text``; return the edited message."""
        stored = self._current(message)
        edited = {key: value for key, value in stored.items() if key != "entities"}
        edited |= {**text_content(text), "edit_date": unix_now()}
        self._store(edited)
        self._push_update("edited_message", edited)
        return edited

    def push_sticker(
        self,
        emoji: str = "👍",
        *,
        sender: Sender = DEFAULT_SENDER,
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
        return self._push_message({"sticker": sticker}, sender, chat_id)

    def push_photo(
        self,
        data: bytes = b"\xff\xd8\xff\xe0 stub jpeg \xff\xd9",
        *,
        caption: str | None = None,
        sender: Sender = DEFAULT_SENDER,
        chat_id: int | None = None,
    ) -> JSON:
        """Send a photo (a single size, 1280x720) to the bot; return the message."""
        photo = self._add_file(data, "photos", ".jpg") | {"width": 1280, "height": 720}
        content: JSON = {"photo": [photo]}
        if caption is not None:
            content["caption"] = caption
        return self._push_message(content, sender, chat_id)

    def push_voice(
        self,
        data: bytes = b"OggS\x00\x02 stub opus",
        *,
        duration: int = 2,
        sender: Sender = DEFAULT_SENDER,
        chat_id: int | None = None,
    ) -> JSON:
        """Send a voice note to the bot; return the message."""
        voice = self._add_file(data, "voice", ".oga")
        voice |= {"duration": duration, "mime_type": "audio/ogg"}
        return self._push_message({"voice": voice}, sender, chat_id)

    def push_document(
        self,
        file_name: str,
        mime_type: str,
        data: bytes,
        *,
        caption: str | None = None,
        sender: Sender = DEFAULT_SENDER,
        chat_id: int | None = None,
    ) -> JSON:
        """Upload a document to the bot (it can getFile and download it); return the message."""
        document = self._add_file(data, "documents", PurePosixPath(file_name).suffix)
        document |= {"file_name": file_name, "mime_type": mime_type}
        content: JSON = {"document": document}
        if caption is not None:
            content["caption"] = caption
        return self._push_message(content, sender, chat_id)

    def push_callback_query(
        self,
        message: JSON,
        data: str,
        *,
        sender: Sender | None = None,
        forged: bool = False,
    ) -> JSON:
        """Press the inline button with callback ``data`` on a bot message; return the query.

        ``message`` may be a result of the bot's sendMessage (its current version is used). The
        ``sender`` defaults to the private chat's user, or the default sender in groups.
        ``forged`` sends data that no button of the message has, as a modified client can.
        """
        chat = message["chat"]
        current = self._current(message)
        buttons = current.get("reply_markup", {}).get("inline_keyboard", [])
        offered = [button.get("callback_data") for row in buttons for button in row]
        if data not in offered and not forged:
            raise ValueError(f"no button with callback_data {data!r} on the message: {offered}")
        if sender is None:
            sender = Sender(chat["id"]) if chat["type"] == "private" else DEFAULT_SENDER
        query = {
            "id": str(next(self._callback_ids)),
            "from": sender.as_user(),
            "message": current,
            "chat_instance": f"{chat['id']}{self.bot_user['id']}",
            "data": data,
        }
        self._open_callback_queries.add(query["id"])
        self._push_update("callback_query", query)
        return query

    def push_inline_query(self, query: str, *, sender: Sender = DEFAULT_SENDER) -> JSON:
        """Type "@bot ``query``" in some chat, as a user of inline mode; return the query
        (answerInlineQuery answers it once)."""
        query_id = str(next(self._inline_ids))
        inline_query = {"id": query_id, "from": sender.as_user(), "query": query, "offset": ""}
        self._open_inline_queries.add(query_id)
        self._push_update("inline_query", inline_query)
        return inline_query
