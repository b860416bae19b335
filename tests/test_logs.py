import logging

import pytest

from bot.logs import SecretFilter, ThrottledLog

TOKEN = "123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


def test_tokens_are_blanked_in_messages_arguments_and_tracebacks():
    record = logging.LogRecord("httpx", logging.INFO, __file__, 1,
                               "HTTP Request: POST %s", (f"https://x/bot{TOKEN}/getMe",), None)
    SecretFilter().filter(record)
    assert TOKEN not in record.getMessage()
    try:
        raise ValueError(f"rejected https://x/file/bot{TOKEN.replace(':', '%3A')}/a.txt")
    except ValueError as error:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None,
                                   (ValueError, error, error.__traceback__))
    SecretFilter().filter(record)
    formatted = logging.Formatter().format(record)
    assert "AAHdq" not in formatted and "ValueError" in formatted


def test_given_secrets_are_blanked_too():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "secret=%s", ("hunter2",), None)
    SecretFilter(["hunter2"]).filter(record)
    assert record.getMessage() == "secret=[secret]"


UPDATES = [{"update_id": n,
            "message": {"message_id": n, "text": "mon numéro 1 85 05 78 006 084 36"}}
           for n in range(10)]


def test_another_packages_long_arguments_never_reach_the_log():
    """python-telegram-bot logs "Received data was %s" with every queued update, at CRITICAL,
    when it cannot read one."""
    record = logging.LogRecord("telegram.ext.Updater", logging.CRITICAL, __file__, 1,
                               "Received data was %s", (UPDATES,), None)
    SecretFilter().filter(record)
    message = record.getMessage()
    assert "006 084" not in message
    assert message.startswith("Received data was %s [arguments withheld")


def test_the_bots_own_messages_and_short_foreign_ones_are_written_whole():
    own = logging.LogRecord("bot.telegram.app", logging.INFO, __file__, 1,
                            "serving %d documents, %s", (5, "x" * 400), None)
    short = logging.LogRecord("telegram.ext", logging.ERROR, __file__, 1,
                              "Failed run number %s of %s. Aborting.", (0, 0), None)
    for record in (own, short):
        SecretFilter().filter(record)
    assert own.getMessage() == "serving 5 documents, " + "x" * 400
    assert short.getMessage() == "Failed run number 0 of 0. Aborting."


def test_another_packages_traceback_shrinks_to_its_last_line():
    try:
        raise ConnectionError("All connection attempts failed")
    except ConnectionError as error:
        record = logging.LogRecord("telegram.ext", logging.ERROR, __file__, 1, "Aborting.",
                                   None, (ConnectionError, error, error.__traceback__))
    SecretFilter().filter(record)
    formatted = logging.Formatter().format(record)
    assert formatted == "Aborting.\nConnectionError: All connection attempts failed"


def test_a_short_update_in_another_packages_record_never_reaches_the_log():
    """The webhook logs an update it cannot read whole at CRITICAL, however short it is."""
    update = {"update_id": 1, "message": {"text": "1 85 05 78 006 084 36"}}
    record = logging.LogRecord(
        "telegram.ext._utils.webhookhandler", logging.CRITICAL, __file__, 1,
        "Something went wrong processing the data received from Telegram. Received data was "
        "*not* processed! Received data was: %r", (update,), None)
    SecretFilter().filter(record)
    assert "006 084" not in record.getMessage()
    assert record.getMessage().endswith("[arguments withheld: they may hold users' messages]")


def test_a_repeated_fault_is_written_once_a_minute_with_a_count_of_the_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    throttled = ThrottledLog(logging.getLogger("bot.test"), 60, clock=lambda: now[0])
    for second in range(0, 150, 1):
        now[0] = float(second)
        throttled.warning("connection %d refused", second)
    assert [r.getMessage() for r in caplog.records] == [
        "connection 0 refused",
        "connection 60 refused (and 59 more like it in the last 60 s)",
        "connection 120 refused (and 59 more like it in the last 60 s)"]
