"""What an index holds, document by document, and what changed between two indexes: what an
admin reads before removing a document (/docs) and after any rebuild (/reindex, uploads)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from bot.index import SearchIndex
from bot.metadata import DocumentMeta


@dataclass(frozen=True, slots=True)
class DocumentSummary:
    """One indexed document: its passage count and the bank entries answered from it."""

    name: str
    meta: DocumentMeta
    passages: int
    entries: tuple[str, ...]


def document_summaries(index: SearchIndex) -> list[DocumentSummary]:
    """Every indexed document, in the index's order."""
    counts = Counter(passage.doc_id for passage in index.passages)
    entries: dict[str, list[str]] = {name: [] for name in index.documents}
    for entry in index.bank:
        for name in dict.fromkeys(index.passages[n].doc_id for n in entry.passages):
            entries[name].append(entry.id)
    return [DocumentSummary(name, meta, counts[name], tuple(entries[name]))
            for name, meta in index.documents.items()]


@dataclass(frozen=True, slots=True)
class IndexChanges:
    """Documents added, removed or changed (metadata or passages) from one index to the
    next, and the bank entries newly served or no longer served, each of these with the
    warning that says why (None: the entry left the bank)."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    entries_added: tuple[str, ...] = ()
    entries_lost: tuple[tuple[str, str | None], ...] = ()

    def __bool__(self) -> bool:
        return any((self.added, self.removed, self.changed, self.entries_added,
                    self.entries_lost))


def index_changes(before: SearchIndex, after: SearchIndex) -> IndexChanges:
    old, new = _contents(before), _contents(after)
    old_entries = [entry.id for entry in before.bank]
    new_entries = [entry.id for entry in after.bank]
    return IndexChanges(
        added=tuple(name for name in new if name not in old),
        removed=tuple(name for name in old if name not in new),
        changed=tuple(name for name in new if name in old and new[name] != old[name]),
        entries_added=tuple(i for i in new_entries if i not in old_entries),
        entries_lost=tuple((i, after.skipped_entries.get(i))
                           for i in old_entries if i not in new_entries),
    )


def _contents(index: SearchIndex) -> dict[str, tuple[DocumentMeta, list[str]]]:
    """Each document's metadata and passages' text: what tells that it changed."""
    contents: dict[str, tuple[DocumentMeta, list[str]]] = {
        name: (meta, []) for name, meta in index.documents.items()}
    for passage in index.passages:
        contents[passage.doc_id][1].append(passage.text)
    return contents
