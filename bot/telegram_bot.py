"""The Telegram transport: handlers for citizens and admins, in python-telegram-bot's style.

Answers come from the same AnswerBuilder as the console; this module only renders them as
HTML and handles Telegram's side of things: commands, groups, buttons, admins, errors.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import re
import secrets
import tempfile
import time
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from telegram import (
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, NetworkError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    BaseUpdateProcessor,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.answer import Answer, AnswerBuilder
from bot.config import Settings
from bot.corpus import CORPUS_SUFFIXES, CorpusFileError, read_document
from bot.index import IndexUnavailable, SearchIndex
from bot.index_store import load_or_build_index, rebuild_index
from bot.lang import Lang
from bot.logs import configure_logging
from bot.messages import format_date, message
from bot.privacy import redact
from bot.render_html import render_html, render_more_html
from bot.suggestions import Catalogue

log = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 1_000_000
SAFE_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,80}")
ANSWERS_KEPT_PER_CHAT = 20
TOP_DECLINED_SHOWN = 10
NETWORK_RETRIES = 3
CONCURRENT_UPDATES = 64
# A suggestion button's callback data: "ask:<position in the catalogue>:<language>".
SUGGESTION_DATA = re.compile(r"ask:(\d{1,4}):(fr|en)")

CITIZEN_COMMANDS = {
    "fr": [("start", "Présentation du bot"), ("help", "Exemples de questions"),
           ("sources", "Les documents cités"), ("privacy", "Vos données"),
           ("ask", "Poser une question (groupes)")],
    "en": [("start", "About this bot"), ("help", "Example questions"),
           ("sources", "The documents quoted"), ("privacy", "Your data"),
           ("ask", "Ask a question (groups)")],
}
ADMIN_COMMANDS = [("reindex", "Reconstruire l'index / rebuild the index"),
                  ("stats", "Statistiques / statistics")]


@dataclass
class Stats:
    """What admins see in /stats. In memory only: nothing here names a user."""

    answered: int = 0
    declined: int = 0
    votes: Counter[str] = field(default_factory=Counter)
    declined_questions: Counter[str] = field(default_factory=Counter)
    _voted: set[str] = field(default_factory=set)
    _salt: str = field(default_factory=lambda: secrets.token_hex(16))

    def record(self, answer: Answer) -> None:
        if answer.answered:
            self.answered += 1
        elif answer.outcome == "not_found":
            self.declined += 1
            self.declined_questions[redact(answer.question.strip().lower())[:200]] += 1

    def vote(self, voter: int, reply_id: str, vote: str) -> bool:
        """Count a vote once per person and reply; the pair is kept only as a salted hash."""
        key = hashlib.sha256(f"{self._salt}:{voter}:{reply_id}".encode()).hexdigest()
        if key in self._voted:
            return False
        self._voted.add(key)
        self.votes[vote] += 1
        return True


class BotState:
    """The bot's shared state: settings, the index being served, statistics."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.builder: AnswerBuilder | None = None
        self.stats = Stats()
        self.rebuild_lock = asyncio.Lock()

    @property
    def answers(self) -> AnswerBuilder:
        """What answers questions; post_init serves an index before any update arrives."""
        if self.builder is None:
            raise RuntimeError("no index is being served yet")
        return self.builder

    def serve(self, builder: AnswerBuilder) -> None:
        """Swap in a new index: one assignment, so a question sees the old or the new."""
        self.builder = builder

    def is_admin(self, update: Update) -> bool:
        user = update.effective_user
        return user is not None and user.id in self.settings.admin_user_ids


class RetryingRateLimiter(AIORateLimiter):
    """AIORateLimiter, which retries a 429 after its retry_after, also retrying network
    errors and bad gateways (a bare 502 is a NetworkError) a few times with a backoff, so a
    reply is delayed rather than lost."""

    async def process_request(  # type: ignore[no-untyped-def]
        self, callback, args, kwargs, endpoint, data, rate_limit_args
    ):
        request = (callback, args, kwargs, endpoint, data, rate_limit_args)
        for attempt in range(NETWORK_RETRIES):
            try:
                return await super().process_request(*request)
            except NetworkError as error:  # TimedOut too; BadRequest is the caller's mistake
                if isinstance(error, BadRequest):
                    raise
                log.warning("%s failed (%s); retry %d", endpoint, type(error).__name__,
                            attempt + 1)
                await asyncio.sleep(0.5 * 2**attempt)
        return await super().process_request(*request)


class ChatOrderedUpdateProcessor(BaseUpdateProcessor):
    """Updates of different chats are handled concurrently, those of one chat one after the
    other, in the order they came: a user's answers never overtake each other, and a slow
    reply (a retry after a bad gateway) holds up that chat only."""

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates)
        self._chats: dict[int, tuple[asyncio.Lock, int]] = {}  # lock, updates holding it

    async def do_process_update(self, update: object, coroutine: Awaitable[object]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            return
        lock, users = self._chats.get(chat.id, (asyncio.Lock(), 0))
        self._chats[chat.id] = (lock, users + 1)
        try:
            async with lock:  # asyncio.Lock lets its waiters in first come, first served
                await coroutine
        finally:
            lock, users = self._chats[chat.id]
            if users == 1:
                del self._chats[chat.id]
            else:
                self._chats[chat.id] = (lock, users - 1)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""


def state_of(context: ContextTypes.DEFAULT_TYPE) -> BotState:
    return context.application.bot_data["state"]


def user_lang(update: Update) -> Lang:
    """The bot's language for this user's commands: English for English clients, else French."""
    user = update.effective_user
    code = (user.language_code or "") if user else ""
    return "en" if code.lower().startswith("en") else "fr"


async def reply(update: Update, text: str, **kwargs) -> Message | None:  # type: ignore[no-untyped-def]
    message_ = update.effective_message
    if message_ is None:
        return None
    return await message_.reply_text(text, **kwargs)


# --- citizens ---------------------------------------------------------------------------

async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await reply_with_examples(update, context, "start")


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await reply_with_examples(update, context, "help")


async def reply_with_examples(update: Update, context: ContextTypes.DEFAULT_TYPE,
                              key: str) -> None:
    """A message with buttons asking the catalogue's first questions."""
    lang = user_lang(update)
    catalogue = state_of(context).answers.catalogue
    await reply(update, message(key, lang),
                reply_markup=suggestion_keyboard(catalogue.examples(lang), lang, catalogue))


async def privacy(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
    await reply(update, message("privacy", user_lang(update)))


async def sources(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    lang = user_lang(update)
    documents = state_of(context).answers.index.documents
    lines = [message("sources_intro", lang, count=len(documents))]
    for meta in documents.values():
        parts = [meta.institution, meta.reference, meta.author,
                 format_date(meta.published, lang) if meta.published else None]
        line = "• " + " — ".join(p for p in parts if p) + f"\n  « {meta.title} »"
        if meta.url:
            line += f"\n  {meta.url}"
        lines.append(line)
    await reply(update, "\n\n".join(lines), disable_web_page_preview=True)


async def question(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A text in a private chat, or addressed to the bot in a group, is a question."""
    message_ = update.effective_message
    if message_ is None or message_.text is None:
        return
    text = message_.text
    if message_.chat.type != ChatType.PRIVATE:
        username = context.bot.username
        mentioned = f"@{username}".lower() in text.lower()
        replied = (message_.reply_to_message is not None
                   and message_.reply_to_message.from_user is not None
                   and message_.reply_to_message.from_user.id == context.bot.id)
        if not (mentioned or replied):
            return
        text = re.sub(rf"@{re.escape(username)}\b", " ", text, flags=re.IGNORECASE)
    await answer_question(update, context, text)


async def ask(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/ask <question>, for groups, where plain messages are not for the bot."""
    text = " ".join(context.args or [])
    if not text.strip():
        await reply(update, message("ask_usage", user_lang(update)))
        return
    await answer_question(update, context, text)


async def answer_question(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> None:
    # No "typing…" action first: an answer takes some tens of milliseconds, and each action
    # would spend one of the 30 requests a second Telegram allows (docs/benchmarks.md). The
    # question's embedding is CPU work: it runs in a worker thread, off the event loop.
    state = state_of(context)
    answers = state.answers  # the same index for the answer and its suggestion buttons
    answer = await asyncio.to_thread(answers.answer, text)
    state.stats.record(answer)
    sent = await reply(update, render_html(answer), parse_mode=ParseMode.HTML,
                       reply_markup=answer_keyboard(answer, answers.catalogue),
                       disable_web_page_preview=True)
    if sent is not None and answer.more:
        kept: OrderedDict[int, Answer] = context.chat_data.setdefault("answers", OrderedDict())
        kept[sent.message_id] = answer
        while len(kept) > ANSWERS_KEPT_PER_CHAT:
            kept.popitem(last=False)


def answer_keyboard(answer: Answer, catalogue: Catalogue) -> InlineKeyboardMarkup | None:
    """Buttons under a reply: an answer's own, then the questions suggested instead."""
    rows = excerpt_rows(answer) if answer.answered else []
    rows += suggestion_rows(answer.suggestions, answer.lang, catalogue)
    return InlineKeyboardMarkup(rows) if rows else None


def excerpt_rows(answer: Answer) -> list[list[InlineKeyboardButton]]:
    """An answer's links, "more" if there is more, and 👍/👎."""
    rows = [[InlineKeyboardButton(message("open_link", answer.lang, host=urlsplit(link.url).netloc),
                                  url=link.url)] for link in answer.links[:3]]
    if answer.more:
        rows.append([InlineKeyboardButton(
            message("more_button", answer.lang, count=len(answer.more)), callback_data="more")])
    rows.append([InlineKeyboardButton("👍", callback_data="vote:up"),
                 InlineKeyboardButton("👎", callback_data="vote:down")])
    return rows


def suggestion_rows(texts: Sequence[str], lang: Lang,
                    catalogue: Catalogue) -> list[list[InlineKeyboardButton]]:
    """One button a question, labelled with it, that asks it when tapped. Callback data is
    limited to 64 bytes, so it names the question by its place in the catalogue: a text
    that is not in the catalogue gets no button."""
    return [[InlineKeyboardButton(text, callback_data=f"ask:{position}:{lang}")]
            for text in texts if (position := catalogue.position(text)) is not None]


def suggestion_keyboard(texts: Sequence[str], lang: Lang,
                        catalogue: Catalogue) -> InlineKeyboardMarkup | None:
    rows = suggestion_rows(texts, lang, catalogue)
    return InlineKeyboardMarkup(rows) if rows else None


def suggested_question(data: str, catalogue: Catalogue) -> str | None:
    """The catalogue question a suggestion button asks; None if it is not (or no longer) in
    the catalogue."""
    match = SUGGESTION_DATA.fullmatch(data)
    if match is None or int(match[1]) >= len(catalogue):
        return None
    lang: Lang = "en" if match[2] == "en" else "fr"
    return catalogue.questions[int(match[1])].text(lang)


async def ask_suggestion(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A suggestion button: its question is answered as if the user had written it."""
    query = update.callback_query
    text = suggested_question(query.data or "", state_of(context).answers.catalogue)
    if text is None:
        await query.answer(message("suggestion_gone", user_lang(update)))
        return
    await query.answer()
    await answer_question(update, context, text)


async def more(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    kept = context.chat_data.get("answers", {}) if context.chat_data is not None else {}
    answer = kept.get(query.message.message_id) if query.message else None
    if answer is None:
        await query.answer(message("more_gone", user_lang(update)), show_alert=True)
        return
    await query.answer()
    await query.message.reply_text(
        render_more_html(answer.more, answer.lang, len(answer.shown) + 1),
        parse_mode=ParseMode.HTML, disable_web_page_preview=True)


async def vote(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    reply_id = f"{query.message.chat.id}:{query.message.message_id}" if query.message else "?"
    counted = state_of(context).stats.vote(query.from_user.id, reply_id, query.data.split(":")[1])
    await query.answer(message("feedback_thanks" if counted else "feedback_already",
                               user_lang(update)))


async def not_text(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stickers, photos, voice, documents from non-admins: only text is read."""
    if update.effective_chat and update.effective_chat.type == ChatType.PRIVATE:
        await reply(update, message("not_text", user_lang(update)))


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any other command in a private chat; in a group, only one addressed to this bot
    ("/foo@this_bot", or a message mentioning @this_bot)."""
    message_ = update.effective_message
    if message_ is not None and message_.chat.type != ChatType.PRIVATE:
        text = (message_.text or "").lower()
        name = f"@{context.bot.username}".lower()
        if not (text.split()[0].endswith(name) or name in text.split()):
            return
    await reply(update, message("unknown_command", user_lang(update)))


# --- admins -----------------------------------------------------------------------------

Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[None]]


def admin_command(handler: Handler) -> Handler:
    """Run the command for admins only; anyone else gets a polite refusal and nothing runs."""

    @functools.wraps(handler)
    async def guarded(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not state_of(context).is_admin(update):
            await reply(update, message("admin_only", user_lang(update)))
            return
        await handler(update, context)

    return guarded


@admin_command
async def reindex(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    lang = user_lang(update)
    await reply(update, message("reindex_started", lang))
    await reply(update, await rebuild(state_of(context), lang))


async def rebuild(state: BotState, lang: Lang) -> str:
    """Rebuild the index off the event loop and swap it in; on failure keep the old one."""
    async with state.rebuild_lock:
        started = time.perf_counter()
        try:
            index = await asyncio.to_thread(
                rebuild_index, state.settings.corpus_dir, state.settings.index_dir)
        except (IndexUnavailable, OSError) as error:
            log.error("index rebuild failed: %s", error)
            return message("reindex_failed", lang, error=error)
        state.serve(await asyncio.to_thread(ready_answers, index))
    text = message("reindex_done", lang, documents=len(index.documents),
                   passages=len(index.passages), seconds=time.perf_counter() - started)
    if index.skipped:
        text += "\n" + message("reindex_skipped", lang) + "\n" + "\n".join(index.skipped)
    return text


def ready_answers(index: SearchIndex) -> AnswerBuilder:
    """An AnswerBuilder for the index, warmed up so that no user waits for its loading."""
    builder = AnswerBuilder(index)
    builder.warm_up()
    return builder


async def upload(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An admin's .txt or .md document: checked, added to the corpus, indexed."""
    state = state_of(context)
    lang = user_lang(update)
    if not state.is_admin(update):
        await not_text(update, context)
        return
    document = update.effective_message.document
    name = document.file_name or ""
    problem = upload_problem(name, document.file_size)
    if problem is None:
        data = bytes(await (await document.get_file()).download_as_bytearray())
        problem = await asyncio.to_thread(_check_and_save, data, name, state.settings.corpus_dir)
    if problem is not None:
        await reply(update, message("upload_refused", lang, reason=problem))
        return
    result = await rebuild(state, lang)
    await reply(update, message("upload_saved", lang, name=name) + "\n" + result)


def upload_problem(name: str, size: int | None) -> str | None:
    """Why a document cannot be added, judged before downloading it; None if it may be."""
    if not SAFE_FILE_NAME.fullmatch(name) or ".." in name:
        return "file name must be letters, digits, '.', '_' or '-' only"
    if Path(name).suffix.lower() not in CORPUS_SUFFIXES:
        return "only .md and .txt files are accepted"
    if size is not None and size > MAX_UPLOAD_BYTES:
        return f"larger than {MAX_UPLOAD_BYTES // 1000} kB"
    return None


def _check_and_save(data: bytes, name: str, corpus_dir: Path) -> str | None:
    """Parse the upload as a corpus file would be parsed, then move it into the corpus."""
    if (problem := upload_problem(name, len(data))) is not None:  # Telegram may omit the size
        return problem
    corpus_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=corpus_dir.parent) as folder:
        candidate = Path(folder) / name.lower()
        candidate.write_bytes(data)
        try:
            read_document(candidate)
        except CorpusFileError as error:
            return error.problem
        candidate.replace(corpus_dir / candidate.name)
    return None


@admin_command
async def stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    lang = user_lang(update)
    numbers = state_of(context).stats
    text = message("stats", lang, answered=numbers.answered, declined=numbers.declined,
                   up=numbers.votes["up"], down=numbers.votes["down"])
    top = numbers.declined_questions.most_common(TOP_DECLINED_SHOWN)
    if top:
        text += "\n\n" + message("stats_declined", lang) + "\n" + "\n".join(
            f"{count}× {question_}" for question_, count in top)
    await reply(update, text)


# --- the application ---------------------------------------------------------------------

async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the error (never the message text) and apologise to the user."""
    log.error("error while handling an update: %s", type(context.error).__name__,
              exc_info=context.error)
    if isinstance(update, Update) and update.effective_message is not None:
        try:
            await update.effective_message.reply_text(message("error", user_lang(update)))
        except Exception:  # the apology is best effort: the error is already logged
            log.warning("could not send the apology")


async def post_init(application: Application) -> None:
    state: BotState = application.bot_data["state"]
    index = await asyncio.to_thread(
        load_or_build_index, state.settings.corpus_dir, state.settings.index_dir)
    state.serve(await asyncio.to_thread(ready_answers, index))
    log.info("serving %d documents, %d passages", len(index.documents), len(index.passages))
    bot = application.bot
    for lang, commands in CITIZEN_COMMANDS.items():
        await bot.set_my_commands([BotCommand(c, d) for c, d in commands],
                                  scope=BotCommandScopeDefault(),
                                  language_code=None if lang == "fr" else lang)
    admin_menu = [BotCommand(c, d) for c, d in CITIZEN_COMMANDS["fr"] + ADMIN_COMMANDS]
    for admin in state.settings.admin_user_ids:
        try:
            await bot.set_my_commands(admin_menu, scope=BotCommandScopeChat(admin))
        except BadRequest:  # an admin who never started a chat with the bot
            log.warning("could not set the admin menu for one admin (no chat yet)")


def application_builder(settings: Settings) -> ApplicationBuilder:
    """python-telegram-bot configured for this bot: its token and Bot API server, the rate
    limits with retries, and updates of different chats handled concurrently."""
    assert settings.telegram_bot_token is not None
    return (
        ApplicationBuilder()
        .token(settings.telegram_bot_token.get_secret_value())
        .base_url(str(settings.telegram_api_url))
        .base_file_url(file_url(str(settings.telegram_api_url)))
        .rate_limiter(RetryingRateLimiter(
            overall_max_rate=settings.telegram_messages_per_second, max_retries=3))
        .concurrent_updates(ChatOrderedUpdateProcessor(CONCURRENT_UPDATES))
    )


def build_application(settings: Settings) -> Application:
    """The python-telegram-bot Application with every handler, not yet started."""
    application = application_builder(settings).post_init(post_init).build()
    application.bot_data["state"] = BotState(settings)
    private = filters.ChatType.PRIVATE
    application.add_handlers([
        CommandHandler("start", start),
        CommandHandler("help", help_command),
        CommandHandler("sources", sources),
        CommandHandler("privacy", privacy),
        CommandHandler("ask", ask),
        CommandHandler("reindex", reindex),
        CommandHandler("stats", stats),
        MessageHandler(filters.COMMAND, unknown_command),
        MessageHandler(filters.TEXT & ~filters.COMMAND, question),
        MessageHandler(filters.Document.ALL & private, upload),
        MessageHandler(~filters.TEXT & ~filters.StatusUpdate.ALL & private, not_text),
        CallbackQueryHandler(more, pattern=r"^more$"),
        CallbackQueryHandler(vote, pattern=r"^vote:(up|down)$"),
        CallbackQueryHandler(ask_suggestion, pattern=r"^ask:"),
    ])
    application.add_error_handler(on_error)
    return application


def file_url(api_url: str) -> str:
    """The file download URL that goes with a Bot API URL: ".../bot" -> ".../file/bot"."""
    base, _, last = api_url.rstrip("/").rpartition("/")
    return f"{base}/file/{last}"


def run_bot(settings: Settings) -> int:
    """Run the bot until interrupted: long polling, or a webhook when WEBHOOK_URL is set."""
    token = settings.telegram_bot_token
    configure_logging(settings.log_level, [token.get_secret_value()] if token else [])
    if token is None:
        log.error("TELEGRAM_BOT_TOKEN is not set")
        return 2
    application = build_application(settings)
    if settings.webhook_url is None:
        application.run_polling(allowed_updates=Update.ALL_TYPES)
        return 0
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    application.run_webhook(
        listen=settings.webhook_listen,
        port=settings.webhook_port,
        url_path=urlsplit(str(settings.webhook_url)).path.lstrip("/"),
        webhook_url=str(settings.webhook_url),
        secret_token=secret or secrets.token_urlsafe(32),
        allowed_updates=Update.ALL_TYPES,
    )
    return 0
