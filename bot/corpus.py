"""Corpus files -> documents, and the rules for adding a file to the corpus.

A corpus file is Markdown or plain text, with or without YAML front matter: its metadata is
read by bot/metadata.py, its text by bot/document_text.py.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import tempfile
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from bot.document_text import (
    Section,
    clean_web_leftovers,
    read_key_facts,
    split_sections,
    take_title,
)
from bot.files import replace_file
from bot.metadata import DocumentMeta, MetadataProblem, document_meta, split_front_matter

CORPUS_SUFFIXES = (".md", ".txt")
# The largest file an admin can add. A rebuild embeds each new passage with e5 (about 4.6
# passages a kilobyte of French prose; 37 ms a passage on the 2-core benchmark machine, up to
# 145 ms when it is busy): the 925 kB file of issue 11 (4,225 passages) took 158 s, a
# 500 kB file takes some 85 s (docs/benchmarks.md). Questions are answered meanwhile.
MAX_FILE_BYTES = 500_000
SAFE_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,80}")

# Why a file is not added to the corpus (the bot says each in its user's language).
Refusal = Literal["bad_name", "bad_suffix", "too_large", "unreadable", "duplicate"]
# What adding a file did: "name_taken" when a different file has its name (nothing saved).
Added = Literal["added", "replaced", "unchanged", "name_taken"]
# What to do when a different corpus file has the name of the one added.
Existing = Literal["ask", "replace", "keep"]


class CorpusFileError(Exception):
    """A corpus file that cannot be read; the message names the file and the problem."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path.name}: {problem}")
        self.path = path
        self.problem = problem


@dataclass(frozen=True, slots=True)
class Document:
    """One source document: its file name (the id), its metadata and its sections."""

    doc_id: str
    meta: DocumentMeta
    sections: tuple[Section, ...]
    # What was left out of its metadata, and why (unknown fields, bad optional values).
    warnings: tuple[str, ...] = ()


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
        try:
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        except OSError:  # read_document reports it; the index is built without it
            digest.update(b"unreadable")
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
    """Parse one corpus file, or raise CorpusFileError saying what is wrong with it. Unknown
    fields and optional fields with bad values are left out, each with a warning."""
    try:
        raw = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise CorpusFileError(path, f"not UTF-8 text (byte {error.start})") from error
    except OSError as error:
        raise CorpusFileError(path, f"cannot be read ({error.strerror or error})") from error
    raw = unicodedata.normalize("NFC", raw).replace("\r\n", "\n").replace("\u00a0", " ")
    if problem := unprintable(raw):
        raise CorpusFileError(path, problem)
    try:
        metadata, body = split_front_matter(raw)
    except MetadataProblem as error:
        raise CorpusFileError(path, str(error)) from error
    body = clean_web_leftovers(body)
    key_facts = read_key_facts(body)
    sections = split_sections(body)
    if not any(section.paragraphs for section in sections):
        raise CorpusFileError(path, "no text after the metadata")
    fields = {**key_facts, **metadata}
    if "title" not in fields:
        fields["title"], sections = take_title(sections)
    try:
        meta, warnings = document_meta(path.name, fields)
    except MetadataProblem as error:
        raise CorpusFileError(path, str(error)) from error
    return Document(doc_id=path.name, meta=meta, sections=sections, warnings=warnings)


def unprintable(text: str) -> str | None:
    """Why a text is not a document of words: control characters (tabs and line breaks
    aside) in it; None when it is one."""
    controls = sum(1 for c in text if unicodedata.category(c) == "Cc" and c not in "\t\n")
    return f"{controls} control character(s): not a text document" if controls else None


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
    # For "name_taken": the name this file would get if both were kept.
    free_name: str | None = None


def check_file(name: str, size: int | None) -> None:
    """Raise FileRefused if a file of that name and size cannot join the corpus, judged
    before reading it."""
    if not SAFE_FILE_NAME.fullmatch(name) or ".." in name:
        raise FileRefused("bad_name")
    if Path(name).suffix.lower() not in CORPUS_SUFFIXES:
        raise FileRefused("bad_suffix")
    check_size(size)


def check_size(size: int | None) -> None:
    """Raise FileRefused if a file of that size is too large for an admin to add."""
    if size is not None and size > MAX_FILE_BYTES:
        raise FileRefused("too_large", f"{MAX_FILE_BYTES // 1000}")


def add_file(corpus_dir: Path, name: str, data: bytes, *,
             existing: Existing = "ask") -> AddedFile:
    """Check a file as the corpus would read it, then save it under its (lower-cased) name.
    When a different file has that name: "ask" saves nothing (the outcome "name_taken" says
    which free name keeping both would use), "replace" replaces it, "keep" saves this one
    under that free name. Raises FileRefused."""
    check_file(name, len(data))
    corpus_dir.mkdir(parents=True, exist_ok=True)
    target = corpus_dir / name.lower()
    if target.is_file():
        if target.read_bytes() == data:
            return AddedFile(target.name, "unchanged")
        if existing == "ask":
            return AddedFile(target.name, "name_taken", free_name(corpus_dir, name))
        if existing == "keep":
            target = corpus_dir / free_name(corpus_dir, name)
    if (twin := same_file(corpus_dir, data)) is not None and twin != target.name:
        raise FileRefused("duplicate", twin)  # its passages would all be there twice
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


def remove_file(corpus_dir: Path, name: str) -> Callable[[], None]:
    """Remove the corpus document of that name and return what puts it back. Only a name
    corpus_files lists is removed: never a path (../, absolute) nor the question bank; any
    other raises FileNotFoundError."""
    if name not in {path.name for path in corpus_files(corpus_dir)}:
        raise FileNotFoundError(name)
    return replace_file(corpus_dir, name, None)


def same_file(corpus_dir: Path, data: bytes) -> str | None:
    """The name of a corpus file holding exactly `data`, if there is one."""
    for path in corpus_files(corpus_dir):
        with contextlib.suppress(OSError):
            if path.stat().st_size == len(data) and path.read_bytes() == data:
                return path.name
    return None


def free_name(corpus_dir: Path, name: str) -> str:
    """A corpus file name like `name` that no file has yet: "note.md", "note-2.md", …"""
    path = Path(name.lower())
    candidate, number = path.name, 1
    while (corpus_dir / candidate).exists():
        number += 1
        candidate = f"{path.stem}-{number}{path.suffix}"
    return candidate
