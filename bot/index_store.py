"""SearchIndex <-> the index folder: saved atomically, loaded back, rebuilt when out of date.

The saved index records a format version and a fingerprint of the corpus, of the analysis and
of the embedding model; at start-up it is used only when they still match, and rebuilt
otherwise. It is JSON plus one `.npz` file of arrays, the passages' embeddings and the
question bank's classifiers (loaded without pickle: loading a pickle runs code).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from bot.embeddings import Progress, default_embedder
from bot.files import write_atomically
from bot.index import FORMAT_VERSION, INDEX_FILE, IndexUnavailable, SearchIndex
from bot.indexer import build_index, source_fingerprint

log = logging.getLogger(__name__)


def save_index(index: SearchIndex, index_dir: Path) -> Path:
    """Write the index atomically: a reader sees the old files or the new ones, never half.
    The embeddings go first, under a name of their own that index.json refers to."""
    index_dir.mkdir(parents=True, exist_ok=True)
    data = index.to_json()
    name = f"arrays-{index.fingerprint[:16]}.npz"
    arrays = index.arrays()
    # numpy types **arrays as if a key could be savez's own allow_pickle: none is.
    write_atomically(index_dir, name, lambda handle: np.savez(
        handle, **arrays), binary=True)  # type: ignore[arg-type]
    data["arrays_file"] = name
    target = write_atomically(index_dir, INDEX_FILE, lambda handle: json.dump(
        data, handle, ensure_ascii=False))
    for stale in [*index_dir.glob("embeddings-*.np[yz]"), *index_dir.glob("arrays-*.npz")]:
        if stale.name != name:
            stale.unlink(missing_ok=True)
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
        name = Path(str(data["arrays_file"])).name
        with np.load(index_dir / name, allow_pickle=False) as saved:
            arrays = {key: saved[key] for key in saved.files}
        index = SearchIndex.from_json(data, arrays)
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


def rebuild_index(corpus_dir: Path, index_dir: Path,
                  progress: Progress | None = None) -> SearchIndex:
    """A fresh index of the corpus, saved for the next start; `progress` follows the
    embedding of new passages. Raises IndexUnavailable when no document can be read and
    OSError when it cannot be saved."""
    index = build_index(corpus_dir, progress=progress)
    save_index(index, index_dir)
    return index
