"""Whether a message is for the bot: every message of a private chat; in a group, one that
names the bot ("@this_bot", "/cmd@this_bot") or replies to one of its messages."""

from __future__ import annotations

import re

from telegram import Message
from telegram.constants import ChatType


def addressed_text(message: Message, username: str, bot_id: int) -> str | None:
    """The message's text, without the bot's @name, if it is for the bot; else None."""
    text = message.text
    if text is None:
        return None
    if message.chat.type == ChatType.PRIVATE:
        return text
    mention = re.compile(rf"@{re.escape(username)}\b", re.IGNORECASE)
    replied = message.reply_to_message
    replied_to_bot = (replied is not None and replied.from_user is not None
                      and replied.from_user.id == bot_id)
    if not (mention.search(text) or replied_to_bot):
        return None
    return mention.sub(" ", text)
