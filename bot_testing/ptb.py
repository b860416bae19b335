"""Running a python-telegram-bot Application against the stand-in."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from telegram.ext import Application


@contextlib.asynccontextmanager
async def polling(
    app: Application,
    after_initialize: Callable[[Application], Awaitable[None]] | None = None,
) -> AsyncIterator[Application]:
    """Run ``app`` with long polling (against the stub its base_url names) for the block, as
    ``run_polling`` would: initialize, ``after_initialize`` (say ``app.post_init``), start;
    then stop, shut down and run ``app.post_shutdown``."""
    await app.initialize()
    try:
        if after_initialize is not None:
            await after_initialize(app)
        await app.start()
        await app.updater.start_polling(poll_interval=0.0, timeout=1)
        yield app
    finally:
        if app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()
        if app.post_shutdown is not None:
            await app.post_shutdown(app)
