"""The systemd unit of docs/operations.md (deploy/fuite-sante-bot.service) against the bot:
it starts what the bot's command line knows, expects what the bot tells systemd, and sets
only settings the bot reads."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import Settings
from bot.telegram import health

UNIT = Path(__file__).parent.parent / "deploy" / "fuite-sante-bot.service"


def unit() -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys keep their case
    parser.read(UNIT)
    return parser


def test_the_unit_runs_the_bot_as_a_notify_service_whose_watchdog_the_checks_feed() -> None:
    service = unit()["Service"]
    assert service["ExecStart"].split()[1:] == ["-m", "bot", "run"]
    assert service["Type"] == "notify"  # the bot says READY=1 (tests/test_health.py)
    # Three checks may be missed before systemd restarts the bot.
    assert float(service["WatchdogSec"]) >= 3 * health.CHECK_SECONDS


def test_the_unit_sets_only_settings_the_bot_reads() -> None:
    service = unit()["Service"]
    names = {line.split("=", 1)[0] for line in service["Environment"].splitlines()}
    assert names <= {name.upper() for name in Settings.model_fields} | {"EMBEDDING_CACHE_DIR"}


def test_systemd_finds_nothing_wrong_in_the_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    # The unit's interpreter, where the repository would be installed, is this one here.
    copy = tmp_path / UNIT.name
    copy.write_text(UNIT.read_text().replace("/opt/fuite-sante-bot/.venv/bin/python",
                                             sys.executable))
    checked = subprocess.run([analyze, "verify", str(copy)], capture_output=True, text=True,
                             cwd=tmp_path, check=False)
    assert (checked.returncode, checked.stdout + checked.stderr) == (0, "")
