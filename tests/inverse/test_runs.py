"""Run helpers shared by both trainers: the CSV log keeps its columns whatever the key order of a row."""

import csv

import pytest

from inverse.runs import append_csv


def test_csv_rows_follow_the_header_not_the_key_order(tmp_path):
    log = tmp_path / "log.csv"
    append_csv(log, {"epoch": 1, "a": 0.5, "b": 2.0})
    append_csv(log, {"b": 3.0, "epoch": 2, "a": 0.25})
    rows = list(csv.DictReader(log.open()))
    assert rows[1] == {"epoch": "2", "a": "0.25", "b": "3.0"}
    with pytest.raises(ValueError, match="differ"):
        append_csv(log, {"epoch": 3, "a": 1.0, "c": 1.0})
