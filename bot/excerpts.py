"""A hit -> its sentence, with the neighbour that scores best when there is room.

The sentence shown is the one the ranking chose, and its neighbour is chosen on the same fused
score, so the excerpt holds what answers. The excerpt is verbatim: whole sentences, or one long
sentence cut at word boundaries with "…" where text was left out. The matched words are
located in it for highlighting.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass

import numpy as np

from bot.analysis import Analyzer, default_analyzer
from bot.index import SearchIndex
from bot.search import Hit

MAX_EXCERPT_CHARS = 450
# A neighbouring sentence is added, cut if need be, when at least this much room is left.
MIN_NEIGHBOUR_CHARS = 80
ELLIPSIS = "…"


@dataclass(frozen=True, slots=True)
class Quote:
    """Verbatim text from a document, the passages (sentences) it shows, those of them it
    shows whole, and the character spans of the words that matched the question."""

    text: str
    passages: frozenset[int]
    highlights: tuple[tuple[int, int], ...]
    whole: frozenset[int]


def quote_hit(hit: Hit, index: SearchIndex, scores: np.ndarray,
              analyzer: Analyzer | None = None, quoted: Set[int] = frozenset(),
              whole_only: Set[int] = frozenset()) -> Quote:
    """The hit's sentence, whole, with as much of its best-scoring neighbour as fits (the
    following one on a tie), unless that neighbour is `quoted` already by another excerpt,
    or is among `whole_only` and does not fit whole; a sentence too long alone is cut around
    its matches."""
    analyzer = analyzer or default_analyzer()
    passage = hit.passage
    text, shown, whole = passage.text, [passage.position], [passage.position]
    room = MAX_EXCERPT_CHARS - len(text) - 1
    neighbours = [n for n in index.neighbours(passage) if n.position not in quoted
                  and (n.position not in whole_only or len(n.text) <= room)]
    if room < 0:
        text = _cut_around_matches(text, hit.matched_terms, index.term_idf, analyzer)
        whole.clear()
    elif room >= MIN_NEIGHBOUR_CHARS and neighbours:
        other = max(neighbours, key=lambda n: (scores[n.position], n.position))
        shown.append(other.position)
        if len(other.text) <= room:
            whole.append(other.position)
        if other.position > passage.position:
            text = f"{text} {_head(other.text, room)}"
        else:
            text = f"{_tail(other.text, room)} {text}"
    return Quote(text=text, passages=frozenset(shown),
                 highlights=tuple(match_spans(text, hit.matched_terms, analyzer)),
                 whole=frozenset(whole))


def _head(sentence: str, room: int) -> str:
    """The start of a sentence, cut after a whole word to fit in `room` characters."""
    if len(sentence) <= room:
        return sentence
    return sentence[:room - 1].rsplit(" ", 1)[0].rstrip(",;:") + ELLIPSIS


def _tail(sentence: str, room: int) -> str:
    """The end of a sentence, cut before a whole word to fit in `room` characters."""
    if len(sentence) <= room:
        return sentence
    return ELLIPSIS + sentence[len(sentence) - room + 1:].split(" ", 1)[-1]


def match_spans(text: str, terms: frozenset[str], analyzer: Analyzer) -> list[tuple[int, int]]:
    """Character spans of the words of `text` whose terms are among `terms`."""
    return [(word.start, word.end) for word, word_terms in analyzer.words_with_terms(text)
            if not terms.isdisjoint(word_terms)]


def _cut_around_matches(text: str, terms: frozenset[str], idf: dict[str, float],
                        analyzer: Analyzer) -> str:
    """The window of MAX_EXCERPT_CHARS that holds the most matched weight, cut at words."""
    analysed = analyzer.words_with_terms(text)
    words = [word for word, _ in analysed]
    weight = [sum(idf.get(t, 0.0) for t in set(word_terms) & terms) for _, word_terms in analysed]
    best_start, best_weight, end = 0, -1.0, 0
    for i, first in enumerate(words):
        end = max(end, i)  # words[i:end] fit in a window that starts at words[i]
        while end < len(words) and words[end].end - first.start <= MAX_EXCERPT_CHARS:
            end += 1
        if (total := sum(weight[i:end])) > best_weight:
            best_start, best_weight = i, total
    start = words[best_start].start if best_start else 0
    inside = [w for w in words[best_start:] if w.end - start <= MAX_EXCERPT_CHARS]
    end = inside[-1].end if inside else min(len(text), start + MAX_EXCERPT_CHARS)
    # Keep the closing punctuation of the text if the window reaches its last word.
    if inside and inside[-1] is words[-1]:
        end = len(text)
    prefix = ELLIPSIS if start > 0 else ""
    suffix = ELLIPSIS if end < len(text) else ""
    return f"{prefix}{text[start:end]}{suffix}"
