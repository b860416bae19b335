"""A corpus file's metadata: its YAML front matter, bounded and parsed, and DocumentMeta,
what is known of a document besides its text. Fields the model does not know, and optional
fields with bad values, are left out with a warning rather than losing the document."""

from __future__ import annotations

import re
from datetime import date
from typing import Literal

import yaml
from frontmatter.default_handlers import YAMLHandler
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

# Bounds on front matter, checked before the YAML parser sees it (a 50 kB file of nested
# brackets overflowed the C parser's stack and killed the process).
MAX_FRONT_MATTER_CHARS = 20_000
MAX_FRONT_MATTER_NESTING = 20
_FRONT_MATTER = YAMLHandler()

Status = Literal["answered", "withdrawn", "awaiting-answer", "unknown"]


class MetadataProblem(Exception):
    """Front matter or metadata that makes a file unusable; the message says why."""


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


def split_front_matter(raw: str) -> tuple[dict[str, object], str]:
    """The YAML front matter as a mapping, and the body. The front matter is bounded in size
    and nesting before it is parsed: the YAML parser recurses once per level."""
    if not _FRONT_MATTER.detect(raw):
        return {}, raw
    try:
        text, body = _FRONT_MATTER.split(raw)
    except ValueError as error:
        raise MetadataProblem("front matter is not closed by a --- line") from error
    if len(text) > MAX_FRONT_MATTER_CHARS:
        raise MetadataProblem(f"front matter longer than {MAX_FRONT_MATTER_CHARS} characters")
    if nesting(text) > MAX_FRONT_MATTER_NESTING:
        raise MetadataProblem("front matter nested too deeply")
    try:
        metadata = yaml.load(text, Loader=yaml.SafeLoader)
    except (yaml.YAMLError, ValueError, TypeError, RecursionError) as error:
        problem = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise MetadataProblem(f"front matter is not valid YAML ({problem})") from error
    if metadata is None:
        return {}, body
    if not isinstance(metadata, dict) or not all(isinstance(k, str) for k in metadata):
        raise MetadataProblem("front matter must be lines of `name: value`")
    return metadata, body


def nesting(text: str) -> int:
    """How deeply brackets and braces nest in a YAML text (quoted text aside, roughly)."""
    depth = deepest = 0
    for c in re.sub(r"'[^'\n]*'|\"[^\"\n]*\"", "", text):
        if c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "]}":
            depth = max(0, depth - 1)
    return deepest


def document_meta(file_name: str,
                  fields: dict[str, object]) -> tuple[DocumentMeta, tuple[str, ...]]:
    """The metadata, leaving out unknown fields and optional ones with bad values, each with
    a warning naming the file; MetadataProblem when the title itself is bad."""
    known = DocumentMeta.model_fields
    warnings = [f"{file_name}: unknown field {name!r} ignored" for name in fields
                if name not in known]
    fields = {name: value for name, value in fields.items() if name in known}
    while True:
        try:
            return DocumentMeta.model_validate(fields), tuple(warnings)
        except ValidationError as error:
            bad = {str(e["loc"][0]) for e in error.errors() if e["loc"]}
            if not bad or "title" in bad:
                raise MetadataProblem(f"invalid metadata ({_problems(error)})") from error
            warnings += [f"{file_name}: field {name!r} ignored ({_problems(error, name)})"
                         for name in sorted(bad)]
            fields = {name: value for name, value in fields.items() if name not in bad}


def _problems(error: ValidationError, field: str | None = None) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'metadata'}: {e['msg']}"
        for e in error.errors() if field is None or (e["loc"] and e["loc"][0] == field)
    )
