"""Shared fixtures: the real corpus, copied where a test may change it, and its index."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from bot.answer import AnswerBuilder
from bot.index import SearchIndex
from bot.indexer import build_index
from bot_testing import BotAPIStub
from bot_testing.postgres import PostgresServer

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpus"
# Shaped like a real token, so that the log filter's token pattern is put to the test.
BOT_TOKEN = "123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


@pytest.fixture(scope="session")
def index() -> SearchIndex:
    return build_index(CORPUS)


@pytest.fixture(scope="session")
def builder(index: SearchIndex) -> AnswerBuilder:
    return AnswerBuilder(index)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the whole run, started by the first test that needs one."""
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """A new, empty database of the tests' server."""
    return postgres_server.new_database()


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    """A writable copy of the corpus."""
    target = tmp_path / "corpus"
    shutil.copytree(CORPUS, target)
    return target


@pytest.fixture(autouse=True)
def ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    """Opt in to PTB's timedelta periods, which silences its v22.2 deprecation warnings."""
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest_asyncio.fixture
async def stub() -> AsyncIterator[BotAPIStub]:
    """The local Bot API stand-in, on 127.0.0.1."""
    async with BotAPIStub(BOT_TOKEN) as running_stub:
        yield running_stub
