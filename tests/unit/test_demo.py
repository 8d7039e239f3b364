"""The demo's small decisions: where it opens, and that it starts from an empty database."""

from __future__ import annotations

from pathlib import Path

from bot.config import EXAMPLE_CONFIG_PATH, load_config
from bot.demo import fresh_database_file, page_url


def test_page_opens_as_the_default_queues_first_rep_in_its_channel() -> None:
    config = load_config(EXAMPLE_CONFIG_PATH)
    assert page_url("http://127.0.0.1:8765", config) == (
        "http://127.0.0.1:8765/?channel=C0SALES01&as=U0ALICE1"
    )


def test_each_start_empties_the_previous_runs_database(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    data.mkdir()
    for name in ("leadbot.db", "leadbot.db-wal", "leadbot.db-shm", "keep.txt"):
        (data / name).write_text("old")
    database = fresh_database_file(data)
    assert database == (data / "leadbot.db").resolve()
    assert sorted(p.name for p in data.iterdir()) == ["keep.txt"]
    assert fresh_database_file(tmp_path / "new").parent.is_dir()
