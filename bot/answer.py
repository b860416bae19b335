"""A question -> an Answer: the decision to answer, the excerpts and their sources.

The Answer is built once and knows nothing of transports; the console, the JSON contract and
Telegram each render it (see render.py), so they never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from bot.analysis import URL
from bot.corpus import DocumentMeta
from bot.excerpts import Quote, quote_hit
from bot.index import SearchIndex
from bot.privacy import contains_social_security_number
from bot.query import Concept, Lang, QueryParser
from bot.search import Hit, search

SHOWN_EXCERPTS = 3
MORE_EXCERPTS = 3
# The bot answers when its best passage holds this share of the question's weight…
MIN_COVERAGE = 0.5
# …or, for a long question full of words beside the point, a smaller share that still amounts
# to the weight of this many words the corpus has nowhere else.
MIN_COVERAGE_WITH_EVIDENCE = 0.3
MIN_EVIDENCE_RARE_WORDS = 2.0
# Further excerpts must score at least this share of the best one, and cover nearly as much.
MIN_RELATIVE_SCORE = 0.35
MIN_RELATIVE_COVERAGE = 0.6
SEARCH_DEPTH = 20

# A question longer than this is not searched: it is almost surely pasted text, not a question.
MAX_QUESTION_CHARS = 1000

Outcome = Literal["answered", "not_found", "no_question", "too_long"]


@dataclass(frozen=True, slots=True)
class Source:
    """Where an excerpt comes from, for the line under it."""

    doc_id: str
    title: str
    institution: str | None
    reference: str | None
    section: str | None
    published: date | None
    url: str | None

    @classmethod
    def of(cls, doc_id: str, meta: DocumentMeta, section: str | None) -> Source:
        return cls(doc_id, meta.title, meta.institution, meta.reference, section,
                   meta.published, meta.url)


@dataclass(frozen=True, slots=True)
class Link:
    """A web address found in an excerpt: where it is written, and `url` ready to open."""

    url: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Excerpt:
    quote: Quote
    source: Source
    score: float
    links: tuple[Link, ...]

    @property
    def text(self) -> str:
        return self.quote.text


@dataclass(frozen=True, slots=True)
class Answer:
    question: str
    lang: Lang
    outcome: Outcome
    excerpts: tuple[Excerpt, ...] = ()
    personal_data_warning: bool = False

    @property
    def answered(self) -> bool:
        return self.outcome == "answered"

    @property
    def shown(self) -> tuple[Excerpt, ...]:
        """The excerpts shown at once; the rest stand behind a "more" button."""
        return self.excerpts[:SHOWN_EXCERPTS]

    @property
    def more(self) -> tuple[Excerpt, ...]:
        return self.excerpts[SHOWN_EXCERPTS:]

    @property
    def links(self) -> tuple[Link, ...]:
        """Every distinct link of the shown excerpts, in order."""
        distinct = {link.url: link for e in reversed(self.shown) for link in reversed(e.links)}
        return tuple(reversed(distinct.values()))


def find_links(text: str) -> tuple[Link, ...]:
    """Web addresses in a text; a bare "www." address is opened over https."""
    links = []
    for m in URL.finditer(text):
        written = m.group()
        url = written if "://" in written else f"https://{written}"
        links.append(Link(url, m.start(), m.end()))
    return tuple(links)


class AnswerBuilder:
    """Answers questions from one index. Cheap to create; make a new one for a new index."""

    def __init__(self, index: SearchIndex) -> None:
        self.index = index
        self.parser = QueryParser(index.surface_forms, index.term_idf)

    def answer(self, question: str) -> Answer:
        warning = contains_social_security_number(question)
        if len(question) > MAX_QUESTION_CHARS:
            lang = self.parser.parse(question[:MAX_QUESTION_CHARS]).lang
            return Answer(question, lang, "too_long", personal_data_warning=warning)
        query = self.parser.parse(question)
        if not query.concepts:
            return Answer(question, query.lang, "no_question", personal_data_warning=warning)
        hits = self._relevant(search(self.index, query, limit=SEARCH_DEPTH))
        if not hits:
            return Answer(question, query.lang, "not_found", personal_data_warning=warning)
        excerpts = self._excerpts(hits, query.concepts)
        return Answer(question, query.lang, "answered", excerpts, warning)

    def _confident(self, hit: Hit) -> bool:
        if hit.coverage >= MIN_COVERAGE:
            return True
        enough = MIN_EVIDENCE_RARE_WORDS * self.index.unseen_idf
        return hit.coverage >= MIN_COVERAGE_WITH_EVIDENCE and hit.evidence >= enough

    def _relevant(self, hits: list[Hit]) -> list[Hit]:
        """The hits worth quoting, best first: those that cover the question, and among them
        those close enough to the best one. A high score on a few common words is not enough."""
        confident = [h for h in hits if self._confident(h)]
        if not confident:
            return []
        top = confident[0]
        return [h for h in confident
                if h.score >= MIN_RELATIVE_SCORE * top.score
                and h.coverage >= MIN_RELATIVE_COVERAGE * top.coverage]

    def _excerpts(self, hits: list[Hit], concepts: tuple[Concept, ...]) -> tuple[Excerpt, ...]:
        """Quote each hit, skipping a quote whose sentences another quote already shows."""
        excerpts: list[Excerpt] = []
        quoted: set[tuple[str, int]] = set()
        for hit in hits:
            quote = quote_hit(hit, concepts, self.index.term_idf)
            keys = {(hit.passage.doc_id, s) for s in quote.sentence_ids}
            if keys & quoted:
                continue
            quoted |= keys
            meta = self.index.documents[hit.passage.doc_id]
            source = Source.of(hit.passage.doc_id, meta, hit.passage.section)
            excerpts.append(Excerpt(quote, source, hit.score, find_links(quote.text)))
            if len(excerpts) == SHOWN_EXCERPTS + MORE_EXCERPTS:
                break
        return tuple(excerpts)
