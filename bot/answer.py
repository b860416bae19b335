"""A question -> an Answer: the decision to answer, the excerpts and their sources.

The Answer is built once and knows nothing of transports; the console, the JSON contract and
Telegram each render it (see render.py), so they never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Literal

import numpy as np

from bot.analysis import URL, fold
from bot.bank import BankEntry
from bot.classifiers import QuestionClassifiers, Reading
from bot.embeddings import Embedder, default_embedder
from bot.excerpts import Quote, quote_hit
from bot.index import SearchIndex
from bot.lang import Lang
from bot.metadata import DocumentMeta
from bot.privacy import contains_social_security_number
from bot.query import Query, QueryParser, common_words, load_language_data, questions_first
from bot.search import Hit, Ranking, bank_prior, concept_weight, search
from bot.smalltalk import small_talk
from bot.suggestions import Catalogue

SHOWN_EXCERPTS = 1
MORE_EXCERPTS = 5
# A hedged answer shows no more than this many of the closest excerpts.
HEDGED_EXCERPTS = 2
# The decision to answer (docs/quality.md has the trade-off curve and the cross-validation).
# The topic classifier must find the question at least this likely to be about the breach,
# unless the intent classifier finds one bank question at least SURE_INTENT likely, and
# likelier than the topic classifier finds it off the subject (a typing slip can fool the
# first, not both; when they disagree, the surer wins)…
MIN_ON_TOPIC = 0.6
SURE_INTENT = 0.4
# …and it is answered with confidence unless the intent classifier finds it at least this
# likely to be one of the questions about the breach that the documents do not answer, or
# finds no bank question even this likely.
MAX_UNANSWERED = 0.8
MIN_INTENT = 0.05
# Without a question bank there are no classifiers: this share of the question's ideas must
# then be on the documents' subject.
MIN_SUBJECT_SHARE = 0.34
# The bank question an answer is said to answer must be at least this likely.
MIN_MATCH = 0.3
# Further excerpts must score at least this share of the best one.
MIN_RELATIVE_SCORE = 0.6
SEARCH_DEPTH = 20

# A question longer than this is not searched: it is almost surely pasted text, not a question.
MAX_QUESTION_CHARS = 1000

Outcome = Literal["answered", "not_found", "no_question", "too_long", "thanks", "greeting"]
Decision = Literal["confident", "hedged", "declined"]
# What a reply is, as the metrics and the statistics count it.
ReplyKind = Literal["confident", "hedged", "declined", "refused", "smalltalk"]
REPLY_KINDS: tuple[ReplyKind, ...] = ("confident", "hedged", "declined", "refused", "smalltalk")


@dataclass(frozen=True, slots=True)
class Source:
    """Where an excerpt comes from, for the line under it. A filing line ("Auteur : …",
    "En attente de réponse…") is dated as the question's, and its section is not named."""

    doc_id: str
    meta: DocumentMeta
    section: str | None
    filing: bool = False

    @property
    def title(self) -> str:
        return self.meta.title

    @property
    def url(self) -> str | None:
        return self.meta.url

    @property
    def in_answer(self) -> bool:
        """Whether the part quoted is the ministry's answer (and the document has one)."""
        return (self.meta.answered is not None
                and (self.section or "").lower().startswith("réponse du"))

    @property
    def date(self) -> date | None:
        """The date of the part quoted: the answer's for its section, else the question's."""
        return self.meta.answered if self.in_answer else self.meta.published

    @property
    def shown_section(self) -> str | None:
        """The section named on the source line: not a filing line's, and not the question's
        text or the answer, which the line's date already says it quotes."""
        if self.filing or self.in_answer or (self.section or "").lower().startswith("texte de"):
            return None
        return self.section


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
    # Questions the bot can answer, offered when it declines or hedges this one, in the
    # user's language.
    suggestions: tuple[str, ...] = ()
    # False when the excerpts are only the closest the documents hold (a hedged answer), and
    # then the question's words that no document uses.
    confident: bool = True
    missing_words: tuple[str, ...] = ()
    # The bank question the first excerpt answers, in the user's language, and its entry's id
    # (what a link to this answer names).
    matched_question: str | None = None
    matched_entry: str | None = None

    @property
    def answered(self) -> bool:
        return self.outcome == "answered"

    @property
    def kind(self) -> ReplyKind:
        """Quoted with confidence, quoted with a hedge, declined (the documents do not answer
        it), refused (no question, or too long), or small talk."""
        if self.answered:
            return "confident" if self.confident else "hedged"
        if self.outcome == "not_found":
            return "declined"
        return "smalltalk" if self.outcome in ("thanks", "greeting") else "refused"

    @property
    def shown(self) -> tuple[Excerpt, ...]:
        """The excerpts shown at once (the rest stand behind a "more" button): the first,
        so that a reply fits one phone screen; none of a hedged answer, whose passages are
        the closest the documents hold, not an answer, so shown only on request."""
        return self.excerpts[:SHOWN_EXCERPTS] if self.confident else ()

    @property
    def more(self) -> tuple[Excerpt, ...]:
        return self.excerpts[len(self.shown):]

    @property
    def links(self) -> tuple[Link, ...]:
        """Every distinct link of the shown excerpts, in order of first appearance."""
        distinct: dict[str, Link] = {}
        for link in (link for excerpt in self.shown for link in excerpt.links):
            distinct.setdefault(link.url, link)
        return tuple(distinct.values())


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
        self.classifiers = QuestionClassifiers(index.classifier) if index.classifier else None
        self.catalogue = Catalogue(index.bank)
        self._bank_positions = {entry.id: n for n, entry in enumerate(index.bank)}

    def warm_up(self) -> None:
        """Load now what the first questions would otherwise wait for: the word lists and
        the language model, and the embedding model's first call."""
        load_language_data()
        self.answer("Comment porter plainte ?")

    def answer(self, question: str) -> Answer:
        warning = contains_social_security_number(question)
        if len(question) > MAX_QUESTION_CHARS:
            lang = self.parser.parse(question[:MAX_QUESTION_CHARS]).lang
            return Answer(question, lang, "too_long", personal_data_warning=warning)
        if talk := small_talk(question):
            return Answer(question, talk.lang, talk.kind, personal_data_warning=warning)
        query = self.parser.parse(question)
        evidence = self.evidence(question, query) if query.spelled else None
        if evidence is None or (not query.concepts and not evidence.sure):
            return Answer(question, query.lang, "no_question", personal_data_warning=warning)
        lang, reading = query.lang, evidence.reading
        intents = reading.intents if reading else None
        decision = decide(evidence)
        if decision == "declined":
            return Answer(question, lang, "not_found", personal_data_warning=warning,
                          suggestions=self.catalogue.nearest(intents, lang))
        excerpts = self._excerpts(relevant(evidence.ranking), evidence.ranking)
        if decision == "hedged":
            return Answer(question, lang, "answered", excerpts[:HEDGED_EXCERPTS], warning,
                          self.catalogue.nearest(intents, lang), confident=False,
                          missing_words=evidence.missing_words)
        entry = self._matched_entry(reading, excerpts)
        return Answer(question, lang, "answered", excerpts, warning,
                      matched_question=entry.text(lang) if entry else None,
                      matched_entry=entry.id if entry else None)

    def bank_entry(self, entry_id: str) -> BankEntry | None:
        """The bank entry of an id (a link names one); None for an id the bank lacks."""
        position = self._bank_positions.get(entry_id)
        return None if position is None else self.index.bank[position]

    def answer_entry(self, entry_id: str, lang: Lang) -> Answer | None:
        """The answer to one bank entry, for a link to it: its label in `lang`, ranked as
        surely that entry (the bank's signal all on it), its own passages first. No decision
        to make: the bank holds only questions the documents answer. None for an unknown id."""
        entry = self.bank_entry(entry_id)
        if entry is None:
            return None
        question = entry.text(lang)
        certain = np.zeros(len(self.index.bank))
        certain[self._bank_positions[entry_id]] = 1.0
        ranking = search(self.index, self.parser.parse(question), self._embedding(question),
                         limit=SEARCH_DEPTH, prior=bank_prior(self.index, certain))
        ranking = own_passages_first(ranking, entry)
        return Answer(question, lang, "answered", self._excerpts(relevant(ranking), ranking),
                      matched_question=question, matched_entry=entry.id)

    def evidence(self, question: str, query: Query) -> Evidence:
        """Everything the answer to a question is decided on: one embedding of it, read by
        the classifiers and used by the ranking."""
        vector = self._embedding(question)
        reading = self.classifiers.read(query.spelled, vector) if self.classifiers else None
        prior = bank_prior(self.index, reading.intents) if reading else None
        ranking = search(self.index, query, vector, limit=SEARCH_DEPTH, prior=prior)
        return Evidence(query, ranking, reading, self.missing_words(query))

    def _embedding(self, question: str) -> np.ndarray | None:
        """The question's embedding; None without an embedding model."""
        return (self.embedder.embed_queries([questions_first(question)])[0]
                if self.embedder else None)

    def missing_words(self, query: Query) -> tuple[str, ...]:
        """The question's words of its language that no document uses ("amende", "arrested"),
        its most common words aside ("lieu", "took")."""
        common = common_words(query.lang)
        return tuple(dict.fromkeys(
            c.words for c in query.concepts
            if c.required and c.in_dictionary and concept_weight(self.index, c) is None
            and fold(c.words) not in common))

    def _matched_entry(self, reading: Reading | None,
                       excerpts: tuple[Excerpt, ...]) -> BankEntry | None:
        """The bank entry the first excerpt answers, when the classifier finds it likely."""
        if reading is None or reading.best is None or not excerpts:
            return None
        entry = self.index.bank[reading.best]
        likely = reading.likeliest >= MIN_MATCH
        return entry if likely and excerpts[0].quote.passages & set(entry.passages) else None

    def _excerpts(self, hits: list[Hit], ranking: Ranking) -> tuple[Excerpt, ...]:
        """Quote each hit, skipping a hit whose sentence another quote already shows whole.
        A sentence that is itself a hit is joined to another as its neighbour only whole, so
        no sentence shows twice in one reply, whole or cut."""
        excerpts: list[Excerpt] = []
        shown: set[int] = set()
        hit_positions = frozenset(h.passage.position for h in hits)
        for hit in hits:
            if hit.passage.position in shown:
                continue
            quote = quote_hit(hit, self.index, ranking.scores, quoted=shown,
                              whole_only=hit_positions)
            shown |= quote.passages
            meta = self.index.documents[hit.passage.doc_id]
            source = Source(hit.passage.doc_id, meta, hit.passage.section, hit.passage.filing)
            excerpts.append(Excerpt(quote, source, hit.score, find_links(quote.text)))
            if len(excerpts) == SHOWN_EXCERPTS + MORE_EXCERPTS:
                break
        return tuple(excerpts)


@dataclass(frozen=True, slots=True)
class Evidence:
    """What a question's answer is decided on: the parsed question, the ranking, what the
    classifiers read in it (None without a bank), and its words that no document uses."""

    query: Query
    ranking: Ranking
    reading: Reading | None
    missing_words: tuple[str, ...]

    @property
    def sure(self) -> bool:
        """Whether the intent classifier finds one bank question at least SURE_INTENT likely,
        and likelier than the topic classifier finds the question off the subject: it is
        then one of the bank's, whatever its words ("what do I do now?"), but "my dog is
        lost, what should I do?" (surely off the subject, like "what should I do?") is not."""
        reading = self.reading
        return (reading is not None and reading.likeliest >= SURE_INTENT
                and reading.likeliest > 1 - reading.on_topic)


def decide(evidence: Evidence) -> Decision:
    """Declined when it is not about the breach: the topic classifier says so and it is not
    surely a bank question (without a bank: too few of its ideas are on the documents'
    subject); or when the first passage holds none of its words, unless it surely is one.
    Hedged when the intent classifier finds it most likely one the documents do not answer,
    or like no bank question at all. Else confident."""
    hits, reading = evidence.ranking.hits, evidence.reading
    if reading is None:
        off_topic = evidence.ranking.subject_share < MIN_SUBJECT_SHARE
    else:
        off_topic = reading.on_topic < MIN_ON_TOPIC and not evidence.sure
    if not hits or off_topic or not (hits[0].matched_terms or evidence.sure):
        return "declined"
    if reading is not None and (reading.unanswered >= MAX_UNANSWERED
                                or reading.likeliest < MIN_INTENT):
        return "hedged"
    return "confident"


def own_passages_first(ranking: Ranking, entry: BankEntry) -> Ranking:
    """The ranking with the hits that hold the entry's answer moved ahead of the others,
    each group in its order: the bank's signal on the entry lifts them, this makes sure."""
    own = set(entry.passages)
    hits = sorted(ranking.hits, key=lambda hit: hit.passage.position not in own)
    return replace(ranking, hits=hits)


def relevant(ranking: Ranking) -> list[Hit]:
    """The hits worth quoting, best first: those that score close to the best."""
    hits = ranking.hits
    return [h for h in hits if h.score >= MIN_RELATIVE_SCORE * hits[0].score]
