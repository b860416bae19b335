"""Answer latency on the real corpus: what one question costs the answer core, end to end.

    .venv/bin/python -m benchmarks.answers [QUESTIONS.jsonl] [--rounds 2]

The corpus in `corpus/` is indexed with each embedding model that loads (e5, USE) and once
without embeddings, the AnswerBuilder is warmed up as the Telegram bot warms it before serving,
and each question of the file is answered `rounds` times, each answer timed alone. Printed:
p50, p90, p99 and the maximum, and the time to build the index (the model loaded first).
Then, in a fresh process with e5, memory: the RSS once the bot's answer core is warmed up as
the Telegram bot warms it, and the peak RSS after a burst of questions answered by six worker
threads at once before any other question (as python-telegram-bot's pool would).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchmarks.report import machine, percentile_ms
from bot.answer import AnswerBuilder
from bot.embeddings import MODEL_ERRORS, E5Embedder, Embedder, USEEmbedder
from bot.index_store import load_or_build_index
from bot.indexer import build_index

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
WARM_UP_QUESTIONS = 5


def timed_answers(builder: AnswerBuilder, questions: list[str], rounds: int) -> list[float]:
    """Seconds spent on each answer, every question `rounds` times, after a warm-up."""
    builder.warm_up()
    for text in questions[:WARM_UP_QUESTIONS]:
        builder.answer(text)
    spent = []
    for _ in range(rounds):
        for text in questions:
            started = time.perf_counter()
            builder.answer(text)
            spent.append(time.perf_counter() - started)
    return spent


BURST_THREADS = 6


def rss_mb() -> float:
    """This process's resident memory now, from /proc (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def burst_memory(questions: list[str]) -> None:
    """Print the RSS after warm-up and the peak RSS after a first burst (this process)."""
    builder = AnswerBuilder(load_or_build_index(CORPUS, CORPUS.parent / "index"))
    builder.warm_up()
    warm = rss_mb()
    with ThreadPoolExecutor(BURST_THREADS) as pool:
        list(pool.map(builder.answer, questions))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"memory: RSS after warm-up {warm:.0f} MB; peak after a burst of {len(questions)} "
          f"questions on {BURST_THREADS} threads {peak:.0f} MB ({peak / warm:.2f}x)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("questions", nargs="?", default="../shared/eval/dev.jsonl")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--burst-memory", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    lines = Path(args.questions).read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line)["q"] for line in lines if line.strip()]
    if args.burst_memory:
        burst_memory(questions)
        return 0
    print(machine())
    subprocess.run([sys.executable, "-m", "benchmarks.answers", args.questions,
                    "--burst-memory"], check=True)
    for model in (E5Embedder, USEEmbedder, None):
        try:
            embedder: Embedder | None = model() if model else None
        except MODEL_ERRORS as error:
            print(f"{model.name if model else ''}: unavailable ({error})")
            continue
        started = time.perf_counter()
        index = build_index(CORPUS, embedder=embedder, embeddings=embedder is not None)
        built = time.perf_counter() - started
        spent = timed_answers(AnswerBuilder(index, embedder), questions, args.rounds)
        label = embedder.name if embedder else "BM25 alone"
        print(f"{label}: {len(spent)} answers, p50 {percentile_ms(spent, 50):.1f} ms, "
              f"p90 {percentile_ms(spent, 90):.1f} ms, p99 {percentile_ms(spent, 99):.1f} ms, "
              f"max {max(spent) * 1000:.1f} ms; index built in {built:.1f} s "
              f"({len(index.passages)} passages)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
