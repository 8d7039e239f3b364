"""Fixtures: a started sandbox, a real slack_sdk client on it, and a fake bot endpoint."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sandbox_testkit import TOKEN, Receiver, make_sandbox
from slack_sdk.web.async_client import AsyncWebClient

from sandbox import Sandbox


@pytest.fixture
async def sb() -> AsyncIterator[Sandbox]:
    sandbox = make_sandbox()
    await sandbox.start(port=0)
    yield sandbox
    await sandbox.stop()


@pytest.fixture
def client(sb: Sandbox) -> AsyncWebClient:
    return AsyncWebClient(token=TOKEN, base_url=sb.api_url)


@pytest.fixture
async def receiver(sb: Sandbox) -> AsyncIterator[Receiver]:
    bot = Receiver()
    sb.request_url = await bot.start()
    yield bot
    await bot.stop()
