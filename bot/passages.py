"""Documents -> passages: one sentence each, the unit that is ranked and quoted.

A passage is one sentence of one section (a line of a "Données clés" block counts as one). Its
neighbours in the same section give it context when it is indexed and may join it in the
excerpt; a passage never reaches across a section, so an excerpt is always a run of the
document's own words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.corpus import Document

# Words ending in a full stop that does not end a sentence ("M. Dupont", "p. 12", "n. 3").
_ABBREVIATIONS = frozenset(
    {"m", "mm", "mme", "mmes", "mlle", "dr", "pr", "me", "st", "ste", "p", "pp", "n", "no",
     "art", "al", "cf", "chap", "vol", "éd", "ed", "av", "bd", "env", "min", "max", "ex"}
)
# The sections that hold only the filing of a question, and the lines that record it in the
# others ("Question retirée le …", "Transmise au …", "Réponse du … publiée le …").
FILING_SECTIONS = frozenset({"données clés", "date(s) clé(s)"})
_FILING_LINE = re.compile(
    r"(?:Question (?:retirée|publiée|de\b)|Réponse d[ue] .{0,80} publiée le|Transmise au"
    r"|Cause :|En attente de réponse|Date de cl[oô]ture|\d+(?:e|ème) [Ll]égislature)")
_BOUNDARY = re.compile(r"(?<=[.!?…])[»\")\]]*\s+(?=[«\"(\[]?\s?[A-ZÀ-ÖØ-Þ0-9])")


@dataclass(frozen=True, slots=True)
class Passage:
    """One sentence of a document.

    `position` is the passage's place in the index; `sentence` numbers the sentences of the
    document, so that two passages can tell whether they stand side by side.
    """

    doc_id: str
    position: int
    section: str | None
    sentence: int
    text: str
    # A filing line: who asked, when, which ministry, the question's status (is_filing_line).
    filing: bool = False

    def is_beside(self, other: Passage) -> bool:
        """Whether the two sentences follow each other in one section of one document."""
        return (self.doc_id == other.doc_id and self.section == other.section
                and abs(self.sentence - other.sentence) == 1)


def neighbours(passages: list[Passage], position: int) -> list[Passage]:
    """The sentences just before and after `passages[position]` in its section."""
    passage = passages[position]
    around = (passages[i] for i in (position - 1, position + 1) if 0 <= i < len(passages))
    return [other for other in around if other.is_beside(passage)]


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


def is_filing_line(section: str | None, paragraph: str, headed: bool) -> bool:
    """Whether a paragraph records the filing of a question rather than saying something:
    the lines before the first heading of a document that has headings (`headed`), the key
    facts and dates, and the short status lines among the text."""
    return ((section is None and headed) or (section or "").lower() in FILING_SECTIONS
            or (len(paragraph) < 150 and _FILING_LINE.match(paragraph) is not None))


def split_passages(document: Document, first_position: int = 0) -> list[Passage]:
    """Every sentence of a document, in order, numbered from `first_position` in the index."""
    passages: list[Passage] = []
    headed = any(section.heading for section in document.sections)
    for section in document.sections:
        for paragraph in section.paragraphs:
            filing = is_filing_line(section.heading, paragraph, headed)
            for sentence in split_sentences(paragraph):
                passages.append(Passage(document.doc_id, first_position + len(passages),
                                        section.heading, len(passages), sentence, filing))
    return passages
