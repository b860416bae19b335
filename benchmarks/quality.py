"""Answer quality on a question set: figures, cross-validation of the tuned numbers, and the
trade-off curve of the decision to answer (docs/quality.md).

    .venv/bin/python -m benchmarks.quality [QUESTIONS.jsonl] [--plot docs/quality/tradeoff.png]

Each question is answered once per setting through the answer core. Folds are the number in the
question's id modulo 5. On four folds, the weights are chosen by the mean reciprocal rank of
the answerable questions with the decision off, then the decision's subject share by the
number of questions right with those weights (answerable ones answered with a right excerpt in
the first three, out-of-scope ones declined); the choice is scored on the fifth fold.
"""

from __future__ import annotations

import argparse
import json
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import product
from pathlib import Path

import numpy as np

import bot.answer
import bot.indexer
import bot.search
from bot.answer import AnswerBuilder
from bot.embeddings import default_embedder
from bot.indexer import build_index

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
LEXICAL_WEIGHTS = (0.3, 0.4, 0.5, 0.6, 0.7, 1.0)
COVERAGE_WEIGHTS = (0.0, 0.15, 0.3, 0.5)
SENTENCE_WEIGHTS = (1, 2, 3)
SUBJECT_SHARES = (0.0, 0.1, 0.2, 0.25, 0.3, 0.34, 0.4, 0.45, 0.5, 0.6, 0.7)
FOLDS = 5


def norm(text: str) -> str:
    """As the scorer compares: no case, accents, punctuation or spacing differences."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return " ".join(re.sub(r"[^\w]+", " ", text).split())


@dataclass(frozen=True)
class Outcome:
    """One question under one setting: the rank of the first right excerpt (None if none
    or declined), whether it was answered, and the subject share that the decision reads."""

    item: dict
    rank: int | None
    answered: bool
    subject_share: float

    @property
    def in_scope(self) -> bool:
        return self.item["kind"] != "out-of-scope"

    def right(self, threshold: float) -> bool:
        answered = self.answered and self.subject_share >= threshold
        if not self.in_scope:
            return not answered
        return answered and self.rank is not None and self.rank <= 3


@contextmanager
def setting(**values: float) -> Iterator[None]:
    """Module constants set for a while (this is a measurement script, not the bot)."""
    modules = (bot.search, bot.answer, bot.indexer)
    old = {name: getattr(m, name) for m in modules for name in values if hasattr(m, name)}
    for m in modules:
        for name, value in values.items():
            if hasattr(m, name):
                setattr(m, name, value)
    try:
        yield
    finally:
        for m in modules:
            for name, value in old.items():
                if hasattr(m, name):
                    setattr(m, name, value)


def outcomes(builder: AnswerBuilder, items: list[dict]) -> list[Outcome]:
    """Every question answered with the decision switched off, and its subject share."""
    found = []
    for item in items:
        question = item["q"].replace("\n", " ")
        answer = builder.answer(question)
        share = bot.search.subject_share(builder.index, builder.parser.parse(question))
        musts = [norm(m) for m in item["must"]]
        rank = next((k for k, e in enumerate(answer.excerpts, 1)
                     if any(m in norm(e.text) for m in musts)), None)
        found.append(Outcome(item, rank, answer.answered, share))
    return found


def figures(results: list[Outcome], threshold: float) -> dict[str, float]:
    scope = [r for r in results if r.in_scope]
    answered = [r.answered and r.subject_share >= threshold for r in scope]
    ranks = [r.rank if a else None for r, a in zip(scope, answered, strict=True)]
    n = max(1, len(scope))
    return {
        "n": len(scope),
        "hit@1": sum(r == 1 for r in ranks) / n,
        "hit@3": sum(r is not None and r <= 3 for r in ranks) / n,
        "mrr": sum(1 / r for r in ranks if r) / n,
        "answered": sum(answered) / n,
        "oos_declined": sum(r.right(threshold) for r in results if not r.in_scope),
        "oos": sum(not r.in_scope for r in results),
    }


def fold_of(result: Outcome) -> int:
    return int(re.sub(r"\D", "", result.item["id"]) or 0) % FOLDS


Weights = tuple[int, float, float]  # (SENTENCE_WEIGHT, LEXICAL_WEIGHT, COVERAGE_WEIGHT)


def choose(runs: dict[Weights, list[Outcome]],
           held_out: int | None = None) -> tuple[Weights, float]:
    """The setting chosen on the questions outside the `held_out` fold: the weights with the
    best mean reciprocal rank, decision off (ties: the smaller sentence weight, the even mix
    of the two views, the smaller coverage weight), then the subject share that gets the most
    questions right with them (ties: the stricter decision)."""
    def kept(weights: Weights) -> list[Outcome]:
        return [r for r in runs[weights] if fold_of(r) != held_out]

    def ranking(weights: Weights) -> tuple[float, ...]:
        sentence, lexical, coverage = weights
        answerable = [r for r in kept(weights) if r.in_scope]
        mrr = sum(1 / r.rank for r in answerable if r.rank) / max(1, len(answerable))
        return round(mrr, 9), -sentence, -abs(lexical - 0.5), -coverage

    weights = max(runs, key=ranking)
    share = max(SUBJECT_SHARES, key=lambda s: (sum(r.right(s) for r in kept(weights)), s))
    return weights, share


def cross_validate(runs: dict[Weights, list[Outcome]]) -> list[str]:
    """Choose the weights and the subject share on four folds, score on the fifth."""
    lines = ["| fold | chosen weights (sentence, lexical, coverage) | chosen share | hit@1 | "
             "hit@3 | mrr | out of scope declined |", "|---|---|---|---|---|---|---|"]
    pooled: list[tuple[Outcome, float]] = []
    for fold in range(FOLDS):
        weight, share = choose(runs, held_out=fold)
        held = [r for r in runs[weight] if fold_of(r) == fold]
        pooled.extend((r, share) for r in held)
        f = figures(held, share)
        lines.append(f"| {fold} | {', '.join(map(str, weight))} | {share} | {f['hit@1']:.2f} | "
                     f"{f['hit@3']:.2f} | {f['mrr']:.2f} | {f['oos_declined']}/{f['oos']} |")
    scope = [(r, s) for r, s in pooled if r.in_scope]
    ranks = [r.rank if r.answered and r.subject_share >= s else None for r, s in scope]
    declined = sum(r.subject_share < s or not r.answered for r, s in pooled if not r.in_scope)
    lines.append(f"| all folds, held out | | | {sum(x == 1 for x in ranks) / len(ranks):.3f} | "
                 f"{sum(x is not None and x <= 3 for x in ranks) / len(ranks):.3f} | "
                 f"{sum(1 / x for x in ranks if x) / len(ranks):.3f} | "
                 f"{declined}/{len(pooled) - len(scope)} |")
    return lines


def by_group(results: list[Outcome], threshold: float, key: str) -> list[str]:
    groups: dict[str, list[Outcome]] = defaultdict(list)
    for r in results:
        if r.in_scope:
            groups[r.item.get(key, "?")].append(r)
    lines = [f"| {key} | questions | hit@1 | hit@3 | declined |", "|---|---|---|---|---|"]
    for name, rs in sorted(groups.items()):
        f = figures(rs, threshold)
        lines.append(f"| {name} | {len(rs)} | {f['hit@1']:.2f} | {f['hit@3']:.2f} | "
                     f"{round((1 - f['answered']) * len(rs))} |")
    return lines


def plot_tradeoff(results: list[Outcome], chosen: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = [(figures(results, t)["answered"], figures(results, t)["oos_declined"]
               / max(1, figures(results, t)["oos"]), t) for t in SUBJECT_SHARES]
    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.plot([p[1] for p in points], [p[0] for p in points], marker="o")
    for answered, declined, t in points:
        ax.annotate(f"{t}", (declined, answered), textcoords="offset points", xytext=(4, 4),
                    fontsize=8, color="red" if t == chosen else "black")
    ax.set_xlabel("out-of-scope questions declined (share)")
    ax.set_ylabel("answerable questions answered (share)")
    ax.set_title("Decision threshold (subject share): the trade-off")
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("questions", nargs="?", default="../shared/eval/dev.jsonl")
    parser.add_argument("--plot", type=Path, default=None)
    args = parser.parse_args()
    items = [json.loads(line) for line in Path(args.questions).read_text(encoding="utf-8")
             .splitlines() if line.strip()]
    chosen = bot.answer.MIN_SUBJECT_SHARE
    runs: dict[Weights, list[Outcome]] = {}
    for sentence in SENTENCE_WEIGHTS:
        with setting(SENTENCE_WEIGHT=sentence):
            index = build_index(CORPUS)
        for lexical, coverage in product(LEXICAL_WEIGHTS, COVERAGE_WEIGHTS):
            with setting(LEXICAL_WEIGHT=lexical, COVERAGE_WEIGHT=coverage,
                         MIN_SUBJECT_SHARE=0.0):
                runs[sentence, lexical, coverage] = outcomes(AnswerBuilder(index), items)
    in_code = (bot.indexer.SENTENCE_WEIGHT, bot.search.LEXICAL_WEIGHT, bot.search.COVERAGE_WEIGHT)
    current = runs[in_code]
    fitted = choose(runs)
    print(f"chosen on the full set: weights {fitted[0]}, subject share {fitted[1]} "
          f"(the code has {in_code}, {chosen})")
    embedder = default_embedder()
    print(f"embedding model: {embedder.name if embedder else 'none (BM25 alone)'}; "
          f"{len(items)} questions\n")
    print("## Full set, the settings in the code\n")
    f = figures(current, chosen)
    print(f"hit@1 {f['hit@1']:.3f} hit@3 {f['hit@3']:.3f} mrr {f['mrr']:.3f} "
          f"declined {f['oos_declined']}/{f['oos']}\n")
    print("\n".join(by_group(current, chosen, "lang")) + "\n")
    print("\n".join(by_group(current, chosen, "kind")) + "\n")
    print("## Cross-validation (5 folds: id mod 5)\n")
    print("\n".join(cross_validate(runs)) + "\n")
    print("## Weights (decision off)\n")
    print("| sentence weight | lexical weight | coverage weight | hit@1 | hit@3 | mrr |\n"
          "|---|---|---|---|---|---|")
    for (sentence, lexical, coverage), results in runs.items():
        f = figures(results, 0.0)
        label = f"{lexical}" + (" (BM25 alone)" if lexical == 1.0 else "")
        print(f"| {sentence} | {label} | {coverage} | {f['hit@1']:.3f} | {f['hit@3']:.3f} | "
              f"{f['mrr']:.3f} |")
    print("\n## Trade-off (weights in the code)\n")
    print("| subject share ≥ | answerable answered | hit@3 | out of scope declined |\n"
          "|---|---|---|---|")
    for t in SUBJECT_SHARES:
        f = figures(current, t)
        print(f"| {t} | {f['answered']:.2f} | {f['hit@3']:.2f} | {f['oos_declined']}/{f['oos']} |")
    if args.plot:
        plot_tradeoff(current, chosen, args.plot)
    print("\nmissed (rank > 3 or declined), with the settings in the code:")
    for r in current:
        if r.in_scope and not r.right(chosen):
            print(f"- [{r.item['id']}] {r.item['q'][:90]!r} rank={r.rank}")
    if default_embedder() is None:
        print("(no embedding model: BM25 alone)")
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    raise SystemExit(main())
