"""A question -> an Answer: the decision to answer, the excerpts and their sources.

The Answer is built once and knows nothing of transports; the console, the JSON contract and
Telegram each render it (see render.py), so they never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from bot.analysis import URL
from bot.embeddings import Embedder, default_embedder
from bot.excerpts import Quote, quote_hit
from bot.index import SearchIndex
from bot.lang import LANGS, Lang
from bot.metadata import DocumentMeta
from bot.privacy import contains_social_security_number
from bot.query import QueryParser, dictionary, questions_first
from bot.search import Hit, Ranking, search
from bot.suggestions import Catalogue

SHOWN_EXCERPTS = 3
MORE_EXCERPTS = 3
# The decision to answer (docs/quality.md has the trade-off curve and the cross-validation):
# this share of the question's ideas must be on the documents' subject.
MIN_SUBJECT_SHARE = 0.34
# Further excerpts must score at least this share of the best one.
MIN_RELATIVE_SCORE = 0.6
SEARCH_DEPTH = 20

# A question longer than this is not searched: it is almost surely pasted text, not a question.
MAX_QUESTION_CHARS = 1000

Outcome = Literal["answered", "not_found", "no_question", "too_long"]


@dataclass(frozen=True, slots=True)
class Source:
    """Where an excerpt comes from, for the line under it."""

    doc_id: str
    meta: DocumentMeta
    section: str | None

    @property
    def title(self) -> str:
        return self.meta.title

    @property
    def url(self) -> str | None:
        return self.meta.url

    @property
    def date(self) -> date | None:
        """The date of the part quoted: the answer's for its section, else the question's."""
        in_answer = (self.section or "").lower().startswith("réponse du")
        return self.meta.answered if in_answer and self.meta.answered else self.meta.published


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
    # Questions the bot can answer, offered when it declines this one, in the user's language.
    suggestions: tuple[str, ...] = ()

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
    """Answers questions from one index. Cheap to create; make a new one for a new index.
    Without an `embedder`, the default model is used when the index holds its embeddings."""

    def __init__(self, index: SearchIndex, embedder: Embedder | None = None) -> None:
        self.index = index
        self.parser = QueryParser(index.surface_forms, index.term_idf)
        embedder = embedder or default_embedder()
        self.embedder = embedder if embedder and embedder.name == index.embedding_model else None
        self.catalogue = Catalogue(index.questions, self.embedder)

    def warm_up(self) -> None:
        """Load now what the first questions would otherwise wait for: the word lists of
        both languages and the catalogue's embeddings (together one to two seconds)."""
        for lang in LANGS:
            dictionary(lang)
        self.catalogue.warm_up()

    def answer(self, question: str) -> Answer:
        warning = contains_social_security_number(question)
        if len(question) > MAX_QUESTION_CHARS:
            lang = self.parser.parse(question[:MAX_QUESTION_CHARS]).lang
            return Answer(question, lang, "too_long", personal_data_warning=warning)
        query = self.parser.parse(question)
        if not query.concepts:
            return Answer(question, query.lang, "no_question", personal_data_warning=warning)
        vector = (self.embedder.embed_queries([questions_first(question)])[0]
                  if self.embedder else None)
        ranking = search(self.index, query, vector, limit=SEARCH_DEPTH)
        hits = self._relevant(ranking)
        if not hits:
            return Answer(question, query.lang, "not_found", personal_data_warning=warning,
                          suggestions=self.catalogue.nearest(question, query.lang))
        excerpts = self._excerpts(hits, ranking)
        return Answer(question, query.lang, "answered", excerpts, warning)

    @staticmethod
    def _relevant(ranking: Ranking) -> list[Hit]:
        """The hits worth quoting, best first: none for a question off the documents' subject,
        or when no passage holds any of its words; else those that score close to the best."""
        hits = ranking.hits
        if (not hits or ranking.subject_share < MIN_SUBJECT_SHARE
                or not hits[0].matched_terms):
            return []
        return [h for h in hits if h.score >= MIN_RELATIVE_SCORE * hits[0].score]

    def _excerpts(self, hits: list[Hit], ranking: Ranking) -> tuple[Excerpt, ...]:
        """Quote each hit, skipping a hit whose sentence another quote already shows whole.
        A sentence shown only in part, cut as the neighbour of another, may be the one that
        answers: it still gets its own excerpt, but it is never joined again as a neighbour."""
        excerpts: list[Excerpt] = []
        shown: set[int] = set()
        shown_whole: set[int] = set()
        for hit in hits:
            if hit.passage.position in shown_whole:
                continue
            quote = quote_hit(hit, self.index, ranking.scores, quoted=shown)
            shown |= quote.passages
            shown_whole |= quote.whole
            meta = self.index.documents[hit.passage.doc_id]
            source = Source(hit.passage.doc_id, meta, hit.passage.section)
            excerpts.append(Excerpt(quote, source, hit.score, find_links(quote.text)))
            if len(excerpts) == SHOWN_EXCERPTS + MORE_EXCERPTS:
                break
        return tuple(excerpts)
