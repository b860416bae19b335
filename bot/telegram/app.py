"""The Telegram application: the table of handlers, what runs before the first update
(post_init) and after the last (post_shutdown), the error handler, and running it by long
polling or webhook."""

from __future__ import annotations

import asyncio
import functools
import logging
import secrets

from telegram import BotCommand, BotCommandScopeChat, BotCommandScopeDefault, Update
from telegram.error import BadRequest, InvalidToken, NetworkError
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest

from bot.config import Settings
from bot.index_store import load_or_build_index
from bot.lang import LANGS
from bot.logs import configure_logging
from bot.messages import ADMIN_COMMANDS, CITIZEN_COMMANDS, command_menu, message
from bot.store import StoreError
from bot.stores import store_for
from bot.telegram import admins, citizens, corpus_admin, inbox, inline
from bot.telegram.citizens import user_lang
from bot.telegram.health import (
    ListenError,
    notify_systemd,
    start_monitoring,
    stop_monitoring,
)
from bot.telegram.inbox import InboxQueue
from bot.telegram.limits import Admission
from bot.telegram.metrics import Metrics
from bot.telegram.ptb import BotApplication, UnconfirmedRequest, application_builder
from bot.telegram.state import BotContext, BotState
from bot.telegram.webhook import run_webhook

log = logging.getLogger(__name__)

# Handler groups run in order: the sender's limit first, then the recent chats are noted; an
# update leaves the inbox last.
LIMIT_GROUP, FIRST_GROUP, LAST_GROUP = -2, -1, 1


async def chat_seen(update: Update, context: BotContext) -> None:
    """Keep the data of the most recent chats only: a chat no longer among them loses its
    "more" answers and pending uploads (their buttons then say so)."""
    application = context.application
    if update.effective_chat is not None:
        for chat_id in context.state.chat_seen(update.effective_chat.id):
            application.drop_chat_data(chat_id)
    # python-telegram-bot notes the id of every chat and user it sees, and of every chat
    # dropped, for a persistence to save; without one (this bot has none) nothing empties them.
    application._chat_ids_to_be_updated_in_persistence.clear()
    application._user_ids_to_be_updated_in_persistence.clear()
    application._chat_ids_to_be_deleted_in_persistence.clear()


async def on_error(update: object, context: BotContext) -> None:
    """Log the error (never the message text) and apologise to the user; but not for a
    reply that got no answer from Telegram: it may well have arrived, and it is logged."""
    if isinstance(context.error, UnconfirmedRequest):
        return
    log.error("error while handling an update: %s", type(context.error).__name__,
              exc_info=context.error)
    if isinstance(update, Update) and update.effective_message is not None:
        try:
            await update.effective_message.reply_text(message("error", user_lang(update)))
        except Exception:  # the apology is best effort: the error is already logged
            log.warning("could not send the apology")


async def post_init(application: BotApplication) -> None:
    """Open the store, serve the index (the saved one if current), set the menus of commands,
    and queue the updates the last run left unhandled, before any new one (and, on a store
    other replicas share, those they leave, from then on)."""
    state: BotState = application.bot_data
    await asyncio.to_thread(state.store.open)
    await start_monitoring(application)  # /readyz says "no index" until one is served
    index = await asyncio.to_thread(
        load_or_build_index, state.settings.corpus_dir, state.settings.index_dir)
    state.serve(await asyncio.to_thread(admins.ready_answers, index))
    log.info("serving %d documents, %d passages", len(index.documents), len(index.passages))
    bot = application.bot
    for lang in LANGS:
        await bot.set_my_commands(
            [BotCommand(c, d) for c, d in command_menu(CITIZEN_COMMANDS, lang)],
            scope=BotCommandScopeDefault(), language_code=None if lang == "fr" else lang)
    admin_menu = [BotCommand(c, d)
                  for c, d in command_menu(CITIZEN_COMMANDS + ADMIN_COMMANDS, "fr")]
    for admin in state.settings.admin_user_ids:
        try:
            await bot.set_my_commands(admin_menu, scope=BotCommandScopeChat(admin))
        except BadRequest:  # an admin who never started a chat with the bot
            log.warning("could not set the admin menu for one admin (no chat yet)")
    assert isinstance(application.update_queue, InboxQueue)
    await application.update_queue.put_unhandled(application)
    notify_systemd("READY=1")
    application.update_queue.start_taking_over(application)


async def post_shutdown(application: BotApplication) -> None:
    await stop_monitoring(application)
    assert isinstance(application.update_queue, InboxQueue)
    await application.update_queue.stop_taking_over()
    await asyncio.to_thread(application.bot_data.store.close)


async def admitted(application: BotApplication, update: Update) -> Admission:
    """The per-sender limit's word on an update as it arrives."""
    bot, state = application.bot, application.bot_data
    state.metrics.updates.inc()
    admission = await state.limit.admit(update, bot.username, bot.id)
    if admission != "answer":
        state.metrics.limit_hits.labels(admission).inc()
    return admission


def heard(application: BotApplication) -> None:
    application.bot_data.health.heard_from_telegram()


def build_application(settings: Settings, request: BaseRequest | None = None) -> BotApplication:
    """The python-telegram-bot Application with every handler, not yet started. `request`
    replaces HTTP for every call (tests answer offline through one)."""
    store, metrics = store_for(settings), Metrics()
    builder = (application_builder(settings, metrics, lambda: heard(application))
               .update_queue(InboxQueue(store)).post_init(post_init).post_shutdown(post_shutdown))
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    application = builder.build()
    application.bot_data.configure(settings, store, metrics)
    queue = application.update_queue
    assert isinstance(queue, InboxQueue)
    queue.admit = functools.partial(admitted, application)
    private = filters.ChatType.PRIVATE
    application.add_handler(TypeHandler(Update, citizens.slow_down), LIMIT_GROUP)
    application.add_handler(TypeHandler(Update, chat_seen), FIRST_GROUP)
    application.add_handlers([
        CommandHandler("start", citizens.start),
        CommandHandler("help", citizens.help_command),
        CommandHandler("sources", citizens.sources),
        CommandHandler("privacy", citizens.privacy),
        CommandHandler("ask", citizens.ask),
        CommandHandler("share", citizens.share),
        CommandHandler("reindex", admins.reindex),
        CommandHandler("stats", admins.stats),
        CommandHandler("docs", corpus_admin.docs),
        CommandHandler("remove", corpus_admin.remove),
        MessageHandler(filters.COMMAND, citizens.unknown_command),
        MessageHandler(filters.TEXT & ~filters.COMMAND, citizens.question),
        MessageHandler(corpus_admin.BANK_DOCUMENT & private, corpus_admin.replace_bank),
        MessageHandler(filters.Document.ALL & private, admins.upload),
        MessageHandler(~filters.TEXT & ~filters.StatusUpdate.ALL & private, citizens.not_text),
        CallbackQueryHandler(citizens.more, pattern=r"^more$"),
        CallbackQueryHandler(citizens.vote, pattern=r"^vote:(up|down)$"),
        CallbackQueryHandler(citizens.ask_suggestion, pattern=r"^ask:"),
        CallbackQueryHandler(admins.upload_choice, pattern=r"^upload:"),
        CallbackQueryHandler(corpus_admin.removal_choice, pattern=r"^remove:\w+:\w+$"),
        CallbackQueryHandler(citizens.unknown_button),
        InlineQueryHandler(inline.inline_query),
    ])
    application.add_handler(TypeHandler(Update, inbox.handled), LAST_GROUP)
    application.add_error_handler(on_error)
    return application


def run_bot(settings: Settings) -> int:
    """Run the bot until interrupted: long polling, or a webhook when WEBHOOK_URL is set."""
    token = settings.telegram_bot_token
    configure_logging(settings.log_level, [token.get_secret_value()] if token else [])
    if token is None:
        log.error("TELEGRAM_BOT_TOKEN is not set")
        return 2
    application = build_application(settings)
    try:
        if settings.webhook_url is None:
            application.run_polling(allowed_updates=Update.ALL_TYPES)
            return 0
        secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
        asyncio.run(run_webhook(application, settings, secret or secrets.token_urlsafe(32)))
    except InvalidToken:
        log.error("Telegram refused the bot token: check TELEGRAM_BOT_TOKEN")
        return 2
    except (StoreError, ListenError) as error:
        log.error("%s", error)
        return 2
    except NetworkError as error:  # at start-up: once running, polling retries by itself
        log.error("cannot reach the Telegram Bot API at %s (%s)",
                  settings.telegram_api_url, error)
        return 1
    return 0
