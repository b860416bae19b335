import logging

from bot.logs import SecretFilter

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
