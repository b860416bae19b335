"""What the bot counts for a monitoring system, in Prometheus' format (served at /metrics by
bot.telegram.health): questions by outcome, answer latency, sends by result, the inbox, the
per-sender limit, the index and its rebuilds, the store's health.

No label carries user data: labels are fixed words (an outcome, a result), never a chat, a
user or a text. Each Application has its own registry, so two bots in one process (tests)
never add to each other's counts. docs/operations.md says what each one means and which
alert to set on it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from bot.answer import REPLY_KINDS, Answer

SendResult = Literal["ok", "retried", "ambiguous", "failed"]
SEND_RESULTS: tuple[SendResult, ...] = ("ok", "retried", "ambiguous", "failed")
LIMIT_ACTIONS = ("slow_down", "ignore")
REBUILD_RESULTS = ("ok", "failed")
# An answer takes some tens of milliseconds on one core (docs/benchmarks.md); a reply waits
# for Telegram too, seconds when it is slow.
LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
REBUILD_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0)


class Metrics:
    """The bot's metrics, each label value present from the start (at 0), so that a rate or
    an alert on it has a series before the first event."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.updates = Counter("bot_updates_received", "Updates received from Telegram",
                               registry=registry)
        self.questions = Counter("bot_questions", "Questions answered, by outcome",
                                 ["outcome"], registry=registry)
        self.answer_seconds = Histogram(
            "bot_answer_seconds", "From taking a question to its reply sent",
            buckets=LATENCY_BUCKETS, registry=registry)
        self.sends = Counter("bot_sends", "Requests to Telegram other than reads, by result: "
                             "ok at once, ok after retries, ambiguous (no answer; not sent "
                             "again), failed", ["result"], registry=registry)
        self.limit_hits = Counter("bot_limit_hits", "Updates past the per-sender limit: the "
                                  "one told to slow down, the others ignored", ["action"],
                                  registry=registry)
        self.inbox_depth = Gauge("bot_inbox_depth", "Updates kept and not yet handled",
                                 registry=registry)
        self.index_documents = Gauge("bot_index_documents", "Documents in the index served",
                                     registry=registry)
        self.index_passages = Gauge("bot_index_passages", "Passages in the index served",
                                    registry=registry)
        self.index_built = Gauge("bot_index_built_timestamp_seconds",
                                 "When the index served was built (Unix time)",
                                 registry=registry)
        self.rebuilds = Counter("bot_rebuilds", "Index rebuilds asked by admins, by result",
                                ["result"], registry=registry)
        self.rebuild_seconds = Histogram("bot_rebuild_seconds", "Duration of a rebuild",
                                         buckets=REBUILD_BUCKETS, registry=registry)
        self.store_failing = Gauge("bot_store_failing", "1 while the store cannot be written",
                                   registry=registry)
        self.ready = Gauge("bot_ready", "1 while /readyz says ready", registry=registry)
        for outcome in REPLY_KINDS:
            self.questions.labels(outcome)
        for result in SEND_RESULTS:
            self.sends.labels(result)
        for action in LIMIT_ACTIONS:
            self.limit_hits.labels(action)
        for rebuild in REBUILD_RESULTS:
            self.rebuilds.labels(rebuild)

    def answered(self, answer: Answer, seconds: float) -> None:
        self.questions.labels(answer.kind).inc()
        self.answer_seconds.observe(seconds)

    def index_served(self, documents: int, passages: int, built_at: str) -> None:
        self.index_documents.set(documents)
        self.index_passages.set(passages)
        self.index_built.set(datetime.fromisoformat(built_at).timestamp())

    def exposition(self) -> bytes:
        """The text a Prometheus server scrapes."""
        return generate_latest(self.registry)
