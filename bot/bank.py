"""The question bank (corpus/questions.toml): questions the documents answer, each in French
and English wordings, linked to its answer by phrases copied verbatim from the corpus.

The bank is written from the documents. Its first wording in each language is the label the
bot offers as a suggestion; all its wordings teach the intent classifier (bot/classifiers.py)
how people ask that question. An entry is linked to the passages that hold its answer phrases
when the index is built; an entry whose phrase is found in no passage is skipped with a
warning naming it, never a failed start.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from bot.lang import Lang
from bot.passages import Passage

BANK_FILE = "questions.toml"
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
MAX_ID_CHARS = 40


@dataclass(frozen=True, slots=True)
class BankEntry:
    """One question of the bank. `passages` (positions in the index) is set once its answer
    phrases are found; `filing` marks a question about the filing itself (who asked, when,
    which ministry, whether it was answered)."""

    id: str
    fr: tuple[str, ...]
    en: tuple[str, ...]
    answers: tuple[str, ...]
    filing: bool = False
    passages: tuple[int, ...] = ()

    def text(self, lang: Lang) -> str:
        """The entry's label in a language: its first wording."""
        return self.fr[0] if lang == "fr" else self.en[0]

    @property
    def wordings(self) -> tuple[str, ...]:
        return self.fr + self.en

    def to_json(self) -> dict[str, object]:
        return {"id": self.id, "fr": list(self.fr), "en": list(self.en),
                "answer": list(self.answers), "filing": self.filing,
                "passages": list(self.passages)}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> BankEntry:
        entry, problem = parse_entry(data)
        if entry is None:
            raise ValueError(problem)
        passages = data.get("passages", [])
        if not isinstance(passages, list) or not all(isinstance(p, int) for p in passages):
            raise ValueError(f"bank entry {entry.id}: passages must be integers")
        return replace(entry, passages=tuple(passages))


@dataclass(frozen=True, slots=True)
class SkippedEntry:
    """A bank entry left out: the id it gives (None: no readable one) and the warning that
    says why."""

    entry_id: str | None
    warning: str


def read_bank(path: Path) -> tuple[tuple[BankEntry, ...], list[SkippedEntry]]:
    """The entries of a bank file, in its order, and each entry left out (malformed, or an
    id already taken); none if there is no such file. Raises ValueError, naming the file,
    when it is not TOML at all."""
    try:
        return parse_bank(path.read_bytes(), path.name)
    except FileNotFoundError:
        return (), []


def parse_bank(data: bytes, name: str) -> tuple[tuple[BankEntry, ...], list[SkippedEntry]]:
    """read_bank's work on a file's bytes (`name` is the file's, for the messages)."""
    try:
        parsed = tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{name}: not a readable TOML question bank ({error})") from error
    tables = parsed.get("entry", [])
    if not isinstance(tables, list):
        raise ValueError(f"{name}: entries must be [[entry]] tables")
    entries: list[BankEntry] = []
    skipped: list[SkippedEntry] = []
    taken: set[str] = set()
    for number, table in enumerate(tables, 1):
        entry, problem = parse_entry(table)
        if entry is not None and entry.id in taken:
            entry, problem = None, f"id {table['id']!r} is used twice"
        if entry is None:
            given = table.get("id") if isinstance(table, dict) else None
            skipped.append(SkippedEntry(given if isinstance(given, str) else None,
                                        f"{name}: entry {number} skipped: {problem}"))
            continue
        taken.add(entry.id)
        entries.append(entry)
    return tuple(entries), skipped


def parse_entry(table: object) -> tuple[BankEntry | None, str]:
    """One [[entry]] table -> the entry, or None and what is wrong with it."""
    if not isinstance(table, dict):
        return None, "not a table"
    slug = table.get("id")
    if not isinstance(slug, str) or not _SLUG.fullmatch(slug) or len(slug) > MAX_ID_CHARS:
        return None, f"id {slug!r} is not a short slug (a-z, 0-9, hyphens)"
    texts = {}
    for key in ("fr", "en", "answer"):
        value = table.get(key)
        items = tuple(v.strip() for v in value if isinstance(v, str) and v.strip()) \
            if isinstance(value, list) else ()
        if not items or len(items) != len(value or ()):
            return None, f"{slug}: {key!r} must be a list of non-empty texts"
        texts[key] = items
    filing = table.get("filing", False)
    if not isinstance(filing, bool):
        return None, f"{slug}: 'filing' must be true or false"
    return BankEntry(slug, texts["fr"], texts["en"], texts["answer"], filing), ""


def _spaced(text: str) -> str:
    return " ".join(text.split())


def link_bank(entries: Sequence[BankEntry], passages: Sequence[Passage]
              ) -> tuple[tuple[BankEntry, ...], list[SkippedEntry]]:
    """Each entry with the passages that hold its answer phrases (spacing aside), and each
    entry skipped because one of its phrases is found in no passage."""
    texts = [_spaced(p.text) for p in passages]
    linked: list[BankEntry] = []
    skipped: list[SkippedEntry] = []
    for entry in entries:
        positions: list[int] = []
        missing = None
        for phrase in entry.answers:
            found = [n for n, text in enumerate(texts) if _spaced(phrase) in text]
            if not found:
                missing = phrase
                break
            positions.extend(n for n in found if n not in positions)
        if missing is not None:
            skipped.append(SkippedEntry(entry.id, f"question bank entry {entry.id!r} skipped: "
                                        f"its answer phrase {missing!r} is in no passage of "
                                        "the corpus"))
            continue
        linked.append(replace(entry, passages=tuple(positions)))
    return tuple(linked), skipped


def bank_problems(data: bytes, passages: Sequence[Passage]) -> list[str]:
    """What keeps a new bank file from replacing the bank: each entry that would be skipped
    (malformed, its id taken, an answer phrase in no passage), or the file itself; none
    when every entry would be served."""
    try:
        entries, malformed = parse_bank(data, BANK_FILE)
    except ValueError as error:
        return [str(error)]
    if not entries and not malformed:
        return [f"{BANK_FILE}: no [[entry]] in the file"]
    return [skipped.warning for skipped in malformed + link_bank(entries, passages)[1]]


# A passage shorter than this many words holds nothing a citizen would ask about on its own.
MIN_ASKABLE_WORDS = 6


def unlinked_passages(entries: Sequence[BankEntry], passages: Sequence[Passage]
                      ) -> list[Passage]:
    """The passages that could answer a citizen (not filing lines, not a few words) that no
    bank entry points at: where the bank needs another entry."""
    linked = {n for entry in entries for n in entry.passages}
    return [p for p in passages if p.position not in linked and not p.filing
            and len(p.text.split()) >= MIN_ASKABLE_WORDS]
