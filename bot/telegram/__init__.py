"""The Telegram transport, in python-telegram-bot's style, one module per job: plumbing
(ptb), state, citizens' handlers, admins' handlers, buttons, addressing, the durable inbox,
the application."""

from bot.telegram.app import build_application, run_bot

__all__ = ["build_application", "run_bot"]
