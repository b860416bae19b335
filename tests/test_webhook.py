"""The webhook (bot/telegram/webhook.py), end to end: the real application behind its own
server on 127.0.0.1, the stand-in posting updates to it as Telegram does, and raw
connections doing what hostile clients do."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from telegram.ext import Application
from tornado.netutil import bind_sockets

from bot.config import Settings
from bot.telegram import build_application
from bot.telegram import webhook as webhook_module
from bot.telegram.webhook import SECRET_HEADER, serving_webhook
from bot_testing import BotAPIStub, Sender
from tests.conftest import BOT_TOKEN

pytestmark = pytest.mark.asyncio

SECRET = "webhook-secret-0123456789"
PATH = "/telegram/hook"
SSN = "1 85 05 78 006 084 36"


@contextlib.asynccontextmanager
async def webhook_bot(stub: BotAPIStub, corpus_dir: Path, tmp_path: Path
                      ) -> AsyncIterator[tuple[Application, int]]:
    """The bot serving its webhook on a free port of 127.0.0.1, set with the stand-in."""
    sockets = bind_sockets(0, "127.0.0.1")
    port = sockets[0].getsockname()[1]
    settings = Settings(
        telegram_bot_token=BOT_TOKEN, telegram_api_url=stub.base_url, corpus_dir=corpus_dir,
        index_dir=tmp_path / "index", database_path=tmp_path / "data" / "bot.sqlite3",
        webhook_url=f"http://127.0.0.1:{port}{PATH}")
    app = build_application(settings)
    async with serving_webhook(app, settings, SECRET, sockets):
        yield app, port


async def answered(stub: BotAPIStub, user_id: int, count: int = 1) -> list[str]:
    calls = await stub.wait_for("sendMessage", count, timeout=10,
                                predicate=lambda call: call.params.get("chat_id") == user_id)
    return [call.params["text"] for call in calls]


async def raw_post(port: int, headers: dict[str, str], body: bytes = b"",
                   ) -> tuple[bytes, asyncio.StreamReader, asyncio.StreamWriter]:
    """Send a post's headers (and `body`, which may be less than announced); return the
    status line the server answers with, within 2 s."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    lines = [f"POST {PATH} HTTP/1.1", "Host: 127.0.0.1",
             *(f"{name}: {value}" for name, value in headers.items())]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    await writer.drain()
    status = await asyncio.wait_for(reader.readline(), 2)
    return status, reader, writer


async def closed_by_server(reader: asyncio.StreamReader, within: float = 2.0) -> bool:
    """Whether the server closes the connection within `within` seconds."""
    try:
        async with asyncio.timeout(within):
            while await reader.read(65536):
                pass
    except (TimeoutError, ConnectionResetError):
        return False
    return True


async def test_updates_posted_by_telegram_with_the_secret_are_answered(
    stub: BotAPIStub, corpus_dir: Path, tmp_path: Path
) -> None:
    async with webhook_bot(stub, corpus_dir, tmp_path) as (_, port):
        assert (stub.webhook_url, stub.webhook_secret) == (f"http://127.0.0.1:{port}{PATH}",
                                                          SECRET)
        stub.push_text("comment porter plainte ?", sender=Sender(501))
        [reply] = await answered(stub, 501)
        assert "formulaire en ligne" in reply
    assert {status for _, status in stub.deliveries} == {200}


async def test_a_post_without_the_secret_is_refused_before_its_body_is_read(
    stub: BotAPIStub, corpus_dir: Path, tmp_path: Path
) -> None:
    """python-telegram-bot's server read 99 MB bodies whole before looking at the secret:
    16 such posts took the process to 1.94 GB."""
    async with webhook_bot(stub, corpus_dir, tmp_path) as (_, port):
        for secret in (None, "wrong"):
            headers = {"Content-Length": "99000000", "Content-Type": "application/json"}
            if secret:
                headers[SECRET_HEADER] = secret
            status, reader, writer = await raw_post(port, headers, b"{" * 1000)
            assert status.startswith(b"HTTP/1.1 403"), status
            assert await closed_by_server(reader)
            writer.close()
        status, reader, writer = await raw_post(
            port, {"Content-Length": "2000000", SECRET_HEADER: SECRET})
        assert status.startswith(b"HTTP/1.1 413"), status
        assert await closed_by_server(reader)
        writer.close()
        stub.push_text("comment porter plainte ?", sender=Sender(502))
        assert len(await answered(stub, 502)) == 1  # and the bot answers as before


async def test_an_update_the_library_cannot_read_is_confirmed_and_only_its_id_logged(
    stub: BotAPIStub, corpus_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """python-telegram-bot's server answered it 400 (Telegram sends it again and again) and
    logged it whole at CRITICAL, a social security number with it."""
    caplog.set_level(logging.INFO)
    async with webhook_bot(stub, corpus_dir, tmp_path) as (_, port):
        body = json.dumps({"update_id": 77, "message": {"text": SSN}}).encode()
        status, _, writer = await raw_post(
            port, {"Content-Length": str(len(body)), SECRET_HEADER: SECRET}, body)
        writer.close()
        assert status.startswith(b"HTTP/1.1 200"), status
        stub.push_text("comment porter plainte ?", sender=Sender(503))
        assert len(await answered(stub, 503)) == 1
    assert "update 77 cannot be read by python-telegram-bot: skipped" in caplog.text
    assert SSN not in caplog.text and "85 05" not in caplog.text


async def test_idle_connections_past_the_limit_never_keep_telegram_out(
    stub: BotAPIStub, corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture
) -> None:
    """1,100 slow connections ran python-telegram-bot's server out of file descriptors:
    asyncio logged 236,291 lines in 15 s and a valid post timed out."""
    monkeypatch.setattr(webhook_module, "MAX_CONNECTIONS", 5)
    async with webhook_bot(stub, corpus_dir, tmp_path) as (_, port):
        idle = [await asyncio.open_connection("127.0.0.1", port) for _ in range(12)]
        await asyncio.sleep(0.2)
        stub.push_text("comment porter plainte ?", sender=Sender(504))
        assert len(await answered(stub, 504)) == 1
        closed = [await closed_by_server(reader, 0.2) for reader, _ in idle]
        assert sum(closed) >= 12 - 5 + 1  # the oldest ones, and one more for Telegram's post
        for _, writer in idle:
            writer.close()
    lines = [r.getMessage() for r in caplog.records if "at their limit" in r.getMessage()]
    assert lines == ["webhook connections at their limit (5): the oldest closed"]


async def test_a_connection_that_never_finishes_its_headers_is_closed(
    stub: BotAPIStub, corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webhook_module, "HEADER_TIMEOUT_SECONDS", 0.3)
    async with webhook_bot(stub, corpus_dir, tmp_path) as (_, port):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode())
        assert await closed_by_server(reader, 2.0)
        writer.close()
