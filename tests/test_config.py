import pytest

from bot.config import SettingsError, load_settings


def test_admin_ids_are_read_comma_separated(monkeypatch):
    monkeypatch.setenv("ADMIN_USER_IDS", "12, 34,56")
    assert load_settings().admin_user_ids == {12, 34, 56}


@pytest.mark.parametrize(("name", "value"), [
    ("ADMIN_USER_IDS", "12,abc"),
    ("TELEGRAM_API_URL", "not a url"),
    ("WEBHOOK_PORT", "99999"),
    ("LOG_LEVEL", "chatty"),
    ("TELEGRAM_MESSAGES_PER_SECOND", "-1"),
    ("TELEGRAM_READ_TIMEOUT", "0"),
])
def test_an_invalid_setting_is_one_line_naming_the_variable(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert str(error.value).startswith(f"invalid setting {name}:")
    assert "\n" not in str(error.value)

