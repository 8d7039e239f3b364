"""Token types (contract checklist item 1): bot methods want `xoxb-`, Socket Mode wants `xapp-`."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sandbox_testkit import TOKEN, error_of, http, make_sandbox
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from sandbox import Sandbox

APP_TOKEN = "xapp-1-A0SANDBOX-1-secret"


@pytest.fixture
async def with_app_token() -> AsyncIterator[Sandbox]:
    sandbox = make_sandbox(app_token=APP_TOKEN)
    await sandbox.start()
    yield sandbox
    await sandbox.stop()


async def failure(client: AsyncWebClient, method: str) -> str:
    with pytest.raises(SlackApiError) as info:
        await client.api_call(method, params={"channel": "C0SALES", "text": "hi"})
    return error_of(info.value)


@pytest.mark.parametrize("token", [APP_TOKEN, "xapp-1-unknown"])
@pytest.mark.parametrize("method", ["chat.postMessage", "auth.test", "files.getUploadURLExternal"])
async def test_app_tokens_are_refused_by_bot_methods(
    with_app_token: Sandbox, token: str, method: str
) -> None:
    client = AsyncWebClient(token=token, base_url=with_app_token.api_url)
    assert await failure(client, method) == "not_allowed_token_type"
    assert with_app_token.messages("C0SALES") == []


async def test_connections_open_refuses_the_bot_token(with_app_token: Sandbox) -> None:
    client = AsyncWebClient(token=TOKEN, base_url=with_app_token.api_url)
    with pytest.raises(SlackApiError) as info:
        await client.apps_connections_open(app_token=TOKEN)
    assert error_of(info.value) == "not_allowed_token_type"


async def test_connections_open_with_the_app_token_says_socket_mode_is_not_emulated(
    with_app_token: Sandbox,
) -> None:
    client = AsyncWebClient(base_url=with_app_token.api_url)
    with pytest.raises(SlackApiError) as info:
        await client.apps_connections_open(app_token=APP_TOKEN)
    assert error_of(info.value) == "socket_mode_not_emulated"


@pytest.mark.parametrize("token", ["xapp-1-unknown", "xoxp-user-token", "xoxb-other"])
async def test_connections_open_with_an_unknown_token_is_invalid_auth(
    with_app_token: Sandbox, token: str
) -> None:
    client = AsyncWebClient(base_url=with_app_token.api_url)
    with pytest.raises(SlackApiError) as info:
        await client.apps_connections_open(app_token=token)
    assert error_of(info.value) == "invalid_auth"


async def test_connections_open_without_a_configured_app_token(sb: Sandbox) -> None:
    client = AsyncWebClient(base_url=sb.api_url)
    with pytest.raises(SlackApiError) as info:
        await client.apps_connections_open(app_token=APP_TOKEN)
    assert error_of(info.value) == "invalid_auth"


async def test_connections_open_without_a_token_is_not_authed(sb: Sandbox) -> None:
    res = await http("POST", sb.api_url + "apps.connections.open")
    assert res.json() == {"ok": False, "error": "not_authed"}


@pytest.mark.parametrize("token", ["xoxp-1-user", "xoxb-someone-else", "garbage"])
async def test_unknown_tokens_are_invalid_auth(sb: Sandbox, token: str) -> None:
    client = AsyncWebClient(token=token, base_url=sb.api_url)
    assert await failure(client, "chat.postMessage") == "invalid_auth"


async def test_the_bot_token_still_works(sb: Sandbox, client: AsyncWebClient) -> None:
    assert (await client.auth_test())["bot_id"] == "BBOT"
