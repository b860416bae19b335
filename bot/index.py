"""Passages -> a BM25 index and sentence embeddings, saved in the index folder and loaded back.

A passage is indexed with its context: the sentences beside it, its section's heading and its
document's title and author, so that "the question of M. Dubois" reaches every sentence of it.
Its embedding is computed from its title and its own words.

The saved index records a format version and a fingerprint of the corpus, of the analysis and
of the embedding model; at start-up it is used only when they still match, and rebuilt
otherwise. It is JSON plus one `.npy` array (loaded without pickle: loading a pickle runs code).
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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import numpy as np
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
from bot.embeddings import Embedder, default_embedder
from bot.passages import Passage, neighbours, split_passages
from bot.postings import EMPTY_ROW, Postings, Row
from bot.suggestions import CATALOGUE_FILE, CatalogueQuestion, read_catalogue

log = logging.getLogger(__name__)

FORMAT_VERSION = 2
# Bump when the analysis changes what terms a text gives, so saved indexes are rebuilt.
ANALYSIS_VERSION = "fr-snowball-unidecode-3-context"
INDEX_FILE = "index.json"
NO_EMBEDDINGS = "none"
# BM25's term-frequency saturation and length normalisation.
BM25_K1 = 1.2
BM25_B = 0.75


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

    def __init__(self, corpus: list[list[str]], k1: float = BM25_K1, b: float = BM25_B) -> None:
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
    # One unit vector per passage, from `embedding_model`; None when searching on BM25 alone.
    embeddings: np.ndarray | None = None
    embedding_model: str = NO_EMBEDDINGS
    # The questions offered as suggestions, kept with the corpus (corpus/questions.toml).
    questions: tuple[CatalogueQuestion, ...] = ()
    terms: Postings = field(init=False, repr=False)
    pairs: Postings = field(init=False, repr=False)
    term_idf: dict[str, float] = field(init=False, repr=False)
    # BM25 of whole documents, and the document of each passage (its row there).
    document_terms: Postings = field(init=False, repr=False)
    passage_documents: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # rank-bm25 is the model: it counts the terms and sets the IDF and lengths. Its
        # per-passage counts are dropped once the postings hold the scores they give.
        model = LuceneBM25(self.passage_terms, BM25_K1, BM25_B)
        self.terms = Postings.from_model(model)
        self.term_idf = model.idf
        numbers = self.terms.rows
        pairs = [pair_codes([numbers[t] for t in terms], len(numbers))
                 for terms in self.passage_terms]
        self.pairs = Postings.from_model(LuceneBM25(pairs, BM25_K1, BM25_B), integer_keys=True)
        numbered = {doc_id: n for n, doc_id in enumerate(self.documents)}
        self.passage_documents = np.array([numbered[p.doc_id] for p in self.passages],
                                          dtype=np.int32)
        by_document: list[list[str]] = [[] for _ in numbered]
        for passage, terms in zip(self.passages, self.passage_terms, strict=True):
            by_document[numbered[passage.doc_id]].extend(terms)
        self.document_terms = Postings.from_model(LuceneBM25(by_document, BM25_K1, BM25_B))

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
            "embedding_model": self.embedding_model,
            "questions": [{"fr": q.fr, "en": q.en} for q in self.questions],
            "documents": {k: m.model_dump(mode="json") for k, m in self.documents.items()},
            "passages": [
                {"doc_id": p.doc_id, "section": p.section, "sentence": p.sentence,
                 "text": p.text}
                for p in self.passages
            ],
            "passage_terms": self.passage_terms,
            "surface_forms": self.surface_forms,
        }

    def neighbours(self, passage: Passage) -> list[Passage]:
        """The sentences just before and after a passage in its section."""
        return neighbours(self.passages, passage.position)

    @classmethod
    def from_json(cls, data: dict, embeddings: np.ndarray | None = None) -> SearchIndex:
        return cls(
            documents={k: DocumentMeta.model_validate(m) for k, m in data["documents"].items()},
            passages=[Passage(p["doc_id"], position, p["section"], p["sentence"], p["text"])
                      for position, p in enumerate(data["passages"])],
            passage_terms=[list(terms) for terms in data["passage_terms"]],
            surface_forms=dict(data["surface_forms"]),
            fingerprint=data["fingerprint"],
            built_at=data["built_at"],
            build_seconds=float(data.get("build_seconds", 0.0)),
            skipped=list(data.get("skipped", [])),
            embeddings=embeddings,
            embedding_model=data["embedding_model"] if embeddings is not None else NO_EMBEDDINGS,
            questions=tuple(CatalogueQuestion(q["fr"], q["en"]) for q in data["questions"]),
        )


def pair_codes(numbers: list[int], vocabulary_size: int) -> list[int]:
    """Neighbouring terms, given by their numbers, as one integer each: what proximity is
    scored on. (Strings for millions of pairs would hold most of the index's memory.)"""
    return [a * vocabulary_size + b for a, b in itertools.pairwise(numbers)]


def source_fingerprint(corpus_dir: Path, embedder: Embedder | None = None) -> str:
    """Fingerprint of what an index is derived from: the corpus files, the analysis and the
    embedding model."""
    model = embedder.name if embedder is not None else NO_EMBEDDINGS
    digest = hashlib.sha256(f"{FORMAT_VERSION}/{ANALYSIS_VERSION}/{model}".encode())
    digest.update(" ".join(sorted(load_word_list("stopwords_fr.txt"))).encode())
    digest.update(corpus_fingerprint(corpus_dir).encode())
    if (catalogue := corpus_dir / CATALOGUE_FILE).is_file():
        digest.update(catalogue.read_bytes())
    return digest.hexdigest()


def build_index(corpus_dir: Path, analyzer: Analyzer | None = None,
                embedder: Embedder | None = None, *, embeddings: bool = True) -> SearchIndex:
    """Read the corpus and index its passages. Unreadable files are skipped with a warning.
    Without an `embedder`, the default model is used if it loads; `embeddings=False` builds
    a BM25-only index."""
    analyzer = analyzer or default_analyzer()
    embedder = (embedder or default_embedder()) if embeddings else None
    started = time.perf_counter()
    fingerprint = source_fingerprint(corpus_dir, embedder)
    loaded = load_corpus(corpus_dir)
    for error in loaded.errors:
        log.warning("corpus file skipped: %s", error)
    if not loaded.documents:
        raise EmptyCorpusError(
            f"no readable document in {corpus_dir}"
            + (f" ({len(loaded.errors)} file(s) skipped)" if loaded.errors else "")
        )
    passages: list[Passage] = []
    for doc in loaded.documents:
        passages.extend(split_passages(doc, first_position=len(passages)))
    documents = {doc.doc_id: doc.meta for doc in loaded.documents}
    index = SearchIndex(
        documents=documents,
        passages=passages,
        passage_terms=[analyzer.terms(text) for text in context_texts(passages, documents)],
        surface_forms=surface_forms(loaded.documents, analyzer),
        fingerprint=fingerprint,
        built_at=datetime.now(UTC).isoformat(timespec="seconds"),
        skipped=[str(e) for e in loaded.errors],
        questions=_catalogue(corpus_dir),
    )
    if embedder is not None:
        index.embeddings = embedder.embed_passages(
            [embedding_text(p, documents[p.doc_id]) for p in passages])
        index.embedding_model = embedder.name
    index.build_seconds = time.perf_counter() - started
    return index


def _catalogue(corpus_dir: Path) -> tuple[CatalogueQuestion, ...]:
    """The suggestion catalogue kept with the corpus; a broken one is skipped with a warning,
    like a broken document."""
    try:
        return read_catalogue(corpus_dir / CATALOGUE_FILE)
    except (ValueError, OSError) as error:
        log.warning("question catalogue skipped: %s", error)
        return ()


def context_texts(passages: list[Passage], documents: dict[str, DocumentMeta]) -> list[str]:
    """What each passage is indexed under: its sentence, the sentences beside it, its
    section's heading, and its document's title, author and reference."""
    texts = []
    for i, passage in enumerate(passages):
        around = [other.text for other in neighbours(passages, i)]
        meta = documents[passage.doc_id]
        about = (passage.section, meta.title, meta.author, meta.author_detail, meta.reference)
        texts.append(" ".join([passage.text, *around, *(part for part in about if part)]))
    return texts


def embedding_text(passage: Passage, meta: DocumentMeta) -> str:
    """What a passage's embedding is computed from: its document's title, then its words."""
    return f"{meta.title}. {passage.text}"


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
    """Write the index atomically: a reader sees the old files or the new ones, never half.
    The embeddings go first, under a name of their own that index.json refers to."""
    index_dir.mkdir(parents=True, exist_ok=True)
    data = index.to_json()
    if index.embeddings is not None:
        name = f"embeddings-{index.fingerprint[:16]}.npy"
        _write_atomically(index_dir, name, lambda handle: np.save(
            handle, index.embeddings.astype(np.float32), allow_pickle=False), binary=True)
        data["embeddings_file"] = name
    target = _write_atomically(index_dir, INDEX_FILE, lambda handle: json.dump(
        data, handle, ensure_ascii=False))
    for stale in index_dir.glob("embeddings-*.npy"):
        if stale.name != data.get("embeddings_file"):
            stale.unlink(missing_ok=True)
    return target


def _write_atomically(folder: Path, name: str, write: Callable[[IO], object],
                      binary: bool = False) -> Path:
    target = folder / name
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".index-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb" if binary else "w", encoding=None if binary else "utf-8") as h:
            write(h)
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
        embeddings = None
        if name := data.get("embeddings_file"):
            embeddings = np.load(index_dir / Path(name).name, allow_pickle=False)
        index = SearchIndex.from_json(data, embeddings)
    except IndexUnavailable:
        raise
    except (OSError, ValueError, KeyError, TypeError, AttributeError,
            ZeroDivisionError) as error:
        problem = type(error).__name__
        raise IndexUnavailable(f"saved index at {path} is corrupt ({problem})") from error
    if len(index.passages) != len(index.passage_terms) or not index.passages:
        raise IndexUnavailable(f"saved index at {path} is corrupt (passages and terms disagree)")
    if index.embeddings is not None and index.embeddings.shape[0] != len(index.passages):
        raise IndexUnavailable(f"saved index at {path} is corrupt (embeddings and passages "
                               "disagree)")
    return index


def load_or_build_index(corpus_dir: Path, index_dir: Path) -> SearchIndex:
    """The saved index when it is current; otherwise a fresh one, saved for next time."""
    try:
        index = load_index(index_dir)
    except IndexUnavailable as error:
        log.info("building the index: %s", error)
    else:
        if index.fingerprint == source_fingerprint(corpus_dir, default_embedder()):
            return index
        log.info("building the index: the corpus or the analysis changed")
    index = build_index(corpus_dir)
    try:
        save_index(index, index_dir)
    except OSError as error:
        log.warning("could not save the index in %s: %s", index_dir, error)
    return index
