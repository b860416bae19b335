"""Health and metrics (bot/telegram/health.py, bot/telegram/metrics.py), end to end: the
real application polling the stand-in with HEALTH_PORT set, or serving its webhook, read over
HTTP as a supervisor, a load balancer and Prometheus read it."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sqlite3
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot import store as store_module
from bot.answer import REPLY_KINDS
from bot.config import Settings
from bot.telegram import health as health_module
from bot.telegram.health import ListenError
from bot_testing import BotAPIStub, Sender
from tests.test_telegram_e2e import make_settings, running_bot, settle, to_chat
from tests.test_webhook import webhook_bot

pytestmark = pytest.mark.asyncio

QUESTIONS = ["comment porter plainte ?", "quelles données ont été volées ?",
             "combien de degrés pour la tarte tatin ?", "merci", "???",
             "How do I file a complaint?"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def with_health_port(settings: Settings) -> Settings:
    return settings.model_copy(update={"health_port": free_port()})


def fast_checks(monkeypatch: pytest.MonkeyPatch, contact_seconds: float = 1.5) -> None:
    """Checks every 0.1 s, and Telegram's silence red after `contact_seconds`, so that a test
    sees in seconds what takes 30 s in service."""
    monkeypatch.setattr(health_module, "CHECK_SECONDS", 0.1)
    monkeypatch.setattr(health_module, "CONTACT_SECONDS", contact_seconds)


async def get(port: int, path: str) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.get(f"http://127.0.0.1:{port}{path}", timeout=5)


async def readiness_becomes(port: int, ready: bool, within: float) -> tuple[dict, float]:
    """Poll /readyz until it says `ready`; its checks and how long that took."""
    started = time.monotonic()
    while True:
        answer = await get(port, "/readyz")
        if (answer.status_code == 200) == ready:
            assert answer.json()["ready"] is ready
            return answer.json()["checks"], time.monotonic() - started
        assert time.monotonic() - started < within, answer.json()
        await asyncio.sleep(0.1)


def samples(exposition: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Each sample of a Prometheus exposition, by name and labels."""
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(exposition)
            for sample in family.samples}


async def test_a_healthy_bot_is_alive_and_ready_with_every_check_named(
    stub: BotAPIStub, corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast_checks(monkeypatch)
    settings = with_health_port(make_settings(stub, corpus_dir, tmp_path))
    async with running_bot(settings):
        alive = await get(settings.health_port, "/healthz")
        checks, _ = await readiness_becomes(settings.health_port, True, within=5)
    assert (alive.status_code, alive.text) == (200, "ok\n")
    assert checks == {"index": "ok", "store": "ok", "telegram": "ok", "inbox": "ok"}


async def test_a_stalled_poller_turns_readyz_red_and_green_again_when_polls_come_back(
    stub: BotAPIStub, corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast_checks(monkeypatch, contact_seconds=1.5)
    settings = with_health_port(make_settings(stub, corpus_dir, tmp_path))
    async with running_bot(settings):
        await readiness_becomes(settings.health_port, True, within=5)
        stub.delay_next("getUpdates", 4.0)  # the next poll hangs 4 s: a poller stuck
        checks, waited = await readiness_becomes(settings.health_port, False, within=4)
        assert checks["telegram"].startswith("no word from Telegram for")
        assert checks["store"] == checks["index"] == "ok"
        alive = await get(settings.health_port, "/healthz")
        await readiness_becomes(settings.health_port, True, within=6)
    assert waited < 1.5 + 1.0 + 1.0  # silence allowed + one long poll (1 s) + a margin
    assert alive.status_code == 200  # the process lives: a supervisor need not kill it


async def test_a_store_that_cannot_be_written_turns_readyz_red_without_any_update(
    stub: BotAPIStub, corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast_checks(monkeypatch, contact_seconds=30)
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_SECONDS", 0.1)
    settings = with_health_port(make_settings(stub, corpus_dir, tmp_path))
    async with running_bot(settings):
        await readiness_becomes(settings.health_port, True, within=5)
        other = sqlite3.connect(settings.database_path)  # another program takes the lock
        other.execute("BEGIN IMMEDIATE")
        checks, _ = await readiness_becomes(settings.health_port, False, within=3)
        failing = samples((await get(settings.health_port, "/metrics")).text)
        other.rollback()
        other.close()
        await readiness_becomes(settings.health_port, True, within=3)
    assert checks["store"].startswith("cannot be written for")
    assert "locked" in checks["store"]
    assert failing[("bot_store_failing", ())] == 1.0
    assert failing[("bot_ready", ())] == 0.0


async def test_metrics_count_what_a_burst_brought_and_name_no_user(
    stub: BotAPIStub, corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast_checks(monkeypatch)
    settings = with_health_port(make_settings(stub, corpus_dir, tmp_path))
    flooder = Sender(7007)
    async with running_bot(settings) as app:
        stub.fail_next("sendMessage", 502)  # one send retried
        for number, text in enumerate(QUESTIONS):
            stub.push_text(text, sender=Sender(3000 + number))
        for _ in range(settings.messages_per_minute + 2):  # one slow-down, one ignored
            stub.push_text("/privacy", sender=flooder)
        for number in range(len(QUESTIONS)):
            await settle(stub, 3000 + number)
        await stub.wait_for("sendMessage", settings.messages_per_minute + 1,
                            predicate=to_chat(flooder.user_id))
        await asyncio.sleep(0.3)  # a check counts the inbox
        exposition = (await get(settings.health_port, "/metrics")).text
        expected = Counter(app.bot_data.answers.answer(text).kind
                           for text in QUESTIONS)
        index = app.bot_data.answers.index
    values = samples(exposition)
    assert {outcome: values[("bot_questions_total", (("outcome", outcome),))]
            for outcome in REPLY_KINDS} == {o: expected[o] for o in REPLY_KINDS}
    assert expected["confident"] and expected["declined"]  # the burst tried several outcomes
    assert values[("bot_answer_seconds_count", ())] == len(QUESTIONS)
    barriers = len(QUESTIONS)  # settle asks /privacy once in each chat
    assert values[("bot_updates_received_total", ())] == (
        len(QUESTIONS) + settings.messages_per_minute + 2 + barriers)
    assert values[("bot_limit_hits_total", (("action", "slow_down"),))] == 1
    assert values[("bot_limit_hits_total", (("action", "ignore"),))] == 1
    writes = [call for call in stub.calls if call.ok and not call.method.startswith("get")]
    sends = {result: values[("bot_sends_total", (("result", result),))]
             for result in ("ok", "retried", "ambiguous", "failed")}
    assert sends == {"ok": len(writes) - 1, "retried": 1, "ambiguous": 0, "failed": 0}
    assert values[("bot_inbox_depth", ())] == 0
    assert values[("bot_index_documents", ())] == len(index.documents)
    assert values[("bot_index_passages", ())] == len(index.passages)
    assert values[("bot_index_built_timestamp_seconds", ())] == (
        datetime.fromisoformat(index.built_at).timestamp())
    for private in [*QUESTIONS, str(flooder.user_id), "3000", "/privacy"]:
        assert private not in exposition


async def test_a_rebuild_is_counted_with_its_duration(
    stub: BotAPIStub, corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast_checks(monkeypatch)
    settings = with_health_port(make_settings(stub, corpus_dir, tmp_path))
    admin = Sender(next(iter(settings.admin_user_ids)))
    async with running_bot(settings):
        stub.push_text("/reindex", sender=admin)
        await stub.wait_for("sendMessage", 1, timeout=60, predicate=lambda call: (
            to_chat(admin.user_id)(call) and "passages" in call.params["text"]))
        values = samples((await get(settings.health_port, "/metrics")).text)
    assert values[("bot_rebuilds_total", (("result", "ok"),))] == 1
    assert values[("bot_rebuilds_total", (("result", "failed"),))] == 0
    assert values[("bot_rebuild_seconds_count", ())] == 1


async def test_the_webhook_port_serves_health_and_hears_telegram_through_webhook_info(
    stub: BotAPIStub, corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast_checks(monkeypatch, contact_seconds=1.5)
    async with webhook_bot(stub, corpus_dir, tmp_path) as (_app, port):
        # No update comes, but Telegram says none waits: ready past the silence allowed.
        await asyncio.sleep(2.0)
        checks, _ = await readiness_becomes(port, True, within=2)
        alive = await get(port, "/healthz")
        scraped = await get(port, "/metrics")
    assert checks["telegram"] == "ok"
    assert stub.calls_of("getWebhookInfo", ok=True)
    assert alive.status_code == 200
    assert "bot_questions_total" in scraped.text


async def test_a_health_port_in_use_stops_the_start_with_one_line(
    stub: BotAPIStub, corpus_dir: Path, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        settings = make_settings(stub, corpus_dir, tmp_path).model_copy(
            update={"health_port": taken.getsockname()[1]})
        with pytest.raises(ListenError, match=r"\(HEALTH_LISTEN, HEALTH_PORT\)"):
            async with running_bot(settings):
                pass



async def test_systemd_hears_ready_once_an_index_is_served_and_a_watchdog_ping_per_check(
    stub: BotAPIStub, corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast_checks(monkeypatch)
    address = str(tmp_path / "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as systemd:
        systemd.bind(address)
        systemd.setblocking(False)
        monkeypatch.setenv("NOTIFY_SOCKET", address)
        async with running_bot(make_settings(stub, corpus_dir, tmp_path)) as app:
            served = app.bot_data.builder is not None
            await asyncio.sleep(0.5)
        heard = []
        with contextlib.suppress(BlockingIOError):
            while True:
                heard.append(systemd.recv(64).decode())
    assert served
    assert "READY=1" in heard and heard[-1] == "STOPPING=1"
    assert heard.index("READY=1") > 0  # a check ran (WATCHDOG=1) before it: still starting
    assert heard.count("WATCHDOG=1") >= 3  # every 0.1 s here
