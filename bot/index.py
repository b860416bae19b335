"""Passages -> a BM25 index, saved as JSON in the index folder and loaded back.

The saved index records a format version and a fingerprint of the corpus and of the analysis;
at start-up it is used only when both still match, and rebuilt otherwise. It is JSON, never
pickle: loading a pickle runs code.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import math
import os
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from rank_bm25 import BM25Okapi

from bot.analysis import (
    Analyzer,
    compound_parts,
    default_analyzer,
    fold,
    load_word_list,
    written_words,
)
from bot.corpus import Document, DocumentMeta, corpus_fingerprint, load_corpus
from bot.passages import Passage, split_passages
from bot.postings import EMPTY_ROW, Postings, Row

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
# Bump when the analysis changes what terms a text gives, so saved indexes are rebuilt.
ANALYSIS_VERSION = "fr-snowball-unidecode-2"
INDEX_FILE = "index.json"


class IndexUnavailable(Exception):
    """The index cannot be built or loaded; the message says why."""


class EmptyCorpusError(IndexUnavailable):
    """No document could be read from the corpus folder."""


class LuceneBM25(BM25Okapi):
    """BM25Okapi with Lucene's IDF, ln(1 + (N - df + 0.5) / (df + 0.5)).

    rank-bm25's Okapi IDF, ln((N - df + 0.5) / (df + 0.5)), is 0 for a term in half the
    passages and negative beyond, which BM25Okapi patches with a floor of epsilon times the
    mean IDF. On a corpus of a few dozen passages that makes common but meaningful words
    ("plainte", "données") worth nothing or worth more than rarer ones. Lucene's IDF is
    positive and decreasing in df everywhere, so rarer always means more informative.
    """

    def __init__(self, corpus: list[list[str]], k1: float = 1.2, b: float = 0.75) -> None:
        super().__init__(corpus, k1=k1, b=b)

    def _calc_idf(self, nd: dict[str, int]) -> None:
        self.idf = {term: lucene_idf(self.corpus_size, df) for term, df in nd.items()}
        self.average_idf = sum(self.idf.values()) / max(1, len(self.idf))


def lucene_idf(passages: int, frequency: int) -> float:
    """Lucene's IDF of a term found in `frequency` of `passages` passages."""
    return math.log(1 + (passages - frequency + 0.5) / (frequency + 0.5))


@dataclass
class SearchIndex:
    """Everything a search needs: documents, passages, their terms and the BM25 model."""

    documents: dict[str, DocumentMeta]
    passages: list[Passage]
    passage_terms: list[list[str]]
    surface_forms: dict[str, str]
    fingerprint: str
    built_at: str
    build_seconds: float = 0.0
    skipped: list[str] = field(default_factory=list)
    terms: Postings = field(init=False, repr=False)
    pairs: Postings = field(init=False, repr=False)
    term_idf: dict[str, float] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # rank-bm25 is the model: it counts the terms and sets the IDF and lengths. Its
        # per-passage counts are dropped once the postings hold the scores they give.
        model = LuceneBM25(self.passage_terms)
        self.terms = Postings.from_model(model)
        self.term_idf = model.idf
        numbers = self.terms.rows
        pairs = [pair_codes([numbers[t] for t in terms], len(numbers))
                 for terms in self.passage_terms]
        self.pairs = Postings.from_model(LuceneBM25(pairs), integer_keys=True)

    @property
    def vocabulary_size(self) -> int:
        return len(self.terms.rows)

    def idf(self, term: str) -> float | None:
        return self.term_idf.get(term)

    @property
    def unseen_idf(self) -> float:
        """The IDF a term would have if it occurred nowhere: the most informative value."""
        return lucene_idf(len(self.passages), 0)

    def term_row(self, term: str) -> Row:
        """The passages holding a term and BM25's contribution of the term to each."""
        return self.terms.row(term)

    def pair_row(self, first: str, second: str) -> Row:
        """BM25 of two terms standing side by side (stopwords aside), where they do so."""
        numbers = self.terms.rows
        if (a := numbers.get(first)) is None or (b := numbers.get(second)) is None:
            return EMPTY_ROW
        return self.pairs.row(a * len(numbers) + b)

    def to_json(self) -> dict[str, object]:
        return {
            "format_version": FORMAT_VERSION,
            "fingerprint": self.fingerprint,
            "built_at": self.built_at,
            "build_seconds": self.build_seconds,
            "skipped": self.skipped,
            "documents": {k: m.model_dump(mode="json") for k, m in self.documents.items()},
            "passages": [
                {"doc_id": p.doc_id, "position": p.position, "section": p.section,
                 "first_sentence": p.first_sentence, "sentences": list(p.sentences)}
                for p in self.passages
            ],
            "passage_terms": self.passage_terms,
            "surface_forms": self.surface_forms,
        }

    @classmethod
    def from_json(cls, data: dict) -> SearchIndex:
        return cls(
            documents={k: DocumentMeta.model_validate(m) for k, m in data["documents"].items()},
            passages=[Passage(p["doc_id"], p["position"], p["section"], p["first_sentence"],
                              tuple(p["sentences"])) for p in data["passages"]],
            passage_terms=[list(terms) for terms in data["passage_terms"]],
            surface_forms=dict(data["surface_forms"]),
            fingerprint=data["fingerprint"],
            built_at=data["built_at"],
            build_seconds=float(data.get("build_seconds", 0.0)),
            skipped=list(data.get("skipped", [])),
        )


def pair_codes(numbers: list[int], vocabulary_size: int) -> list[int]:
    """Neighbouring terms, given by their numbers, as one integer each: what proximity is
    scored on. (Strings for millions of pairs would hold most of the index's memory.)"""
    return [a * vocabulary_size + b for a, b in itertools.pairwise(numbers)]


def source_fingerprint(corpus_dir: Path) -> str:
    """Fingerprint of what an index is derived from: the corpus files and the analysis."""
    digest = hashlib.sha256(f"{FORMAT_VERSION}/{ANALYSIS_VERSION}".encode())
    digest.update(" ".join(sorted(load_word_list("stopwords_fr.txt"))).encode())
    digest.update(corpus_fingerprint(corpus_dir).encode())
    return digest.hexdigest()


def build_index(corpus_dir: Path, analyzer: Analyzer | None = None) -> SearchIndex:
    """Read the corpus and index its passages. Unreadable files are skipped with a warning."""
    analyzer = analyzer or default_analyzer()
    started = time.perf_counter()
    fingerprint = source_fingerprint(corpus_dir)
    loaded = load_corpus(corpus_dir)
    for error in loaded.errors:
        log.warning("corpus file skipped: %s", error)
    if not loaded.documents:
        raise EmptyCorpusError(
            f"no readable document in {corpus_dir}"
            + (f" ({len(loaded.errors)} file(s) skipped)" if loaded.errors else "")
        )
    passages = [p for doc in loaded.documents for p in split_passages(doc)]
    index = SearchIndex(
        documents={doc.doc_id: doc.meta for doc in loaded.documents},
        passages=passages,
        passage_terms=[analyzer.terms(p.text) for p in passages],
        surface_forms=surface_forms(loaded.documents, analyzer),
        fingerprint=fingerprint,
        built_at=datetime.now(UTC).isoformat(timespec="seconds"),
        skipped=[str(e) for e in loaded.errors],
    )
    index.build_seconds = time.perf_counter() - started
    return index


def surface_forms(documents: Sequence[Document], analyzer: Analyzer) -> dict[str, str]:
    """Every folded word of the corpus (parts of compounds included) -> its stem, most
    frequent first: the vocabulary that misspelled words are matched against."""
    counts: Counter[str] = Counter()
    for doc in documents:
        for section in doc.sections:
            for paragraph in section.paragraphs:
                counts.update(part for written in written_words(paragraph)
                              for part in compound_parts(fold(written))
                              if not analyzer.is_stopword(part))
    return {form: analyzer.stem(form) for form, _ in counts.most_common()}


def save_index(index: SearchIndex, index_dir: Path) -> Path:
    """Write the index atomically: a reader sees the old file or the new one, never half."""
    index_dir.mkdir(parents=True, exist_ok=True)
    target = index_dir / INDEX_FILE
    fd, tmp = tempfile.mkstemp(dir=index_dir, prefix=".index-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(index.to_json(), handle, ensure_ascii=False)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def load_index(index_dir: Path) -> SearchIndex:
    """Read a saved index, or raise IndexUnavailable if it is missing or unreadable."""
    path = index_dir / INDEX_FILE
    if not path.exists():
        raise IndexUnavailable(f"no saved index at {path}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format_version") != FORMAT_VERSION:
            raise IndexUnavailable(f"saved index has format {data.get('format_version')!r}")
        index = SearchIndex.from_json(data)
    except IndexUnavailable:
        raise
    except (ValueError, KeyError, TypeError, AttributeError, ZeroDivisionError) as error:
        problem = type(error).__name__
        raise IndexUnavailable(f"saved index at {path} is corrupt ({problem})") from error
    if len(index.passages) != len(index.passage_terms) or not index.passages:
        raise IndexUnavailable(f"saved index at {path} is corrupt (passages and terms disagree)")
    return index


def load_or_build_index(corpus_dir: Path, index_dir: Path) -> SearchIndex:
    """The saved index when it is current; otherwise a fresh one, saved for next time."""
    try:
        index = load_index(index_dir)
    except IndexUnavailable as error:
        log.info("building the index: %s", error)
    else:
        if index.fingerprint == source_fingerprint(corpus_dir):
            return index
        log.info("building the index: the corpus or the analysis changed")
    index = build_index(corpus_dir)
    try:
        save_index(index, index_dir)
    except OSError as error:
        log.warning("could not save the index in %s: %s", index_dir, error)
    return index
