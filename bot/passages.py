"""Documents -> passages: a few sentences each, small enough to quote, overlapping.

A passage never crosses a document or a section. The first passage of a document opens with
the document's key facts (reference, author, dates), in the words of the source's "Données
clés", so that "who asked" and "when" questions find the document too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.corpus import Document, DocumentMeta, format_french_date

SENTENCES_PER_PASSAGE = 3
SENTENCE_OVERLAP = 1
MAX_PASSAGE_CHARS = 1200

# Words ending in a full stop that does not end a sentence ("M. Dupont", "p. 12", "n. 3").
_ABBREVIATIONS = frozenset(
    {"m", "mm", "mme", "mmes", "mlle", "dr", "pr", "me", "st", "ste", "p", "pp", "n", "no",
     "art", "al", "cf", "chap", "vol", "éd", "ed", "av", "bd", "env", "min", "max", "ex"}
)
_BOUNDARY = re.compile(r"(?<=[.!?…])[»\")\]]*\s+(?=[«\"(\[]?\s?[A-ZÀ-ÖØ-Þ0-9])")


@dataclass(frozen=True, slots=True)
class Passage:
    """Consecutive sentences of one section of one document.

    `first_sentence` numbers sentences within the document, so that two overlapping passages
    can tell that they quote the same sentence.
    """

    doc_id: str
    position: int
    section: str | None
    first_sentence: int
    sentences: tuple[str, ...]

    @property
    def text(self) -> str:
        return " ".join(self.sentences)


def split_sentences(paragraph: str) -> list[str]:
    """Split French prose at sentence ends, not after abbreviations or initials."""
    sentences: list[str] = []
    start = 0
    for m in _BOUNDARY.finditer(paragraph):
        before = paragraph[start:m.start()].rstrip("»\")]")
        last_word = re.split(r"[\s(«\"']", before[:-1])[-1] if before.endswith(".") else ""
        if last_word.lower() in _ABBREVIATIONS or (len(last_word) == 1 and last_word.isupper()):
            continue
        sentences.append(paragraph[start:m.start()].strip())
        start = m.end()
    sentences.append(paragraph[start:].strip())
    return [s for s in sentences if s]


def key_facts_sentence(meta: DocumentMeta) -> str | None:
    """The document's key facts as one line, labelled as on the source pages; None for a
    document that has none (a file dropped in without metadata)."""
    head = " — ".join(p for p in (meta.institution, meta.legislature, meta.reference) if p)
    parts = [head] if head else []
    if meta.author:
        detail = f" ({meta.author_detail})" if meta.author_detail else ""
        parts.append(f"Auteur : {meta.author}{detail}")
    if meta.published:
        page = f", page {meta.journal_page}" if meta.journal_page else ""
        parts.append(f"Question publiée au JO le {format_french_date(meta.published)}{page}")
    parts.extend(status_phrases(meta))
    return " — ".join(parts) + "." if parts else None


def status_phrases(meta: DocumentMeta) -> list[str]:
    """What became of the question, in French: answered, withdrawn or awaiting an answer."""
    if meta.status == "answered":
        when = f" le {format_french_date(meta.answered)}" if meta.answered else ""
        by = f" du {meta.answer_ministry}" if meta.answer_ministry else ""
        page = f", page {meta.answer_page}" if meta.answer_page else ""
        return [f"Réponse{by} publiée{when}{page}"]
    if meta.status == "withdrawn":
        when = f" le {format_french_date(meta.withdrawn)}" if meta.withdrawn else ""
        why = f" ({meta.withdrawn_reason})" if meta.withdrawn_reason else ""
        return [f"Question retirée{when}{why}"]
    if meta.status == "awaiting-answer":
        return ["En attente de réponse"]
    return []


def split_passages(document: Document) -> list[Passage]:
    """Cut a document into overlapping windows of sentences."""
    passages: list[Passage] = []
    sentence_number = 0
    for index, section in enumerate(document.sections):
        sentences = [s for paragraph in section.paragraphs for s in split_sentences(paragraph)]
        if index == 0 and (facts := key_facts_sentence(document.meta)):
            sentences.insert(0, facts)
        for start, window in _windows(sentences):
            passages.append(Passage(
                doc_id=document.doc_id,
                position=len(passages),
                section=section.heading,
                first_sentence=sentence_number + start,
                sentences=tuple(window),
            ))
        sentence_number += len(sentences)
    return passages


def _windows(sentences: list[str]) -> list[tuple[int, list[str]]]:
    """Windows of up to SENTENCES_PER_PASSAGE sentences (fewer when they are long) that share
    SENTENCE_OVERLAP sentences with the window before; the last window reaches the end."""
    windows: list[tuple[int, list[str]]] = []
    start = 0
    while start < len(sentences):
        end = start + 1
        size = len(sentences[start])
        while (end < len(sentences) and end - start < SENTENCES_PER_PASSAGE
               and size + len(sentences[end]) <= MAX_PASSAGE_CHARS):
            size += len(sentences[end])
            end += 1
        windows.append((start, sentences[start:end]))
        if end >= len(sentences):
            break
        start = max(end - SENTENCE_OVERLAP, start + 1)
    return windows
