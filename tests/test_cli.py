"""The `leadbot` command as an operator meets it: clear messages, exit codes, no tracebacks."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.cli import main
from bot.config import EXAMPLE_CONFIG_PATH
from tests.test_crash_recovery import free_port

ROOT = Path(__file__).resolve().parents[1]


def run_cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        cwd=cwd or ROOT,
    )


def test_check_config_accepts_the_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", str(EXAMPLE_CONFIG_PATH)]) == 0
    assert "OK" in capsys.readouterr().out


def test_check_config_names_the_bad_key_and_line_and_exits_non_zero(tmp_path: Path) -> None:
    broken = tmp_path / "leadbot.yaml"
    text = EXAMPLE_CONFIG_PATH.read_text().replace("channel: C0SALES01", "channel: sales")
    broken.write_text(text)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "channel: sales" in row)
    result = run_cli("check-config", str(broken))
    assert result.returncode == 1
    assert f"{broken}:{line}: queues[0].channel:" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_config_reads_leadbot_config_env_and_reports_missing_file(tmp_path: Path) -> None:
    result = run_cli("check-config", env={"LEADBOT_CONFIG": str(tmp_path / "nope.yaml")})
    assert (
        result.returncode == 1 and "not found" in result.stderr and "Traceback" not in result.stderr
    )


def test_serve_without_slack_settings_says_what_is_missing(tmp_path: Path) -> None:
    env = {k: "" for k in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")}
    result = run_cli("serve", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert (
        "SLACK_BOT_TOKEN is not set" in result.stderr
        and "SLACK_SIGNING_SECRET is not set" in result.stderr
    )
    assert "Traceback" not in result.stderr


def test_serve_with_a_broken_config_refuses_to_start(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("queues: [\n")
    env = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "LEADBOT_CONFIG": str(bad)}
    result = run_cli("serve", env=env, cwd=tmp_path)
    assert (
        result.returncode == 1
        and "configuration error" in result.stderr
        and "Traceback" not in result.stderr
    )


def test_serve_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    env = {
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_SIGNING_SECRET": "s",
        "LEADBOT_CONFIG": str(EXAMPLE_CONFIG_PATH),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}",
    }
    result = run_cli("serve", "--port", str(free_port()), env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert "leadbot db upgrade" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "database_url",
    ["postgresql://postgres@127.0.0.1:1/leadbot", "sqlite:////nonexistent-dir/leadbot.db"],
    ids=["postgres-refused", "sqlite-unopenable"],
)
def test_serve_with_an_unusable_database_names_it(tmp_path: Path, database_url: str) -> None:
    env = {
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_SIGNING_SECRET": "s",
        "LEADBOT_CONFIG": str(EXAMPLE_CONFIG_PATH),
        "DATABASE_URL": database_url,
    }
    result = run_cli("serve", "--port", str(free_port()), env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert "cannot use the database" in result.stderr and "cannot listen" not in result.stderr
    assert "Traceback" not in result.stderr


def test_db_upgrade_then_apikey_create_prints_the_key_once(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    upgraded = run_cli("db", "upgrade", env=env)
    assert upgraded.returncode == 0 and "revision" in upgraded.stdout
    created = run_cli("apikey", "create", "website-form", env=env)
    assert created.returncode == 0
    assert re.fullmatch(r"lb_[A-Za-z0-9_-]{40,}\n", created.stdout)
    again = run_cli("apikey", "create", "website-form", env=env)
    assert again.returncode == 2 and "already exists" in again.stderr
    import sqlite3

    with sqlite3.connect(tmp_path / "x.db") as conn:
        stored = conn.execute("SELECT key_hash FROM api_keys").fetchall()
    assert len(stored) == 1 and created.stdout.strip() not in stored[0][0]


@pytest.mark.parametrize("name", ["", "   ", "k" * 81])
def test_apikey_create_refuses_a_bad_name_and_stores_nothing(tmp_path: Path, name: str) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'k.db'}"}
    assert run_cli("db", "upgrade", env=env).returncode == 0
    result = run_cli("apikey", "create", name, env=env)
    assert result.returncode == 2 and "1 to 80 characters" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    import sqlite3

    with sqlite3.connect(tmp_path / "k.db") as conn:
        assert conn.execute("SELECT count(*) FROM api_keys").fetchone() == (0,)


def test_bad_database_url_is_a_clear_error(tmp_path: Path) -> None:
    result = run_cli("db", "upgrade", env={"DATABASE_URL": "mysql://root@localhost/x"})
    assert (
        result.returncode == 2
        and "DATABASE_URL" in result.stderr
        and "Traceback" not in result.stderr
    )


async def widget_hello(base_url: str, *, origin: str) -> dict[str, Any]:
    """The server's answer to a widget's first `hello` from `origin`."""
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(f"{base_url}/widget/ws", headers={"Origin": origin}) as ws,
    ):
        await ws.send_json({"type": "hello", "page": {"url": f"{origin}/widget/demo"}})
        frame: dict[str, Any] = await ws.receive_json(timeout=10)
        return frame


def test_demo_starts_prints_how_to_send_a_lead_and_posts_its_card(tmp_path: Path) -> None:
    port, sandbox_port = free_port(), free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot",
            "demo",
            "--port",
            str(port),
            "--sandbox-port",
            str(sandbox_port),
            "--data-dir",
            str(tmp_path / "demo"),
            "--no-browser",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        banner = ""
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        while "Press Ctrl-C" not in banner and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                raise AssertionError(f"demo exited: {proc.stderr.read() if proc.stderr else ''}")
            banner += line
        # It opens onto the sandbox page as the default queue's first rep, in its channel.
        assert f"http://127.0.0.1:{sandbox_port}/?channel=C0SALES01&as=U0ALICE1" in banner
        with urllib.request.urlopen(
            f"http://127.0.0.1:{sandbox_port}/_sandbox/state", timeout=10
        ) as resp:
            seeded = json.loads(resp.read())
        channels = {c["id"] for c in seeded["channels"]}
        users = {u["id"] for u in seeded["users"]}
        assert {"C0SALES01", "C0ENTPR01"} <= channels
        assert {"U0ALICE1", "U0BOB001", "U0CARMEN", "U0DEVPA1", "U0ERIN01", "U0MGR01"} <= users
        key = re.search(r"Bearer (lb_[A-Za-z0-9_-]+)", banner)
        assert key, banner
        body = re.search(r"-d '(.+)'", banner)
        assert body, banner
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/leads",
            data=body.group(1).encode(),
            method="POST",
            headers={"Authorization": f"Bearer {key.group(1)}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as resp:
            assert resp.status == 201
        card_posted = False
        while not card_posted and time.monotonic() < deadline:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{sandbox_port}/_sandbox/state", timeout=10
            ) as resp:
                state = json.loads(resp.read())
            card_posted = "Jane Doe" in json.dumps(state)
            time.sleep(0.1)
        assert card_posted, "the demo lead's card never reached the sandbox"
        assert "Priya Raman" in json.dumps(state), "the sample leads' cards are missing"
        with urllib.request.urlopen(f"http://127.0.0.1:{sandbox_port}/", timeout=10) as resp:
            assert resp.status == 200 and b"<html" in resp.read().lower()

        # The sample website, with a widget that may connect: the demo allows its own origin.
        site = f"http://127.0.0.1:{port}"
        assert "Be a website visitor" in banner and f"{site}/widget/demo" in banner
        for path, kind in (("/widget/demo", "text/html"), ("/widget.js", "javascript")):
            with urllib.request.urlopen(f"{site}{path}", timeout=10) as resp:
                assert resp.status == 200 and kind in resp.headers["Content-Type"]
        welcome = asyncio.run(widget_hello(site, origin=site))
        assert welcome["type"] == "welcome" and welcome["resumed"] is False
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
