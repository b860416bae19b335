"""Which store a process of the bot uses: the SQLite file at DATABASE_PATH, which one process
owns, or the PostgreSQL database at DATABASE_URL, which several share."""

from __future__ import annotations

import sqlite3

import psycopg

from bot.config import Settings
from bot.store import BotStore, Store
from bot.store_postgres import PostgresStore

# What a store's methods raise when the database cannot be used for now (a full disk, a lock
# held too long, a server gone): the caller retries or does without, never the user's problem.
STORE_ERRORS = (sqlite3.Error, psycopg.Error, OSError)


def store_for(settings: Settings) -> BotStore:
    """The store the settings name, not yet open."""
    if settings.database_url is not None:
        return PostgresStore(settings.database_url)
    return Store(settings.database_path)
