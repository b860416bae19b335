"""Corpus folder -> SearchIndex: documents read, split into passages, analysed, embedded.

A passage is indexed with its context: the sentences beside it, its section's heading and its
document's title and author, so that "the question of M. Dubois" reaches every sentence of it.
Its embedding is computed from its title and its own words. The fingerprint of what an index
is derived from (corpus, analysis, embedding model) tells a saved index that is out of date.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from bot.analysis import (
    Analyzer,
    compound_parts,
    default_analyzer,
    fold,
    load_word_list,
    written_words,
)
from bot.bank import BANK_FILE, BankEntry, SkippedEntry, link_bank, read_bank
from bot.classifiers import (
    EVERYDAY_FILE,
    UNANSWERED_FILE,
    examples,
    train_classifiers,
    training_settings,
)
from bot.corpus import Document, corpus_fingerprint, load_corpus
from bot.embeddings import Embedder, Progress, default_embedder
from bot.index import (
    ANALYSIS_VERSION,
    FORMAT_VERSION,
    NO_EMBEDDINGS,
    EmptyCorpusError,
    SearchIndex,
)
from bot.metadata import DocumentMeta
from bot.passages import Passage, neighbours, split_passages
from bot.query import QueryParser

log = logging.getLogger(__name__)

# How many times a passage's own words count among the terms it is indexed under, against
# once for its context (the sentences beside it, its heading, its document's title): the
# context helps find it, its own words decide between it and its neighbours.
SENTENCE_WEIGHT = 2


def source_fingerprint(corpus_dir: Path, embedder: Embedder | None = None) -> str:
    """Fingerprint of what an index is derived from: the corpus files, the question bank and
    the classifiers' training files and settings, the analysis and the embedding model."""
    model = embedder.name if embedder is not None else NO_EMBEDDINGS
    digest = hashlib.sha256(
        f"{FORMAT_VERSION}/{ANALYSIS_VERSION}/{SENTENCE_WEIGHT}/{model}".encode())
    digest.update(" ".join(sorted(load_word_list("stopwords_fr.txt"))).encode())
    digest.update(corpus_fingerprint(corpus_dir).encode())
    if (bank := corpus_dir / BANK_FILE).is_file():
        digest.update(bank.read_bytes())
    for training in (EVERYDAY_FILE, UNANSWERED_FILE):
        digest.update(resources.files("bot").joinpath("data", training).read_bytes())
    digest.update(training_settings().encode())
    return digest.hexdigest()


def build_index(corpus_dir: Path, analyzer: Analyzer | None = None,
                embedder: Embedder | None = None, *, embeddings: bool = True,
                progress: Progress | None = None) -> SearchIndex:
    """Read the corpus and index its passages. Unreadable files are skipped with a warning.
    Without an `embedder`, the default model is used if it loads; `embeddings=False` builds
    a BM25-only index. `progress` follows the embedding of the passages not embedded before,
    the longest part of a rebuild after a big upload."""
    analyzer = analyzer or default_analyzer()
    embedder = (embedder or default_embedder()) if embeddings else None
    started = time.perf_counter()
    fingerprint = source_fingerprint(corpus_dir, embedder)
    loaded = load_corpus(corpus_dir)
    for error in loaded.errors:
        log.warning("corpus file skipped: %s", error)
    warnings = [warning for doc in loaded.documents for warning in doc.warnings]
    for warning in warnings:
        log.warning("corpus metadata: %s", warning)
    if not loaded.documents:
        raise EmptyCorpusError(
            f"no readable document in {corpus_dir}"
            + (f" ({len(loaded.errors)} file(s) skipped)" if loaded.errors else "")
        )
    passages: list[Passage] = []
    for doc in loaded.documents:
        passages.extend(split_passages(doc, first_position=len(passages)))
    documents = {doc.doc_id: doc.meta for doc in loaded.documents}
    bank, skipped_entries = _bank(corpus_dir, passages)
    warnings += [skipped.warning for skipped in skipped_entries]
    index = SearchIndex(
        documents=documents,
        passages=passages,
        passage_terms=[analyzer.terms(text) for text in context_texts(passages, documents)],
        surface_forms=surface_forms(loaded.documents, analyzer),
        fingerprint=fingerprint,
        built_at=datetime.now(UTC).isoformat(timespec="seconds"),
        skipped=[str(e) for e in loaded.errors],
        warnings=warnings,
        bank=bank,
        skipped_entries={s.entry_id: s.warning for s in skipped_entries if s.entry_id},
    )
    if embedder is not None:
        index.embeddings = embedder.embed_passages(
            [embedding_text(p, documents[p.doc_id]) for p in passages], progress)
        index.embedding_model = embedder.name
    if bank:
        vectors = embedder.embed_examples(examples(bank)) if embedder is not None else None
        parser = QueryParser(index.surface_forms, index.term_idf, analyzer)
        index.classifier = train_classifiers(bank, vectors, parser.spelled)
    index.build_seconds = time.perf_counter() - started
    return index


def _bank(corpus_dir: Path, passages: list[Passage]
          ) -> tuple[tuple[BankEntry, ...], list[SkippedEntry]]:
    """The question bank kept with the corpus, linked to the passages; an entry that is
    malformed or whose answer is in no passage is skipped with a warning, and a file that is
    not TOML at all is skipped whole, like a broken document."""
    try:
        entries, skipped = read_bank(corpus_dir / BANK_FILE)
    except (ValueError, OSError) as error:
        entries, skipped = (), [SkippedEntry(None, f"question bank skipped: {error}")]
    linked, unlinked = link_bank(entries, passages)
    for entry in skipped + unlinked:
        log.warning("%s", entry.warning)
    return linked, skipped + unlinked


def context_texts(passages: list[Passage], documents: dict[str, DocumentMeta]) -> list[str]:
    """What each passage is indexed under: its sentence (SENTENCE_WEIGHT times), the
    sentences beside it, its section's heading, and its document's title, author and
    reference."""
    texts = []
    for i, passage in enumerate(passages):
        around = [other.text for other in neighbours(passages, i)]
        meta = documents[passage.doc_id]
        about = (passage.section, meta.title, meta.author, meta.author_detail, meta.reference)
        own = [passage.text] * SENTENCE_WEIGHT
        texts.append(" ".join([*own, *around, *(part for part in about if part)]))
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
