"""Shared fixtures: the real corpus, copied where a test may change it, and its index."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.answer import AnswerBuilder
from bot.index import SearchIndex, build_index

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpus"


@pytest.fixture(scope="session")
def index() -> SearchIndex:
    return build_index(CORPUS)


@pytest.fixture(scope="session")
def builder(index: SearchIndex) -> AnswerBuilder:
    return AnswerBuilder(index)


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    """A writable copy of the corpus."""
    target = tmp_path / "corpus"
    shutil.copytree(CORPUS, target)
    return target
