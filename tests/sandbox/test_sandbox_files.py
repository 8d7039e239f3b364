"""files.* through the real slack_sdk client: `files_upload_v2`, the low-level steps, errors."""

from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from sandbox_testkit import CARD, TOKEN, Receiver, error_of, http, make_sandbox
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient

from sandbox import Sandbox

CSV = b"name,company\nAda,ACME & Co\n"


def png(width: int = 2, height: int = 1) -> bytes:
    """A minimal valid RGB PNG, built here so the test needs no fixture file."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


@dataclass(frozen=True)
class Fetched:
    status: int
    content_type: str
    headers: dict[str, str]
    body: bytes


async def fetch(url: str) -> Fetched:
    """GET the raw bytes (the shared `http` helper decodes text, which a PNG is not)."""
    async with aiohttp.ClientSession() as session, session.get(url) as res:
        return Fetched(res.status, res.content_type, dict(res.headers), await res.read())


async def failure(call: Any) -> str:
    with pytest.raises(SlackApiError) as info:
        await call
    return error_of(info.value)


async def reserve(client: AsyncWebClient, name: str, length: int) -> tuple[str, str]:
    res = await client.files_getUploadURLExternal(filename=name, length=length)
    return res["file_id"], res["upload_url"]


# -- files_upload_v2 ---------------------------------------------------------


async def test_upload_v2_png_shares_a_file_message_in_the_channel(
    sb: Sandbox, client: AsyncWebClient
) -> None:
    image = png(3, 2)
    res = await client.files_upload_v2(
        channel="C0SALES",
        file=image,
        filename="chart.png",
        title="Weekly chart",
        alt_txt="bar chart",
        initial_comment="Leads this week",
    )
    file = res["file"]
    assert res["files"] == [file]
    assert (file["name"], file["title"], file["mimetype"], file["filetype"]) == (
        "chart.png",
        "Weekly chart",
        "image/png",
        "png",
    )
    assert (file["size"], file["user"], file["alt_txt"]) == (len(image), "UBOT", "bar chart")
    assert (file["original_w"], file["original_h"]) == (3, 2)
    assert file["url_private"] == f"{sb.base_url}/files/{file['id']}/chart.png"
    assert file["channels"] == ["C0SALES"] and file["is_public"] is True

    [message] = sb.messages("C0SALES")
    assert (message.subtype, message.text, message.bot_id, message.user) == (
        "file_share",
        "Leads this week",
        "BBOT",
        "UBOT",
    )
    wire = message.to_api()
    assert wire["upload"] is True and wire["files"][0]["id"] == file["id"]
    assert file["shares"]["public"]["C0SALES"][0]["ts"] == message.ts

    history = await client.conversations_history(channel="C0SALES")
    assert history["messages"][0]["files"][0]["url_private"] == file["url_private"]
    assert history["messages"][0]["subtype"] == "file_share"

    served = await fetch(file["url_private"])
    assert (served.status, served.content_type, served.body) == (200, "image/png", image)
    assert [f.id for f in sb.files()] == [file["id"]]
    assert sb.file_content(file["id"]) == image


async def test_upload_v2_csv_into_a_thread_is_a_reply_and_downloadable(
    sb: Sandbox, client: AsyncWebClient
) -> None:
    parent = (await client.chat_postMessage(channel="C0SALES", text="New lead"))["ts"]
    res = await client.files_upload_v2(
        channel="C0SALES", content=CSV, filename="leads.csv", thread_ts=parent
    )
    file = res["file"]
    assert (file["mimetype"], file["filetype"], file["title"]) == ("text/csv", "csv", "leads.csv")
    reply = sb.messages("C0SALES")[-1]
    assert reply.thread_ts == parent and reply.subtype == "file_share" and reply.text == ""
    assert sb.get_message("C0SALES", parent).reply_count == 1
    assert file["shares"]["public"]["C0SALES"][0]["thread_ts"] == parent

    download = await fetch(file["url_private_download"])
    assert (download.status, download.content_type, download.body) == (200, "text/csv", CSV)
    assert download.headers["Content-Disposition"] == 'attachment; filename="leads.csv"'


async def test_several_files_share_one_message(sb: Sandbox, client: AsyncWebClient) -> None:
    res = await client.files_upload_v2(
        channel="C0PRIV",
        file_uploads=[
            {"content": CSV, "filename": "a.csv"},
            {"file": png(), "filename": "b.png", "title": "B"},
        ],
    )
    assert [f["name"] for f in res["files"]] == ["a.csv", "b.png"]
    assert "file" not in res.data  # slack_sdk copies files[0] only for a single file
    [message] = sb.messages("C0PRIV")
    assert [f["title"] for f in message.files or []] == ["a.csv", "B"]
    assert res["files"][0]["groups"] == ["C0PRIV"] and res["files"][0]["is_public"] is False


async def test_upload_without_a_channel_stores_a_private_file(
    sb: Sandbox, client: AsyncWebClient
) -> None:
    res = await client.files_upload_v2(content="notes", filename="notes.txt")
    file = res["file"]
    assert all(not sb.messages(c) for c in ("C0SALES", "C0PRIV"))
    assert (file["channels"], file["is_public"], file["filetype"]) == ([], False, "text")
    info = await client.files_info(file=file["id"])
    assert info["file"]["id"] == file["id"] and info["file"]["size"] == 5
    served = await fetch(file["url_private"])
    assert served.body == b"notes" and served.content_type == "text/plain"


async def test_initial_comment_is_stored_in_escaped_wire_form(
    sb: Sandbox, client: AsyncWebClient
) -> None:
    await client.files_upload_v2(
        channel="C0SALES",
        content=CSV,
        filename="leads.csv",
        initial_comment="for <@U0ALICE>: a < b & c > d, already &amp; escaped",
    )
    assert sb.messages("C0SALES")[0].text == (
        "for <@U0ALICE>: a &lt; b &amp; c &gt; d, already &amp; escaped"
    )


async def test_complete_with_blocks_validates_and_stores_them(
    sb: Sandbox, client: AsyncWebClient
) -> None:
    file_id, url = await reserve(client, "leads.csv", len(CSV))
    await http("POST", url, data=CSV)
    bad = [{"type": "section", "text": {"type": "plain_text", "text": ""}}]
    error = await failure(
        client.files_completeUploadExternal(
            files=[{"id": file_id}], channel_id="C0SALES", blocks=json.dumps(bad)
        )
    )
    assert error == "invalid_blocks"
    await client.files_completeUploadExternal(
        files=[{"id": file_id}], channel_id="C0SALES", blocks=json.dumps(CARD)
    )
    blocks = sb.messages("C0SALES")[0].blocks or []
    assert [b["type"] for b in blocks] == [b["type"] for b in CARD]
    assert blocks[2]["elements"][0]["action_id"] == "claim"


async def test_file_share_echoes_to_the_bot_as_its_own_message(
    sb: Sandbox, client: AsyncWebClient, receiver: Receiver
) -> None:
    sb.echo_bot_messages = True
    await client.files_upload_v2(channel="C0SALES", content=CSV, filename="leads.csv")
    event = (await receiver.next()).json()["event"]
    assert (event["type"], event["subtype"], event["bot_id"], event["user"]) == (
        "message",
        "file_share",
        "BBOT",
        "UBOT",
    )
    assert event["files"][0]["name"] == "leads.csv"


async def test_page_state_shows_the_file_message(sb: Sandbox, client: AsyncWebClient) -> None:
    await client.files_upload_v2(channel="C0SALES", file=png(), filename="chart.png")
    state = (await http("GET", f"{sb.base_url}/_sandbox/state")).json()
    sales = next(c for c in state["channels"] if c["id"] == "C0SALES")
    assert sales["messages"][0]["files"][0]["mimetype"] == "image/png"


# -- files.getUploadURLExternal ---------------------------------------------


async def test_get_upload_url_points_at_the_sandbox(sb: Sandbox, client: AsyncWebClient) -> None:
    res = await client.files_getUploadURLExternal(filename="a.csv", length=3)
    assert res["file_id"].startswith("F")
    assert res["upload_url"].startswith(f"{sb.base_url}/upload/{res['file_id']}/")
    call = (await sb.wait_for_call("files.getUploadURLExternal"))[0]
    assert call.args["length"] == "3"  # slack_sdk sends it in the query string


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"length": 3}, "invalid_arguments"),
        ({"filename": "a.csv"}, "invalid_arguments"),
        ({"filename": "a.csv", "length": "three"}, "invalid_arguments"),
        ({"filename": "a.csv", "length": 0}, "missing_argument"),
        ({"filename": "a.csv", "length": -4}, "missing_argument"),
        ({"filename": "a.png", "length": 3, "alt_txt": "x" * 1001}, "alt_txt_too_large"),
    ],
)
async def test_get_upload_url_errors(
    client: AsyncWebClient, params: dict[str, Any], code: str
) -> None:
    assert await failure(client.api_call("files.getUploadURLExternal", params=params)) == code


async def test_alt_txt_of_1000_is_accepted(client: AsyncWebClient) -> None:
    res = await client.files_getUploadURLExternal(filename="a.png", length=3, alt_txt="x" * 1000)
    assert res["ok"]


async def test_files_methods_need_their_scopes() -> None:
    narrow = make_sandbox(scopes=("chat:write",))
    await narrow.start()
    try:
        client = AsyncWebClient(token=TOKEN, base_url=narrow.api_url)
        with pytest.raises(SlackApiError) as info:
            await client.files_getUploadURLExternal(filename="a.csv", length=3)
        assert error_of(info.value) == "missing_scope"
        assert info.value.response["needed"] == "files:write"
        with pytest.raises(SlackApiError) as info:
            await client.files_info(file="F1")
        assert info.value.response["needed"] == "files:read"
    finally:
        await narrow.stop()


# -- the upload step --------------------------------------------------------


async def test_upload_step_takes_raw_bytes_once_without_a_token(
    sb: Sandbox, client: AsyncWebClient
) -> None:
    file_id, url = await reserve(client, "leads.csv", len(CSV))
    first = await http("POST", url, data=CSV)
    assert (first.status, first.content_type, first.text) == (200, "text/plain", f"OK - {len(CSV)}")
    again = await http("POST", url, data=CSV)
    assert again.status == 404
    assert (await http("POST", url.replace(file_id, "F0NOPE"), data=CSV)).status == 404
    assert (await http("POST", url[:-4] + "XXXX", data=CSV)).status == 404
    ok_uploads = await sb.wait_for_call("upload_url")
    assert [c.args for c in ok_uploads] == [{"file_id": file_id, "bytes": len(CSV)}]


async def test_upload_to_a_guessed_secret_is_refused(client: AsyncWebClient) -> None:
    _, url = await reserve(client, "leads.csv", len(CSV))
    base = url.rsplit("/", 1)[0]
    assert (await http("POST", f"{base}/not-the-secret", data=CSV)).status == 404
    assert (await http("POST", url, data=CSV)).status == 200


async def test_failed_upload_step_makes_upload_v2_raise(
    sb: Sandbox, client: AsyncWebClient
) -> None:
    sb.set_fault("upload_url", status=503, times=1)
    with pytest.raises(SlackRequestError):
        await client.files_upload_v2(channel="C0SALES", content=CSV, filename="leads.csv")
    assert sb.messages("C0SALES") == [] and sb.files() == []


# -- files.completeUploadExternal errors ------------------------------------


async def test_complete_unknown_or_never_uploaded_file_is_not_found(
    sb: Sandbox, client: AsyncWebClient
) -> None:
    file_id, _ = await reserve(client, "leads.csv", len(CSV))
    for missing in ("F0NOPE", file_id):
        error = await failure(
            client.files_completeUploadExternal(files=[{"id": missing}], channel_id="C0SALES")
        )
        assert error == "file_not_found"
    assert sb.messages("C0SALES") == [] and sb.files() == []


async def test_complete_with_wrong_byte_count_is_rejected(
    sb: Sandbox, client: AsyncWebClient
) -> None:
    file_id, url = await reserve(client, "leads.csv", len(CSV) + 1)
    await http("POST", url, data=CSV)
    error = await failure(
        client.files_completeUploadExternal(files=[{"id": file_id}], channel_id="C0SALES")
    )
    assert error == "invalid_arguments"
    assert sb.files() == []


@pytest.mark.parametrize(
    ("where", "code"),
    [
        ({"channel_id": "C0NOPE"}, "channel_not_found"),
        ({"channels": ["C0SALES", "C0NOPE"]}, "channel_not_found"),
        ({"channel_id": "G0HIDDEN"}, "channel_not_found"),
        ({"channel_id": "C0OLD"}, "is_archived"),
        ({"channel_id": "C0SALES", "thread_ts": "1000000000.000001"}, "thread_not_found"),
    ],
)
async def test_complete_channel_errors_leave_the_upload_usable(
    sb: Sandbox, client: AsyncWebClient, where: dict[str, Any], code: str
) -> None:
    file_id, url = await reserve(client, "leads.csv", len(CSV))
    await http("POST", url, data=CSV)
    assert (
        await failure(client.files_completeUploadExternal(files=[{"id": file_id}], **where)) == code
    )
    assert sb.messages("C0SALES") == [] and sb.files() == []
    done = await client.files_completeUploadExternal(files=[{"id": file_id}], channel_id="C0SALES")
    assert done["files"][0]["id"] == file_id
    assert sb.file_content(file_id) == CSV


@pytest.mark.parametrize("files", [None, "not json", "[]", '[{"title": "no id"}]'])
async def test_complete_with_a_bad_files_argument_is_invalid(
    client: AsyncWebClient, files: str | None
) -> None:
    params = {"channel_id": "C0SALES"} if files is None else {"files": files}
    error = await failure(client.api_call("files.completeUploadExternal", params=params))
    assert error == "invalid_arguments"


async def test_a_completed_file_cannot_be_completed_again(client: AsyncWebClient) -> None:
    file_id, url = await reserve(client, "leads.csv", len(CSV))
    await http("POST", url, data=CSV)
    await client.files_completeUploadExternal(files=[{"id": file_id}])
    error = await failure(client.files_completeUploadExternal(files=[{"id": file_id}]))
    assert error == "file_not_found"


# -- files.info and serving -------------------------------------------------


async def test_files_info_unknown_file(client: AsyncWebClient) -> None:
    assert await failure(client.files_info(file="F0NOPE")) == "file_not_found"


async def test_unknown_file_urls_are_404(sb: Sandbox, client: AsyncWebClient) -> None:
    file = (await client.files_upload_v2(content=CSV, filename="leads.csv"))["file"]
    assert (await fetch(f"{sb.base_url}/files/F0NOPE/leads.csv")).status == 404
    assert (await fetch(f"{sb.base_url}/files/{file['id']}/other.csv")).status == 404
    with pytest.raises(KeyError):
        sb.file_content("F0NOPE")
