"""Corpus files -> documents: front matter, cleaned body text, sections; and the rules for
adding a file to the corpus.

A corpus file is Markdown or plain text, with or without YAML front matter; its text is read
by bot/document_text.py.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

import frontmatter
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from bot.document_text import (
    Section,
    clean_web_leftovers,
    read_key_facts,
    split_sections,
    take_title,
)

CORPUS_SUFFIXES = (".md", ".txt")
MAX_FILE_BYTES = 1_000_000
SAFE_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,80}")

Status = Literal["answered", "withdrawn", "awaiting-answer", "unknown"]
# Why a file is not added to the corpus (the bot says each in its user's language).
Refusal = Literal["bad_name", "bad_suffix", "too_large", "unreadable"]
# What adding a file did: "name_taken" when a different file has its name (nothing saved).
Added = Literal["added", "replaced", "unchanged", "name_taken"]


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


class FileRefused(Exception):
    """A file that cannot join the corpus: `reason`, and the parser's `detail` if unreadable."""

    def __init__(self, reason: Refusal, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class AddedFile:
    """The corpus file a file became (its name there) and what adding it did."""

    name: str
    outcome: Added


def file_refusal(name: str, size: int | None) -> Refusal | None:
    """Why a file of that name and size cannot join the corpus, judged before reading it."""
    if not SAFE_FILE_NAME.fullmatch(name) or ".." in name:
        return "bad_name"
    if Path(name).suffix.lower() not in CORPUS_SUFFIXES:
        return "bad_suffix"
    if size is not None and size > MAX_FILE_BYTES:
        return "too_large"
    return None


def add_file(corpus_dir: Path, name: str, data: bytes, *, replace: bool = False) -> AddedFile:
    """Check a file as the corpus would read it, then save it under its (lower-cased) name.
    A different file of that name is replaced only with `replace`; otherwise nothing is
    saved and the outcome is "name_taken". Raises FileRefused."""
    if (refusal := file_refusal(name, len(data))) is not None:
        raise FileRefused(refusal)
    corpus_dir.mkdir(parents=True, exist_ok=True)
    target = corpus_dir / name.lower()
    if target.is_file():
        if target.read_bytes() == data:
            return AddedFile(target.name, "unchanged")
        if not replace:
            return AddedFile(target.name, "name_taken")
    with tempfile.TemporaryDirectory(dir=corpus_dir.parent) as folder:
        candidate = Path(folder) / target.name
        candidate.write_bytes(data)
        try:
            read_document(candidate)
        except CorpusFileError as error:
            raise FileRefused("unreadable", error.problem) from error
        existed = target.is_file()
        candidate.replace(target)
    return AddedFile(target.name, "replaced" if existed else "added")


def free_name(corpus_dir: Path, name: str) -> str:
    """A corpus file name like `name` that no file has yet: "note.md", "note-2.md", …"""
    path = Path(name.lower())
    candidate, number = path.name, 1
    while (corpus_dir / candidate).exists():
        number += 1
        candidate = f"{path.stem}-{number}{path.suffix}"
    return candidate
