"""The bot's own words, in French and English (bot/data/messages.toml), and dates and counts
as each language writes them. Quoted excerpts always stay in French."""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from datetime import date
from functools import cache
from importlib import resources

from bot.document_text import format_french_date
from bot.lang import Lang

ENGLISH_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
                  "September", "October", "November", "December")
# The Telegram menu: what everyone sees, and what admins see besides.
CITIZEN_COMMANDS = ("start", "help", "sources", "privacy", "ask", "share")
ADMIN_COMMANDS = ("reindex", "stats", "docs", "remove")


@cache
def messages() -> dict[str, dict[Lang, str]]:
    """Every message by key, then language."""
    text = resources.files("bot").joinpath("data", "messages.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def message(key: str, lang: Lang, **values: object) -> str:
    return messages()[key][lang].format(**values)


def command_menu(commands: Sequence[str], lang: Lang) -> list[tuple[str, str]]:
    """(command, description) pairs for Telegram's menu of commands."""
    return [(command, message(f"command_{command}", lang)) for command in commands]


def format_count(count: int, lang: Lang) -> str:
    """A count as people of that language write it: thousands set apart by a narrow no-break
    space in French, by a comma in English ("4,225")."""
    grouped = f"{count:,}"
    return grouped.replace(",", "\u202f") if lang == "fr" else grouped


def format_date(day: date, lang: Lang) -> str:
    """A date as people of that language write it: "3 octobre 2024", "3 October 2024"."""
    if lang == "en":
        return f"{day.day} {ENGLISH_MONTHS[day.month - 1]} {day.year}"
    return format_french_date(day)
