"""The two languages the bot speaks: French (the documents' language) and English."""

from __future__ import annotations

from typing import Literal, get_args

Lang = Literal["fr", "en"]
LANGS: tuple[Lang, ...] = get_args(Lang)


def lang_of_client(language_code: str | None) -> Lang:
    """The language for a user whose app is set to `language_code` ("en-GB", "fr", None):
    English for English, French for everything else."""
    return "en" if (language_code or "").lower().startswith("en") else "fr"
