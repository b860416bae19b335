"""How a reply looks on a phone: the bot's answer to every question of the bank (its label in
each language, as a citizen asking it or tapping its suggestion gets it), and to the questions
the classifiers learn to hedge or decline (bot/data), rendered as the bot sends it to Telegram
(bot.render_html, the buttons of bot.telegram.keyboards) in a 360 px wide client, measured in
lines; and a screenshot of one reply for the README.

    .venv/bin/python -m benchmarks.reply_look [--screenshot docs/reply.png]

Needs Chromium and Roboto (Debian's packages `chromium`, `fonts-roboto-unhinted`), run
headless; nothing else is downloaded. Without Roboto the text is set in a wider font and the
figures are pessimistic. The client is Telegram for Android's defaults, as measured on a
360 × 640 dp phone: messages in Roboto at 16 px with lines of 21 px, a bubble's text 296 px
wide (8 px of screen margin and 12 px of bubble padding each side, 16 px of scroll bar and
tail), a quote a block of its own (the line break that ends it starts the next line, not an
empty one), inline buttons 44 px a row; the messages' area is 640 − 24 (status bar) − 56
(title bar) − 48 (input bar) = 512 px.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path

from telegram import InlineKeyboardMarkup

from bot.answer import Answer, AnswerBuilder
from bot.classifiers import EVERYDAY_FILE, UNANSWERED_FILE, training_questions
from bot.index_store import load_or_build_index
from bot.lang import LANGS
from bot.render_html import render_excerpt_html, render_html
from bot.telegram.keyboards import answer_keyboard, page_keyboard
from bot_testing.process import REPO

# A message's HTML and its buttons.
Shown = tuple[str, InlineKeyboardMarkup | None]
SCREEN_PX = 512
LINE_PX = 21
BUTTON_ROW_PX = 44
BUBBLE_PADDING_PX = 16  # above and below the text
TEXT_WIDTH_PX = 296
BOT_USERNAME = "fuite_sante_bot"
STYLE = f"""
body {{ margin: 0; background: #dfe8d5; font: 16px/{LINE_PX}px Roboto, 'DejaVu Sans', sans-serif; }}
.reply {{ width: {TEXT_WIDTH_PX}px; margin: 8px; padding: 8px 12px; background: white;
          border-radius: 12px; white-space: pre-wrap; overflow-wrap: anywhere; }}
blockquote {{ margin: 2px 0; padding-left: 8px; border-left: 3px solid #3a8ad6; }}
a {{ color: #2678b6; text-decoration: none; }}
.buttons {{ width: {TEXT_WIDTH_PX + 24}px; margin: 0 8px 8px; }}
.row {{ display: flex; gap: 4px; margin-top: 4px; }}
.button {{ flex: 1; height: {BUTTON_ROW_PX - 4}px; line-height: {BUTTON_ROW_PX - 4}px;
           background: rgba(0, 60, 0, .25); color: white; border-radius: 8px;
           text-align: center; font-size: 14px; overflow: hidden; white-space: nowrap; }}
"""
MEASURE = f"""
<pre id="out"></pre><script>
const out = [...document.querySelectorAll('.message')].map(m => {{
  const text = m.querySelector('.reply').getBoundingClientRect().height - {2 * 8};
  const buttons = m.querySelector('.buttons').getBoundingClientRect().height;
  return {{lines: Math.round(text / {LINE_PX}), height: text + {BUBBLE_PADDING_PX} + buttons}};
}});
document.getElementById('out').textContent = JSON.stringify(out);
</script>"""


def message_html(shown: Shown) -> str:
    """One message as the client shows it: the text (Telegram HTML is a subset of the web's,
    its line breaks kept by pre-wrap), then its rows of buttons."""
    text, keyboard = shown
    rows = keyboard.inline_keyboard if keyboard else ()
    buttons = "".join(
        '<div class="row">' + "".join(f'<div class="button">{html.escape(b.text)}</div>'
                                      for b in row) + "</div>" for row in rows)
    text = text.replace("</blockquote>\n", "</blockquote>")
    return (f'<div class="message"><div class="reply">{text}</div>'
            f'<div class="buttons">{buttons}</div></div>')


def reply(answer: Answer, builder: AnswerBuilder) -> Shown:
    return render_html(answer), answer_keyboard(answer, builder.catalogue, BOT_USERNAME)


def pages(answer: Answer) -> list[Shown]:
    """The messages "more" sends, one an excerpt, each with its links and "more"."""
    return [(render_excerpt_html(e, n, answer.lang), page_keyboard(answer, n))
            for n, e in enumerate(answer.more, len(answer.shown) + 1)]


def page(messages: list[str], script: str = "") -> str:
    return (f"<!doctype html><meta charset=utf-8><style>{STYLE}</style>"
            f"{''.join(messages)}{script}")


def chromium(*arguments: str) -> str:
    """Run headless Chromium with a fresh profile and no network of its own; its output."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        raise SystemExit("Chromium is needed: apt-get install chromium")
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--hide-scrollbars", f"--user-data-dir={profile}", *arguments],
            capture_output=True, text=True, check=True, timeout=120).stdout


def measured(messages: list[str]) -> list[dict[str, float]]:
    with tempfile.NamedTemporaryFile("w", suffix=".html", delete=False) as file:
        file.write(page(messages, MEASURE))
    dom = chromium("--window-size=360,640", "--virtual-time-budget=5000", "--dump-dom",
                   Path(file.name).as_uri())
    Path(file.name).unlink()
    found = re.search(r'<pre id="out">(.*?)</pre>', dom, re.DOTALL)
    if found is None:
        raise SystemExit("Chromium gave no measurements")
    figures: list[dict[str, float]] = json.loads(html.unescape(found.group(1)))
    return figures


def screenshot(message: str, path: Path) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".html", delete=False) as file:
        file.write(page([message]))
    chromium("--window-size=360,640", f"--screenshot={path.resolve()}", Path(file.name).as_uri())
    Path(file.name).unlink()


def replies(builder: AnswerBuilder) -> dict[str, list[Shown]]:
    """The messages measured, by kind: the replies to the bank's questions in each language,
    the excerpts behind their "more" buttons, and the replies to questions about the breach
    the documents do not answer or off the subject, by outcome."""
    bank = {lang: [builder.answer(entry.text(lang)) for entry in builder.index.bank]
            for lang in LANGS}
    groups = {f"bank {lang}": [reply(a, builder) for a in answers]
              for lang, answers in bank.items()}
    groups["bank, behind more"] = [page for answers in bank.values() for a in answers
                                   for page in pages(a)]
    for question in training_questions(UNANSWERED_FILE) + training_questions(EVERYDAY_FILE):
        answer = builder.answer(question)
        kind = ("declined" if not answer.answered
                else "hedged" if not answer.confident else "confident")
        groups.setdefault(f"not in the bank, {kind}", []).append(reply(answer, builder))
    return groups


def report(label: str, figures: list[dict[str, float]]) -> None:
    lines = [f["lines"] for f in figures]
    fitting = sum(1 for f in figures if f["height"] <= SCREEN_PX)
    print(f"{label}: {len(figures)} messages; text lines median {statistics.median(lines):.0f}, "
          f"max {max(lines):.0f}; with buttons, {fitting} of {len(figures)} fit one "
          f"{SCREEN_PX} px screen (tallest {max(f['height'] for f in figures):.0f} px)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--screenshot", type=Path, help="write one reply's picture there")
    args = parser.parse_args()
    index = load_or_build_index(REPO / "corpus", REPO / "index")
    builder = AnswerBuilder(index)
    groups = replies(builder)
    figures = iter(measured([message_html(m) for group in groups.values() for m in group]))
    for label, group in groups.items():
        report(label, [next(figures) for _ in group])
    if args.screenshot:
        complaint = builder.answer("Comment porter plainte ?")
        screenshot(message_html(reply(complaint, builder)), args.screenshot)
        print(f"screenshot: {args.screenshot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
