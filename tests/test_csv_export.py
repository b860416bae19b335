"""The unanswered questions as a spreadsheet file: no question runs as a formula on the
admin's computer, whichever separator the spreadsheet splits lines on."""

from __future__ import annotations

import csv
import io

import pytest

from bot.telegram.admins import FORMULA_STARTS, unanswered_csv

HOSTILE = [
    "zorglub ;=1+1",  # a French-locale spreadsheet splits on ";": "=1+1" would be a cell
    "=cmd|' /c calc'!a0",
    "@sum(1)",
    "ma question, -2+3",
    "+33 6 12 34 56 78 ; =HYPERLINK(\"http://evil\")",
    "\tzorglub;\t=1",
]


@pytest.mark.parametrize("separator", [",", ";"])
def test_no_cell_is_a_formula_whichever_the_separator(separator: str) -> None:
    data = unanswered_csv([(question, 1) for question in HOSTILE]).decode("utf-8-sig")
    cells = [cell.strip().strip('"').lstrip()
             for row in csv.reader(io.StringIO(data), delimiter=separator) for cell in row]
    assert not [cell for cell in cells if cell.startswith(FORMULA_STARTS)]


def test_the_questions_read_back_whole_with_the_files_own_separator() -> None:
    data = unanswered_csv([("zorglub ;=1+1", 3), ("une question banale ?", 1)])
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows == [["question", "count"], ["zorglub ;'=1+1", "3"],
                    ["une question banale ?", "1"]]
    assert data.startswith("\ufeff".encode())
