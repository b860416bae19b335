"""Fault injection: Bot API calls made to fail, on script or at random (for load tests), or
answered late."""

from __future__ import annotations

import random
from collections import deque
from http import HTTPStatus

from bot_testing.methods import canonical
from bot_testing.wire import ApiError


class FaultInjection:
    """Errors to answer instead of calling a method: queued ones first, then random ones; and
    delays before answering."""

    def __init__(self) -> None:
        self._faults: dict[str, deque[ApiError]] = {}
        self._delays: dict[str, deque[float]] = {}
        self._random_faults: dict[str, tuple[float, tuple[int, ...], random.Random]] = {}

    def fail_next(
        self,
        method: str,
        status: int,
        times: int = 1,
        retry_after: int | None = None,
        description: str | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail with HTTP ``status``.

        502, 503 and 504 come as a bare proxy error page; other statuses as Telegram's error JSON
        with ``description`` (a typical one by default). A 429 always carries
        ``parameters.retry_after`` (``retry_after`` seconds, 1 by default), as Telegram's do.
        """
        if status == HTTPStatus.TOO_MANY_REQUESTS:
            retry_after = 1 if retry_after is None else retry_after
        elif retry_after is not None:
            raise ValueError("retry_after only goes with status 429")
        queue = self._faults.setdefault(canonical(method), deque())
        queue.extend(ApiError(status, description, retry_after) for _ in range(times))

    def fail_randomly(
        self, method: str, rate: float, statuses: tuple[int, ...], seed: int = 0
    ) -> None:
        """Make each call of ``method`` fail with probability ``rate`` (after any queued
        ``fail_next`` faults), with one of ``statuses`` drawn at random; reproducible from
        ``seed``. A 429 carries a retry_after of 1 s. A ``rate`` of 0 stops the faults."""
        if not 0 <= rate <= 1:
            raise ValueError("rate must be between 0 and 1")
        self._random_faults[canonical(method)] = (rate, statuses, random.Random(seed))

    def delay_next(self, method: str, seconds: float, times: int = 1) -> None:
        """Make the next ``times`` calls of ``method`` wait ``seconds`` before being carried out
        and answered, as a slow Telegram does. The call takes effect even when the client stops
        waiting for the answer first: a message sent that way is delivered all the same."""
        if seconds < 0:
            raise ValueError("seconds must not be negative")
        self._delays.setdefault(canonical(method), deque()).extend([seconds] * times)

    def _next_delay(self, method: str) -> float:
        """Seconds to wait before carrying out this call of the (canonical) ``method``."""
        delays = self._delays.get(method)
        return delays.popleft() if delays else 0.0

    def _next_fault(self, method: str) -> ApiError | None:
        """The error to answer to this call of the (canonical) ``method``, if any."""
        if self._faults.get(method):
            return self._faults[method].popleft()
        if method not in self._random_faults:
            return None
        rate, statuses, draw = self._random_faults[method]
        if draw.random() >= rate:
            return None
        status = draw.choice(statuses)
        return ApiError(status, retry_after=1 if status == HTTPStatus.TOO_MANY_REQUESTS else None)
