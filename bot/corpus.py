"""Corpus files -> documents: front matter, cleaned body text, sections.

A corpus file is Markdown or plain text, with or without YAML front matter. The body is kept
word for word except for the leftovers of the web pages it was copied from (share buttons,
"Page mise à jour le", empty link markup, <sup> tags). A "Données clés" block stays in the
text, to be quoted like the rest, and its fields also become metadata.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

import frontmatter
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

CORPUS_SUFFIXES = (".md", ".txt")
MAX_TITLE_CHARS = 120

Status = Literal["answered", "withdrawn", "awaiting-answer", "unknown"]

FRENCH_MONTHS = (
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
)


class CorpusFileError(Exception):
    """A corpus file that cannot be read; the message names the file and the problem."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path.name}: {problem}")
        self.path = path
        self.problem = problem


class DocumentMeta(BaseModel):
    """What is known of a document besides its text. Only `title` is always set."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str
    institution: str | None = None
    legislature: str | None = None
    reference: str | None = None
    author: str | None = None
    author_detail: str | None = None
    rubric: str | None = None
    ministry_asked: str | None = None
    ministry_assigned: str | None = None
    published: date | None = None
    journal_page: str | None = None
    status: Status = "unknown"
    answered: date | None = None
    answer_ministry: str | None = None
    answer_page: str | None = None
    withdrawn: date | None = None
    withdrawn_reason: str | None = None
    url: str | None = None

    @field_validator("url")
    @classmethod
    def _url_is_web_address(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"https?://[^\s/$.?#][^\s]*", value):
            raise ValueError("must be an http(s) address")
        return value


@dataclass(frozen=True, slots=True)
class Section:
    """A run of paragraphs under one heading (None before any heading)."""

    heading: str | None
    paragraphs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Document:
    """One source document: its file name (the id), its metadata and its sections."""

    doc_id: str
    meta: DocumentMeta
    sections: tuple[Section, ...]


@dataclass(frozen=True, slots=True)
class CorpusLoad:
    """The documents that loaded, and the files that did not."""

    documents: tuple[Document, ...]
    errors: tuple[CorpusFileError, ...]


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


def corpus_files(corpus_dir: Path) -> list[Path]:
    """The files of the corpus, in a stable order."""
    if not corpus_dir.is_dir():
        return []
    return sorted(p for p in corpus_dir.iterdir() if p.is_file() and p.suffix in CORPUS_SUFFIXES)


def corpus_fingerprint(corpus_dir: Path) -> str:
    """A digest of every corpus file's name and bytes: it changes when any file does."""
    digest = hashlib.sha256()
    for path in corpus_files(corpus_dir):
        digest.update(path.name.encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def load_corpus(corpus_dir: Path) -> CorpusLoad:
    """Read every corpus file; a file that fails is reported, never fatal."""
    documents: list[Document] = []
    errors: list[CorpusFileError] = []
    for path in corpus_files(corpus_dir):
        try:
            documents.append(read_document(path))
        except CorpusFileError as error:
            errors.append(error)
    return CorpusLoad(tuple(documents), tuple(errors))


def read_document(path: Path) -> Document:
    """Parse one corpus file, or raise CorpusFileError saying what is wrong with it."""
    try:
        raw = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise CorpusFileError(path, f"not UTF-8 text (byte {error.start})") from error
    raw = unicodedata.normalize("NFC", raw).replace("\r\n", "\n").replace("\u00a0", " ")
    try:
        post = frontmatter.loads(raw)
    except yaml.YAMLError as error:
        raise CorpusFileError(path, f"front matter is not valid YAML ({error})") from error
    body = clean_web_leftovers(post.content)
    key_facts = read_key_facts(body)
    sections = split_sections(body)
    if not any(section.paragraphs for section in sections):
        raise CorpusFileError(path, "no text after the metadata")
    fields = {**key_facts, **dict(post.metadata)}
    if "title" not in fields:
        fields["title"], sections = take_title(sections)
    try:
        meta = DocumentMeta.model_validate(fields)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'metadata'}: {e['msg']}"
            for e in error.errors()
        )
        raise CorpusFileError(path, f"invalid metadata ({problems})") from error
    return Document(doc_id=path.name, meta=meta, sections=sections)


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
