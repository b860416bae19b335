import pytest

from bot.config import SettingsError, load_settings
from bot.store import Store
from bot.store_postgres import PostgresStore
from bot.stores import store_for


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
    ("DATABASE_URL", "mysql://bot@db/bot"),
    ("DATABASE_URL", "postgresql://bot:pw@[::1/bot"),
])
def test_an_invalid_setting_is_one_line_naming_the_variable(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert str(error.value).startswith(f"invalid setting {name}:")
    assert "\n" not in str(error.value)



def test_database_url_picks_postgresql_and_its_absence_the_sqlite_file(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "bot.sqlite3"))
    monkeypatch.setenv("DATABASE_URL", "")
    assert isinstance(store_for(load_settings()), Store)
    monkeypatch.setenv("DATABASE_URL", "postgresql://bot:pw@db.internal:5433/bot")
    store = store_for(load_settings())
    assert isinstance(store, PostgresStore) and store.where == "postgresql://bot@db.internal:5433/bot"
