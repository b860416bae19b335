"""What the bot says: every message in French and English, and a message for every outcome."""

from __future__ import annotations

import string
from typing import get_args

import pytest

from bot.answer import Outcome
from bot.corpus import Added, Refusal
from bot.lang import LANGS
from bot.messages import ADMIN_COMMANDS, CITIZEN_COMMANDS, message, messages


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("key", sorted(messages()))
def test_every_message_says_the_same_thing_in_both_languages(key: str) -> None:
    texts = messages()[key]
    assert set(texts) == set(LANGS), key
    assert all(texts[lang].strip() for lang in LANGS), key
    # The same values are filled in: a message never misses one in a language.
    assert placeholders(texts["fr"]) == placeholders(texts["en"]), key


@pytest.mark.parametrize(
    "key",
    [*(o if o != "answered" else "intro" for o in get_args(Outcome)),
     *(f"refusal_{r}" for r in get_args(Refusal)),
     *(f"upload_{a}" for a in get_args(Added)),
     *(f"command_{c}" for c in CITIZEN_COMMANDS + ADMIN_COMMANDS)],
)
def test_every_outcome_and_command_has_a_message(key: str) -> None:
    assert key in messages()


def test_values_are_filled_in() -> None:
    assert message("upload_added", "en", name="note.md") == '"note.md" added to the corpus.'
    assert message("refusal_too_large", "fr", detail="1000") == "le fichier dépasse 1000 ko"
