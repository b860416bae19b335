"""The text of a corpus file -> its sections and the metadata it states itself.

The body is kept word for word except for the leftovers of the web pages it was copied from
(share buttons, "Page mise à jour le", empty link markup, <sup> tags). A "Données clés" block
stays in the text, to be quoted like the rest, and its fields also become metadata.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

MAX_TITLE_CHARS = 120

FRENCH_MONTHS = (
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
)


@dataclass(frozen=True, slots=True)
class Section:
    """A run of paragraphs under one heading (None before any heading)."""

    heading: str | None
    paragraphs: tuple[str, ...]


def format_french_date(day: date) -> str:
    """`date(2024, 2, 20)` -> "20 février 2024", as the sources write dates."""
    return f"{'1er' if day.day == 1 else day.day} {FRENCH_MONTHS[day.month - 1]} {day.year}"


def parse_french_date(text: str) -> date | None:
    """Read "20 février 2024", "1er juin 2024" or "03/10/2024"; None when it is neither."""
    text = text.strip().lower()
    if m := re.search(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b", text):
        day, month, year = (int(g) for g in m.groups())
    elif m := re.search(r"\b(\d{1,2})(?:er)?\s+([a-zéû]+)\s+(\d{4})\b", text):
        if m.group(2) not in FRENCH_MONTHS:
            return None
        day, month, year = int(m.group(1)), FRENCH_MONTHS.index(m.group(2)) + 1, int(m.group(3))
    else:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


_LEFTOVER_LINES = re.compile(
    r"^\s*(?:partager|imprimer|page mise à jour le.*|-\s*page\s+\d+)\s*$",
    re.IGNORECASE | re.MULTILINE,
)
_LINK = re.compile(r"\[([^\]]*)\]\(\s*([^)\s]*)\s*\)")
_TAG = re.compile(r"</?[a-zA-Z][^>]*>")
_BOLD = re.compile(r"\*\*(.+?)\*\*")


def _link_text(m: re.Match[str]) -> str:
    """`[Mme X](#)` -> "Mme X"; a link to a real address keeps the address in brackets."""
    text, target = m.group(1), m.group(2)
    return text if target in ("", "#") else f"{text} ({target})"


def clean_web_leftovers(text: str) -> str:
    """Remove what a copied web page adds around the text; keep the words themselves."""
    text = _LEFTOVER_LINES.sub("", text)
    text = _LINK.sub(_link_text, text)
    text = _TAG.sub("", text)
    return _BOLD.sub(r"\1", text)


_KEY_FACTS_HEADING = re.compile(r"^#*\s*(?:Données clés|Date\(s\) clé\(s\))\s*$", re.IGNORECASE)
_FACT_LINE = re.compile(r"^\s*([^:\n]{2,60}?)\s*:\s*(.*?)\s*$")


def read_key_facts(text: str) -> dict[str, object]:
    """The metadata held in the text's "Données clés" block.

    The block runs from its heading to the end of the text, as on the Assemblée nationale's
    pages; a "Texte de la réponse" heading after it ends it early.
    """
    lines = text.split("\n")
    start = next((i for i, line in enumerate(lines) if _KEY_FACTS_HEADING.match(line)), None)
    if start is None:
        return {}
    end = next(
        (i for i in range(start + 1, len(lines))
         if lines[i].lstrip().startswith("#") and "réponse" in lines[i].lower()),
        len(lines),
    )
    return dict(_parse_fact_lines(lines[start + 1:end]))


def _parse_fact_lines(lines: list[str]) -> Iterator[tuple[str, object]]:
    for line in lines:
        m = _FACT_LINE.match(line)
        if not m or not m.group(2):
            continue
        label, value = m.group(1).lower(), m.group(2)
        if label == "auteur":
            yield "author", value
        elif label == "circonscription":
            yield "author_detail", value
        elif label == "rubrique":
            yield "rubric", value
        elif label == "numéro de la question":
            yield "reference", f"Question écrite n° {value}"
        elif label == "ministère interrogé":
            yield "ministry_asked", value
        elif label in ("ministère attributaire", "ministère répondant"):
            yield "ministry_assigned", value
        elif label.startswith("question publiée") and (day := parse_french_date(value)):
            yield "published", day
            if page := re.search(r"page\s+(\d+)", value):
                yield "journal_page", page.group(1)
        elif label.startswith("question retirée") and (day := parse_french_date(value)):
            yield "withdrawn", day
            yield "status", "withdrawn"


_HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")


def split_sections(body: str) -> tuple[Section, ...]:
    """Markdown headings start sections; blank lines and line breaks separate paragraphs."""
    sections: list[Section] = []
    heading: str | None = None
    paragraphs: list[str] = []
    for line in body.split("\n"):
        line = " ".join(line.split())
        if m := _HEADING.match(line):
            if paragraphs or heading is not None:
                sections.append(Section(heading, tuple(paragraphs)))
            heading, paragraphs = m.group(1), []
        elif line:
            paragraphs.append(line)
    sections.append(Section(heading, tuple(paragraphs)))
    return tuple(s for s in sections if s.paragraphs or s.heading)


def take_title(sections: tuple[Section, ...]) -> tuple[str, tuple[Section, ...]]:
    """A title for a file without one: its first heading, else its first line, shortened."""
    first = sections[0]
    if first.heading and first.paragraphs:
        return first.heading, (Section(None, first.paragraphs), *sections[1:])
    if first.heading:
        return first.heading, sections[1:]
    line = first.paragraphs[0]
    if len(line) > MAX_TITLE_CHARS:
        line = line[:MAX_TITLE_CHARS].rsplit(" ", 1)[0] + "…"
    return line, sections
