"""A bot that echoes every text, on the project's python-telegram-bot settings (the same
builder: rate limits, retries, concurrency). It is the ceiling that the real bot's throughput
is measured against in benchmarks/telegram_load.py.

    TELEGRAM_BOT_TOKEN=... TELEGRAM_API_URL=... python -m benchmarks.echo_bot
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes, MessageHandler, filters

from bot.config import load_settings
from bot.logs import configure_logging
from bot.telegram.ptb import application_builder


async def echo(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.effective_message.reply_text(update.effective_message.text)


def main() -> None:
    settings = load_settings()
    configure_logging(settings.log_level, [settings.telegram_bot_token.get_secret_value()])
    application = application_builder(settings).build()
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    application.run_polling(allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    main()
