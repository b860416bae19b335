"""Answer quality on a question set: the figures per outcome, kind and language, the
cross-validation of every tuned number, and the trade-off of the decision (docs/quality.md).

    .venv/bin/python -m benchmarks.quality [QUESTIONS.jsonl] [--plot docs/quality/tradeoff.png]

Each question is answered through the answer core once per setting of the ranking weights,
with the decision off (every question answered); the decision's signals (the topic and intent
classifiers, the subject share) do not depend on the weights, so each threshold is then
applied to the same evidence. Folds are the number in the question's id modulo 5. On four
folds the weights are chosen by the mean reciprocal rank of the answerable questions, then the
thresholds by the questions handled right (see `handled_right`); the choice is scored on the
fifth fold. No question is ever training data: the classifiers learn from the question bank
and the training files of bot/data only.
"""

from __future__ import annotations

import argparse
import json
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import product
from pathlib import Path

import numpy as np

import bot.answer
import bot.search
from bot.answer import AnswerBuilder, Evidence, decide
from bot.embeddings import default_embedder
from bot.index_store import load_or_build_index

ROOT = Path(__file__).resolve().parent.parent
LEXICAL_WEIGHTS = (0.3, 0.4, 0.5, 0.6)
COVERAGE_WEIGHTS = (0.15, 0.3, 0.5)
BANK_WEIGHTS = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0)
ON_TOPIC = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
UNANSWERED = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.01)
SURE_INTENTS = (0.4, 0.5, 0.6, 0.7, 0.8, 1.01)
MIN_INTENTS = (0.0, 0.02, 0.05, 0.1)
FOLDS = 5

Weights = tuple[float, float, float]  # (LEXICAL_WEIGHT, COVERAGE_WEIGHT, BANK_WEIGHT)
# (MIN_ON_TOPIC, MAX_UNANSWERED, SURE_INTENT, MIN_INTENT)
Thresholds = tuple[float, float, float, float]
DECISION_OFF: Thresholds = (0.0, 1.01, 1.01, 0.0)


def norm(text: str) -> str:
    """As the scorer compares: no case, accents, punctuation or spacing differences."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return " ".join(re.sub(r"[^\w]+", " ", text).split())


@contextmanager
def setting(**values: float) -> Iterator[None]:
    """Module constants set for a while (this is a measurement script, not the bot)."""
    modules = (bot.search, bot.answer)
    old = {(m, name): getattr(m, name) for m in modules for name in values if hasattr(m, name)}
    for (m, name) in old:
        setattr(m, name, values[name])
    try:
        yield
    finally:
        for (m, name), value in old.items():
            setattr(m, name, value)


class RememberingEmbedder:
    """The bot's embedder, with each question embedded once for all the settings."""

    def __init__(self, inner: bot.answer.Embedder) -> None:
        self.inner, self.name = inner, inner.name
        self._known: dict[str, np.ndarray] = {}

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        missing = [t for t in texts if t not in self._known]
        if missing:
            self._known.update(zip(missing, self.inner.embed_queries(missing), strict=True))
        return np.stack([self._known[t] for t in texts])

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.embed_passages(texts)

    def embed_examples(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.embed_examples(texts)


@dataclass(frozen=True)
class Outcome:
    """One question under one setting of the weights: the rank of the first right excerpt
    (None if none), whether the first excerpt is a filing line, and the evidence."""

    item: dict
    rank: int | None
    # Whether the first excerpt is a filing line while the question is not about the filing
    # (none of its right answers is a filing line).
    filing_first: bool
    evidence: Evidence | None  # None: not a question at all (the decision does not apply)

    @property
    def in_scope(self) -> bool:
        return self.item["kind"] != "out-of-scope"

    def decision(self, thresholds: Thresholds) -> str:
        if self.evidence is None:
            return "declined"
        on_topic, unanswered, sure, least = thresholds
        with setting(MIN_ON_TOPIC=on_topic, MAX_UNANSWERED=unanswered, SURE_INTENT=sure,
                     MIN_INTENT=least):
            return decide(self.evidence)

    def handled_right(self, thresholds: Thresholds) -> bool:
        """Answerable: answered with confidence; off topic: declined; on topic but not in the
        documents: declined or hedged."""
        decision = self.decision(thresholds)
        if self.in_scope:
            return decision == "confident"
        if self.item.get("topic") == "off":
            return decision == "declined"
        return decision != "confident"


def outcomes(builder: AnswerBuilder, items: list[dict]) -> list[Outcome]:
    """Every question answered with the decision off, and its evidence."""
    found = []
    with setting(MIN_ON_TOPIC=0.0, MAX_UNANSWERED=1.01):
        for item in items:
            question = item["q"].replace("\n", " ")
            answer = builder.answer(question)
            query = builder.parser.parse(question)
            evidence = builder.evidence(question, query) if query.concepts else None
            musts = [norm(m) for m in item["must"]]
            rank = next((k for k, e in enumerate(answer.excerpts, 1)
                         if any(m in norm(e.text) for m in musts)), None)
            first = answer.excerpts[0].source.filing if answer.excerpts else False
            about_filing = any(m in norm(p.text) for p in builder.index.passages if p.filing
                               for m in musts)
            found.append(Outcome(item, rank, first and not about_filing, evidence))
    return found


def figures(results: list[Outcome], thresholds: Thresholds) -> dict[str, float]:
    """Ranks count whatever the decision (the scorer's hit@k: a hedged answer shows its
    excerpts too); a declined question has no rank."""
    scope = [r for r in results if r.in_scope]
    decisions = [r.decision(thresholds) for r in scope]
    ranks = [r.rank if d != "declined" else None for r, d in zip(scope, decisions, strict=True)]
    n = max(1, len(scope))
    off = [r for r in results if r.item.get("topic") == "off"]
    on = [r for r in results if r.item.get("topic") == "on"]
    return {
        "n": len(scope),
        "hit@1": sum(r == 1 for r in ranks) / n,
        "hit@3": sum(r is not None and r <= 3 for r in ranks) / n,
        "mrr": sum(1 / r for r in ranks if r) / n,
        "hedged": sum(d == "hedged" for d in decisions),
        "declined": sum(d == "declined" for d in decisions),
        "off_right": sum(r.handled_right(thresholds) for r in off), "off": len(off),
        "on_right": sum(r.handled_right(thresholds) for r in on), "on": len(on),
        "filing_first": sum(r.filing_first for r in scope),
    }


def fold_of(result: Outcome) -> int:
    return int(re.sub(r"\D", "", result.item["id"]) or 0) % FOLDS


def choose(runs: dict[Weights, list[Outcome]],
           held_out: int | None = None) -> tuple[Weights, Thresholds]:
    """The setting chosen on the questions outside the `held_out` fold: the weights with the
    best mean reciprocal rank, decision off (ties: the smaller weights), then the thresholds
    that handle the most questions right, answerable and out-of-scope ones weighing alike in
    total (ties: the laxer topic threshold, the more hedging, the surer intent)."""
    def kept(weights: Weights) -> list[Outcome]:
        return [r for r in runs[weights] if fold_of(r) != held_out]

    def mrr(weights: Weights) -> tuple[float, ...]:
        answerable = [r for r in kept(weights) if r.in_scope]
        return round(sum(1 / r.rank for r in answerable if r.rank) / len(answerable), 9), \
            *(-w for w in weights)

    weights = max(runs, key=mrr)
    results = kept(weights)
    scope = [r for r in results if r.in_scope]
    outside = [r for r in results if not r.in_scope]

    def score(thresholds: Thresholds) -> tuple[float, ...]:
        right_in = sum(r.handled_right(thresholds) for r in scope) / max(1, len(scope))
        right_out = sum(r.handled_right(thresholds) for r in outside) / max(1, len(outside))
        return (round(right_in + right_out, 9), -thresholds[0], -thresholds[1], -thresholds[2],
                thresholds[3])

    return weights, max(product(ON_TOPIC, UNANSWERED, SURE_INTENTS, MIN_INTENTS), key=score)


def cross_validate(runs: dict[Weights, list[Outcome]]) -> list[str]:
    lines = ["| fold | weights (lexical, coverage, bank) | thresholds (topic, unanswered, "
             "sure intent, least intent) | "
             "hit@1 | hit@3 | mrr | answerable hedged or declined | off topic declined | "
             "on topic hedged or declined |", "|---|---|---|---|---|---|---|---|---|"]
    pooled: dict[str, float] = defaultdict(float)
    for fold in range(FOLDS):
        weights, thresholds = choose(runs, held_out=fold)
        held = [r for r in runs[weights] if fold_of(r) == fold]
        f = figures(held, thresholds)
        for key in ("hedged", "declined", "off_right", "off", "on_right", "on", "n"):
            pooled[key] += f[key]
        for key in ("hit@1", "hit@3", "mrr"):
            pooled[key] += f[key] * f["n"]
        lines.append(f"| {fold} | {', '.join(map(str, weights))} | "
                     f"{', '.join(map(str, thresholds))} | {f['hit@1']:.2f} | {f['hit@3']:.2f} | "
                     f"{f['mrr']:.2f} | {f['hedged'] + f['declined']}/{f['n']} | "
                     f"{f['off_right']}/{f['off']} | {f['on_right']}/{f['on']} |")
    n = pooled["n"]
    lines.append(f"| all folds, held out | | | {pooled['hit@1'] / n:.3f} | "
                 f"{pooled['hit@3'] / n:.3f} | {pooled['mrr'] / n:.3f} | "
                 f"{pooled['hedged'] + pooled['declined']:.0f}/{n:.0f} | "
                 f"{pooled['off_right']:.0f}/{pooled['off']:.0f} | "
                 f"{pooled['on_right']:.0f}/{pooled['on']:.0f} |")
    return lines


def by_group(results: list[Outcome], thresholds: Thresholds, key: str) -> list[str]:
    groups: dict[str, list[Outcome]] = defaultdict(list)
    for r in results:
        if r.in_scope:
            groups[r.item.get(key, "?")].append(r)
    lines = [f"| {key} | questions | hit@1 | hit@3 | hedged | declined |",
             "|---|---|---|---|---|---|"]
    for name, rs in sorted(groups.items()):
        f = figures(rs, thresholds)
        lines.append(f"| {name} | {len(rs)} | {f['hit@1']:.2f} | {f['hit@3']:.2f} | "
                     f"{f['hedged']} | {f['declined']} |")
    return lines


def by_outcome(results: list[Outcome], thresholds: Thresholds) -> list[str]:
    """How each kind of question was handled: confident, hedged, declined."""
    groups: dict[str, list[str]] = defaultdict(list)
    for r in results:
        kind = ("answerable" if r.in_scope
                else f"out of scope, {'off' if r.item.get('topic') == 'off' else 'on'} topic")
        groups[f"{kind} ({r.item['lang']})"].append(r.decision(thresholds))
    lines = ["| questions | confident | hedged | declined |", "|---|---|---|---|"]
    for name, decisions in sorted(groups.items()):
        lines.append(f"| {name} | {decisions.count('confident')} | {decisions.count('hedged')} | "
                     f"{decisions.count('declined')} |")
    return lines


def plot_tradeoff(results: list[Outcome], chosen: Thresholds, path: Path) -> None:
    """Two panels: the share of answerable questions answered with confidence and of
    out-of-scope ones handled right, against the topic threshold, then the hedge threshold,
    the other thresholds as chosen; the chosen values marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scope = [r for r in results if r.in_scope]
    outside = [r for r in results if not r.in_scope]

    def shares(thresholds: Thresholds) -> tuple[float, float]:
        return (sum(r.handled_right(thresholds) for r in scope) / len(scope),
                sum(r.handled_right(thresholds) for r in outside) / len(outside))

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), sharey=True)
    panels = ((axes[0], ON_TOPIC, 0, "topic classifier threshold (decline below)"),
              (axes[1], UNANSWERED[:-1], 1, "unanswered-class threshold (hedge at or above)"))
    for ax, values, place, label in panels:
        points = [shares((*chosen[:place], v, *chosen[place + 1:])) for v in values]
        ax.plot(values, [p[0] for p in points], marker="o", label="answerable: confident")
        ax.plot(values, [p[1] for p in points], marker="s",
                label="out of scope: declined or hedged")
        ax.axvline(chosen[place], color="red", linestyle="--", linewidth=1,
                   label=f"chosen: {chosen[place]}")
        ax.set_xlabel(label)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8, loc="lower left")
    axes[0].set_ylabel("share of the questions handled right")
    fig.suptitle("The decision on the dev questions (the other thresholds as chosen)",
                 fontsize=11)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("questions", nargs="?", default=str(ROOT.parent / "shared" / "eval" /
                                                             "dev.jsonl"))
    parser.add_argument("--plot", type=Path, default=None)
    args = parser.parse_args()
    items = [json.loads(line) for line in Path(args.questions).read_text(encoding="utf-8")
             .splitlines() if line.strip()]
    inner = default_embedder()
    index = load_or_build_index(ROOT / "corpus", ROOT / "index")
    builder = AnswerBuilder(index, RememberingEmbedder(inner) if inner else None)
    runs: dict[Weights, list[Outcome]] = {}
    for lexical, coverage, bank in product(LEXICAL_WEIGHTS, COVERAGE_WEIGHTS, BANK_WEIGHTS):
        with setting(LEXICAL_WEIGHT=lexical, COVERAGE_WEIGHT=coverage, BANK_WEIGHT=bank):
            runs[lexical, coverage, bank] = outcomes(builder, items)
    in_code = (bot.search.LEXICAL_WEIGHT, bot.search.COVERAGE_WEIGHT, bot.search.BANK_WEIGHT)
    chosen = (bot.answer.MIN_ON_TOPIC, bot.answer.MAX_UNANSWERED, bot.answer.SURE_INTENT,
              bot.answer.MIN_INTENT)
    current = runs[in_code]
    print(f"chosen on the full set: {choose(runs)} (the code has {in_code}, {chosen})")
    print(f"embedding model: {inner.name if inner else 'none (BM25 alone)'}; "
          f"{len(items)} questions\n")
    print("## Full set, the settings in the code\n")
    f = figures(current, chosen)
    print(f"hit@1 {f['hit@1']:.3f} hit@3 {f['hit@3']:.3f} mrr {f['mrr']:.3f}; answerable "
          f"hedged {f['hedged']}, declined {f['declined']} of {f['n']}; off topic declined "
          f"{f['off_right']}/{f['off']}; on topic hedged or declined {f['on_right']}/{f['on']}; "
          f"first quote a filing line for a question not about the filing: "
          f"{f['filing_first']}\n")
    print("\n".join(by_outcome(current, chosen)) + "\n")
    print("\n".join(by_group(current, chosen, "lang")) + "\n")
    print("\n".join(by_group(current, chosen, "kind")) + "\n")
    print("## Cross-validation (5 folds: id mod 5)\n")
    print("\n".join(cross_validate(runs)) + "\n")
    print("## Weights (decision off)\n")
    print("| lexical | coverage | bank | hit@1 | hit@3 | mrr |\n|---|---|---|---|---|---|")
    for (lexical, coverage, bank), results in runs.items():
        f = figures(results, DECISION_OFF)
        print(f"| {lexical} | {coverage} | {bank} | {f['hit@1']:.3f} | {f['hit@3']:.3f} | "
              f"{f['mrr']:.3f} |")
    print("\n## The decision (weights in the code)\n")
    print("| topic ≥ | unanswered < | sure intent ≥ | least intent ≥ | answerable confident | "
          "off topic declined | on topic hedged or declined |\n|---|---|---|---|---|---|---|")
    for thresholds in product(ON_TOPIC, UNANSWERED, SURE_INTENTS, MIN_INTENTS):
        if thresholds[2:] != chosen[2:]:  # the table shows the two main thresholds
            continue
        f = figures(current, thresholds)
        print(f"| {thresholds[0]} | {thresholds[1]} | {thresholds[2]} | {thresholds[3]} | "
              f"{f['n'] - f['hedged'] - f['declined']}/{f['n']} | {f['off_right']}/{f['off']} | "
              f"{f['on_right']}/{f['on']} |")
    if args.plot:
        plot_tradeoff(current, chosen, args.plot)
    print("\nmissed (no right excerpt in the first three, or not answered with confidence), "
          "with the settings in the code:")
    for r in current:
        if r.in_scope and not (r.rank and r.rank <= 3 and r.handled_right(chosen)):
            print(f"- [{r.item['id']}] {r.item['q'][:90]!r} rank={r.rank} "
                  f"{r.decision(chosen)}")
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    raise SystemExit(main())
