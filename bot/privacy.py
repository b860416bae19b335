"""Spotting and removing personal data in what people write to the bot."""

from __future__ import annotations

import re

# A French social security number (NIR): 13 digits, or 15 with the key, written with or
# without spaces, dots or dashes between groups; Corsica's departments are 2A and 2B.
_NIR = re.compile(
    r"(?<![\dA-Za-z])[12][\s.-]?\d{2}[\s.-]?\d{2}[\s.-]?(?:\d{2}|2[AaBb])[\s.-]?\d{3}[\s.-]?\d{3}"
    r"(?:[\s.-]?\d{2})?(?![\dA-Za-z])"
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE_OR_NUMBER = re.compile(r"\+?\d[\d\s.-]{3,}\d|\d{2,}")
_SELF_NAME = re.compile(
    r"\b((?i:je m'appelle|je m’appelle|je suis|mon nom est|my name is|i am|i'm))\s+"
    r"([A-ZÀ-Ý][\w'’-]*(?:\s+[A-ZÀ-Ý][\w'’-]*)*)"
)


def contains_social_security_number(text: str) -> bool:
    """Whether the text holds something shaped like a French social security number."""
    return _NIR.search(text) is not None


def redact(text: str) -> str:
    """The text with numbers, e-mail addresses and self-introduced names replaced by tags,
    fit to be kept in statistics."""
    text = _NIR.sub("[numéro]", text)
    text = _EMAIL.sub("[e-mail]", text)
    text = _SELF_NAME.sub(lambda m: f"{m.group(1)} [nom]", text)
    return _PHONE_OR_NUMBER.sub("[nombre]", text)
