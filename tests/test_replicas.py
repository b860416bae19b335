"""Several processes of the bot ("replicas") on one PostgreSQL database (bot/store_postgres.py):
an update is answered by one of them, one killed loses none, the per-sender limit is theirs
together."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from types import SimpleNamespace

import pytest
from telegram import Chat, Message, Update, User
from telegram.ext import ExtBot

from bot import store_postgres
from bot.store import Unhandled
from bot.store_postgres import PostgresStore
from bot.telegram import inbox, limits
from bot.telegram.inbox import InboxQueue
from bot.telegram.limits import ArrivalLimit
from bot_testing.offline import OfflineRequest
from tests.conftest import BOT_TOKEN

Replica = Callable[[], PostgresStore]


@pytest.fixture
def replica(postgres_url: str) -> Iterator[Replica]:
    """Open a new replica on the test's database; all are closed at the end."""
    opened: list[PostgresStore] = []

    def open_replica() -> PostgresStore:
        store = PostgresStore(postgres_url)
        store.open()
        opened.append(store)
        return store

    yield open_replica
    for store in opened:
        store.close()


def payload(update_id: int) -> str:
    return json.dumps({"update_id": update_id, "message": {"text": f"question {update_id}"}})


def test_an_update_given_to_two_replicas_at_once_is_kept_by_one(replica: Replica) -> None:
    first, second = replica(), replica()
    ids = range(300)
    with ThreadPoolExecutor(8) as pool:
        by_first = pool.map(lambda i: first.keep(i, payload(i)), ids)
        by_second = pool.map(lambda i: second.keep(i, payload(i)), ids)
        kept = [a + b for a, b in zip(by_first, by_second, strict=True)]
    assert kept == [1] * len(ids)


def test_a_copy_arriving_while_another_replica_marks_it_handled_is_not_kept(
    replica: Replica,
) -> None:
    """The handled check and the insert are one statement on one key: a copy can never slip
    in between the end of the handling and the text's removal."""
    first, second = replica(), replica()
    ids = range(300)
    for i in ids:
        assert first.keep(i, payload(i))
    with ThreadPoolExecutor(8) as pool:
        handled = pool.map(first.handled, ids)
        copies = pool.map(lambda i: second.keep(i, payload(i)), ids)
        assert not any(copies)
        list(handled)
    assert first.take_unhandled() == second.take_unhandled() == Unhandled([], [])


def test_a_stopped_replica_s_updates_are_taken_over_by_one_of_the_others(
    replica: Replica,
) -> None:
    stopped = replica()
    for i in range(100):
        stopped.keep(i, payload(i))
    stopped.handled(0)
    stopped.close()  # its leases end now
    takers = [replica() for _ in range(3)]
    with ThreadPoolExecutor(len(takers)) as pool:
        taken = list(pool.map(PostgresStore.take_unhandled, takers))
    retried = [p for unhandled in taken for p in unhandled.retried]
    assert sorted(retried, key=lambda p: json.loads(p)["update_id"]) == [
        payload(i) for i in range(1, 100)]
    assert all(unhandled.retried == sorted(unhandled.retried,  # oldest first
                                           key=lambda p: json.loads(p)["update_id"])
               for unhandled in taken)
    assert takers[0].take_unhandled() == Unhandled([], [])  # held by their takers now


KEEPER = """
import sys, time
from bot import store_postgres
store_postgres.LEASE_SECONDS = 1.0
store = store_postgres.PostgresStore(sys.argv[1])
store.open()
store.keep(1, sys.argv[2])
print("kept", flush=True)
time.sleep(60)
"""


def test_a_killed_replica_s_update_is_taken_over_once_its_lease_ends(
    replica: Replica, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_postgres, "LEASE_SECONDS", 1.0)
    keeper = subprocess.Popen([sys.executable, "-c", KEEPER, postgres_url, payload(1)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert keeper.stdout is not None and keeper.stdout.readline() == "kept\n"
        other = replica()
        time.sleep(1.5)  # past the first lease: the live keeper has renewed it
        assert other.take_unhandled() == Unhandled([], [])
    finally:
        keeper.send_signal(signal.SIGKILL)
        keeper.wait()
    time.sleep(1.1)
    assert other.take_unhandled() == Unhandled([payload(1)], [])
    assert not other.keep(1, payload(1))  # Telegram sending it again now: a copy
    other.handled(1)
    assert replica().take_unhandled() == Unhandled([], [])


def test_an_update_that_stopped_two_replicas_is_dropped(replica: Replica) -> None:
    first = replica()
    first.keep(1, payload(1))
    first.close()
    second = replica()
    assert second.take_unhandled() == Unhandled([payload(1)], [])
    second.close()
    third = replica()
    assert third.take_unhandled() == Unhandled([], [1])
    assert not third.keep(1, payload(1))


def private_message(update_id: int, sender: int) -> Update:
    person = User(id=sender, first_name="Camille", is_bot=False)
    return Update(update_id, message=Message(update_id, datetime.now(), Chat(sender, "private"),
                                             from_user=person, text="et mes données ?"))


async def test_the_per_sender_limit_counts_across_replicas(
    replica: Replica, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "WINDOW_SECONDS", 1.0)
    arrivals = [ArrivalLimit(5, replica()), ArrivalLimit(5, replica())]
    said = [await arrivals[i % 2].admit(private_message(i, 1001), "bot", 1) for i in range(9)]
    assert said == ["answer"] * 5 + ["slow_down"] + ["ignore"] * 3
    assert await arrivals[1].admit(private_message(20, 1002), "bot", 1) == "answer"
    assert arrivals[1].slowed_down(private_message(5, 1001))  # the replica that said it
    time.sleep(1.1)  # the window is over
    assert await arrivals[0].admit(private_message(30, 1001), "bot", 1) == "answer"


async def test_the_limit_is_counted_in_memory_while_the_shared_store_fails(
    replica: Replica,
) -> None:
    store = replica()
    arrival = ArrivalLimit(2, store)
    store.failing_since = time.time()  # as a failed write leaves it
    store.close()  # a count would fail now
    said = [await arrival.admit(private_message(i, 1001), "bot", 1) for i in range(4)]
    assert said == ["answer", "answer", "slow_down", "ignore"]


async def test_a_running_replica_queues_the_updates_a_stopped_one_left(
    replica: Replica, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inbox, "TAKEOVER_SECONDS", 0.1)
    queue = InboxQueue(replica())
    queue.start_taking_over(SimpleNamespace(bot=ExtBot(BOT_TOKEN, request=OfflineRequest())))
    try:
        stopped = replica()
        stopped.keep(7, private_message(7, 1001).to_json())
        stopped.close()
        taken = await asyncio.wait_for(queue.get(), timeout=5)
    finally:
        await queue.stop_taking_over()
    assert isinstance(taken, Update) and taken.update_id == 7
    assert queue.empty()


async def test_an_update_arriving_as_a_replica_stops_is_left_to_another(
    replica: Replica,
) -> None:
    """Queued behind python-telegram-bot's stop signal, it hung the stop (which waits for the
    queue to empty) of a replica restarted mid-burst."""
    stopping = replica()
    queue = InboxQueue(stopping)
    stop_signal, late = object(), private_message(8, 1001)
    await queue.put(stop_signal)
    await queue.put(late)  # its webhook post was in flight
    assert queue.get_nowait() is stop_signal and queue.empty()
    stopping.close()
    assert replica().take_unhandled().retried == [late.to_json()]
