"""Retrieval cost against corpus size: the project's search beside bm25s, on the same tokens.

    python -m benchmarks.retrieval [--sizes 1000 2000 10000 100000] [--questions 500]

For each size, a synthetic French corpus (benchmarks/synthetic.py) goes through the project's
pipeline as the indexer runs it (one sentence a passage, analysed with its neighbours and its
document's title). Then, for the project and for bm25s on the very same terms:
index build time, query latency (p50, p99; the question's analysis included) and the memory
that the index holds (traced allocations of the built index, kept alive). The project's
latency is what an answer waits for before excerpts are cut: the question parsed (language,
lexicon, typo correction) and searched (concepts, coverage, term pairs). bm25s gets the
question's terms from the same analyzer, then its plain BM25 top 10.
"""

from __future__ import annotations

import argparse
import gc
import json
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import bm25s
import numpy as np

from benchmarks import synthetic
from benchmarks.report import machine, markdown_table, percentile_ms
from bot.analysis import default_analyzer
from bot.index import SearchIndex
from bot.indexer import context_texts, surface_forms
from bot.passages import split_passages
from bot.query import QueryParser
from bot.search import search

SIZES = (1_000, 2_000, 10_000, 100_000)
QUESTIONS = 500
TOP = 10
RESULTS = Path("docs/benchmarks/retrieval.json")
PLOT = Path("docs/benchmarks/retrieval-latency.png")


@dataclass
class Measure:
    """One engine at one corpus size."""

    engine: str
    passages: int
    build_s: float
    memory_mb: float
    p50_ms: float
    p99_ms: float


def build_project(documents: list, passages: list, terms: list[list[str]]) -> SearchIndex:
    return SearchIndex(
        documents={d.doc_id: d.meta for d in documents}, passages=passages,
        passage_terms=terms, surface_forms=surface_forms(documents, default_analyzer()),
        fingerprint="synthetic", built_at="",
    )


def build_bm25s(terms: list[list[str]]) -> bm25s.BM25:
    # Lucene's IDF and rank-bm25's k1 and b, as the project's index: the same ranking model.
    retriever = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
    retriever.index(terms, show_progress=False)
    return retriever


def timed_build(build: Callable[[], object]) -> tuple[object, float, float]:
    """The built object, its build time, and the memory it holds once built (MB). The time
    comes from a first build without tracing, which would slow Python code down."""
    gc.collect()
    started = time.perf_counter()
    built = build()
    seconds = time.perf_counter() - started
    del built
    gc.collect()
    tracemalloc.start()
    built = build()
    gc.collect()
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return built, seconds, held / 1e6


def latencies(engines: list[Callable[[str], object]], questions: list[str]) -> list[np.ndarray]:
    """Seconds per question for each engine, measured question by question in turns (the
    first engine changing each time), so that a slow moment of the machine hits all alike."""
    for question in questions[:20]:  # warm caches, as a running bot's are
        for engine in engines:
            engine(question)
    spent = [[] for _ in engines]
    for n, question in enumerate(questions):
        for k in range(len(engines)):
            k = (k + n) % len(engines)
            started = time.perf_counter()
            engines[k](question)
            spent[k].append(time.perf_counter() - started)
    return [np.array(seconds) for seconds in spent]


def measure(size: int, questions: list[str]) -> list[Measure]:
    analyzer = default_analyzer()
    documents = synthetic.documents(size)
    passages: list = []
    for document in documents:
        passages.extend(split_passages(document, first_position=len(passages)))
    metas = {d.doc_id: d.meta for d in documents}
    terms = [analyzer.terms(text) for text in context_texts(passages, metas)]
    index, project_build, project_memory = timed_build(
        lambda: build_project(documents, passages, terms))
    retriever, reference_build, reference_memory = timed_build(lambda: build_bm25s(terms))
    parser = QueryParser(index.surface_forms, index.term_idf)

    def project(question: str) -> object:
        return search(index, parser.parse(question), limit=TOP)

    def reference(question: str) -> object:
        tokens = analyzer.terms(question)
        return retriever.retrieve([tokens], k=min(TOP, len(passages)), show_progress=False)

    project_times, reference_times = latencies([project, reference], questions)
    return [
        Measure("project", len(passages), project_build, project_memory,
                percentile_ms(project_times, 50), percentile_ms(project_times, 99)),
        Measure("bm25s", len(passages), reference_build, reference_memory,
                percentile_ms(reference_times, 50), percentile_ms(reference_times, 99)),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--questions", type=int, default=QUESTIONS)
    parser.add_argument("--save", action="store_true",
                        help=f"write the figures to {RESULTS} and the plot to {PLOT}")
    parser.add_argument("--replot", action="store_true",
                        help=f"only draw {PLOT} again from the figures saved in {RESULTS}")
    args = parser.parse_args()
    if args.replot:
        saved = json.loads(RESULTS.read_text())["results"]
        plot([Measure(**m) for m in saved], PLOT)
        return
    questions = synthetic.questions(args.questions)
    print(f"{'engine':8} {'passages':>9} {'build s':>8} {'memory MB':>10} "
          f"{'p50 ms':>7} {'p99 ms':>7}")
    results = []
    for size in args.sizes:
        for m in measure(size, questions):
            results.append(m)
            print(f"{m.engine:8} {m.passages:9d} {m.build_s:8.2f} {m.memory_mb:10.1f} "
                  f"{m.p50_ms:7.3f} {m.p99_ms:7.3f}", flush=True)
    if args.save:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(
            {"machine": machine(), "questions": args.questions,
             "results": [asdict(m) for m in results]}, indent=1) + "\n")
        plot(results, PLOT)
        print(markdown_table(
            ["engine", "passages", "build s", "memory MB", "p50 ms", "p99 ms"],
            [[m.engine, m.passages, m.build_s, m.memory_mb, m.p50_ms, m.p99_ms]
             for m in results]))


def plot(results: list[Measure], path: Path) -> None:
    """Query latency against corpus size, p50 and p99, both engines, log-log."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot, ticker

    figure, axes = pyplot.subplots(figsize=(7, 4.5), dpi=110)
    for engine, colour in (("project", "tab:blue"), ("bm25s", "tab:orange")):
        own = [m for m in results if m.engine == engine]
        sizes = [m.passages for m in own]
        axes.plot(sizes, [m.p50_ms for m in own], "o-", color=colour, label=f"{engine} p50")
        axes.plot(sizes, [m.p99_ms for m in own], "s--", color=colour, label=f"{engine} p99")
    axes.axhline(5, color="grey", linewidth=0.8, linestyle=":")
    axes.text(min(m.passages for m in results), 5.3, "5 ms", color="grey", fontsize=8)
    axes.set(xscale="log", yscale="log", xlabel="passages in the corpus",
             ylabel="query latency (ms, analysis included)",
             title="Query latency against corpus size (synthetic French, top 10)")
    axes.yaxis.set_major_formatter(ticker.FormatStrFormatter("%g"))
    axes.yaxis.set_minor_formatter(ticker.FormatStrFormatter("%g"))
    axes.tick_params(axis="y", which="minor", labelsize=7)
    axes.grid(True, which="both", linewidth=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path)


if __name__ == "__main__":
    main()
