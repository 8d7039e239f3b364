"""HTTP routes for file bytes: the upload step and serving stored files.

The upload URL stands in for `https://files.slack.com/upload/v1/…`: slack_sdk
POSTs the raw bytes there with no token and only checks for HTTP 200. Stored
files are served without a token (real `url_private` wants one) so the web
page can show an image with a plain `<img src>`.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING

from aiohttp import BodyPartReader, web

if TYPE_CHECKING:
    from sandbox.core import Sandbox

#: How the upload step shows in the call log (`sb.wait_for_call(UPLOAD_METHOD)`).
UPLOAD_METHOD = "upload_url"


class FileRoutes:
    def __init__(self, sb: Sandbox) -> None:
        self.sb = sb

    def register(self, router: web.UrlDispatcher) -> None:
        router.add_post("/upload/{file_id}/{secret}", self.upload)
        router.add_get("/files/{file_id}/{filename}", self.download)

    async def upload(self, request: web.Request) -> web.Response:
        """Take the bytes once; an unknown URL or a second POST is a 404."""
        file_id = request.match_info["file_id"]
        data = await _upload_bytes(request)
        args = {"file_id": file_id, "bytes": len(data)}
        status = self.sb.faults.take_status(UPLOAD_METHOD)
        if status is not None:
            await self.sb.log.record(UPLOAD_METHOD, args, status, {"ok": False})
            return web.Response(status=status, text=HTTPStatus(status).phrase)
        if not self.sb.ctx.files.receive(file_id, request.match_info["secret"], data):
            await self.sb.log.record(UPLOAD_METHOD, args, 404, {"ok": False})
            return web.Response(status=404, text="Not Found")
        await self.sb.log.record(UPLOAD_METHOD, args, 200, {"ok": True})
        return web.Response(text=f"OK - {len(data)}")

    async def download(self, request: web.Request) -> web.Response:
        """The stored bytes under their own name; `?download=1` asks to save them."""
        file = self.sb.ctx.files.get(request.match_info["file_id"])
        if file is None or file.name != request.match_info["filename"]:
            return web.Response(status=404, text="Not Found")
        headers: dict[str, str] = {}
        if request.query.get("download"):
            headers["Content-Disposition"] = f'attachment; filename="{_quoted(file.name)}"'
        return web.Response(body=file.content, content_type=file.mimetype, headers=headers)


async def _upload_bytes(request: web.Request) -> bytes:
    """slack_sdk sends the raw body; a multipart client sends the first file part."""
    if not request.content_type.startswith("multipart/"):
        return await request.read()
    reader = await request.multipart()
    async for part in reader:
        if isinstance(part, BodyPartReader) and part.filename is not None:
            return bytes(await part.read())
    return b""


def _quoted(name: str) -> str:
    return name.replace("\\", "_").replace('"', "_")
