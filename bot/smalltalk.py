"""Thanks and greetings ("merci beaucoup", "ok", "thanks!", "bonjour"): not questions, but
not to be refused either; the words are in bot/data/smalltalk.toml."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

from bot.analysis import split_words
from bot.lang import Lang

Kind = Literal["thanks", "greeting"]


@dataclass(frozen=True, slots=True)
class SmallTalk:
    kind: Kind
    lang: Lang


@dataclass(frozen=True, slots=True)
class _Words:
    by_lang: dict[Kind, dict[Lang, frozenset[str]]]
    by_kind: dict[Kind, frozenset[str]]
    fillers: frozenset[str]


@cache
def _words() -> _Words:
    text = resources.files("bot").joinpath("data", "smalltalk.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    kinds: tuple[Kind, ...] = ("thanks", "greeting")
    by_lang: dict[Kind, dict[Lang, frozenset[str]]] = {
        kind: {lang: frozenset(data[kind][lang]) for lang in ("fr", "en")} for kind in kinds}
    by_kind = {kind: frozenset().union(*langs.values()) for kind, langs in by_lang.items()}
    return _Words(by_lang, by_kind, frozenset(data["fillers"]["words"]))


def small_talk(text: str) -> SmallTalk | None:
    """What kind of small talk a message is, and in which language; None for anything else
    (a question, or a message with no words at all)."""
    words = [part for word in split_words(text) for part in word.parts]
    known = _words()
    core = [w for w in words if any(w in kind for kind in known.by_kind.values())]
    if not core or any(w not in known.fillers and w not in core for w in words):
        return None
    kind: Kind = "thanks" if any(w in known.by_kind["thanks"] for w in core) else "greeting"
    english = any(w in langs["en"] and w not in langs["fr"]
                  for w in core for langs in known.by_lang.values())
    return SmallTalk(kind, "en" if english else "fr")
