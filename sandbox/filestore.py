"""Uploaded files: reservations waiting for their bytes, and finished files.

Slack's external upload is three steps (reserve a URL, POST the bytes to it,
complete). The store keeps each step's state so the Web API methods can give
Slack's errors (`file_not_found` until the bytes land) and the HTTP routes
can take the bytes and serve them back. HTTP-free and Slack-error-free on
purpose: the rules live in `api_files`, the transport in `file_routes`.
"""

from __future__ import annotations

import hmac
import mimetypes
import secrets
import struct
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# Slack's `filetype` where it differs from the lower-cased extension.
_FILETYPES = {"txt": "text", "jpeg": "jpg", "md": "markdown", "py": "python", "yml": "yaml"}
_PRETTY = {"text": "Plain Text", "binary": "Binary", "markdown": "Markdown (raw)"}


@dataclass
class PendingUpload:
    """A `files.getUploadURLExternal` reservation; `data` is set once the POST lands."""

    file_id: str
    filename: str
    length: int
    secret: str
    alt_txt: str | None = None
    snippet_type: str | None = None
    data: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Share:
    """Where a completed file was posted: one file-share message."""

    channel_id: str
    channel_name: str
    is_private: bool
    ts: str
    thread_ts: str | None = None


@dataclass(frozen=True)
class SharedFile:
    """A completed upload, as `files.info` describes it (plus its bytes)."""

    id: str
    name: str
    title: str
    user: str
    created: int
    content: bytes = field(repr=False)
    alt_txt: str | None = None
    snippet_type: str | None = None
    shares: tuple[Share, ...] = ()

    @property
    def size(self) -> int:
        return len(self.content)

    @property
    def mimetype(self) -> str:
        guessed = mimetypes.guess_type(self.name)[0]
        if guessed is not None:
            return guessed
        return "text/plain" if self.snippet_type else "application/octet-stream"

    @property
    def filetype(self) -> str:
        if self.snippet_type:
            return self.snippet_type
        _, dot, ext = self.name.rpartition(".")
        ext = ext.lower()
        if not dot or not ext:
            return "binary"
        return _FILETYPES.get(ext, ext)

    def path(self) -> str:
        """Where the sandbox serves the bytes, relative to its base URL."""
        return f"/files/{self.id}/{urllib.parse.quote(self.name)}"

    def to_api(
        self, base_url: str, team_id: str, team_domain: str, *, with_shares: bool = True
    ) -> dict[str, Any]:
        """Slack's file object; message `files` entries leave out `shares`."""
        url = base_url + self.path()
        out: dict[str, Any] = {
            "id": self.id,
            "created": self.created,
            "timestamp": self.created,
            "name": self.name,
            "title": self.title,
            "mimetype": self.mimetype,
            "filetype": self.filetype,
            "pretty_type": _PRETTY.get(self.filetype, self.filetype.upper()),
            "user": self.user,
            "user_team": team_id,
            "editable": bool(self.snippet_type),
            "size": self.size,
            "mode": "snippet" if self.snippet_type else "hosted",
            "is_external": False,
            "external_type": "",
            "is_public": any(not s.is_private for s in self.shares),
            "public_url_shared": False,
            "display_as_bot": False,
            "username": "",
            "url_private": url,
            "url_private_download": url + "?download=1",
            "permalink": f"https://{team_domain}.slack.com/files/{self.user}/{self.id}/{self.name}",
            "has_rich_preview": False,
            "file_access": "visible",
        }
        if self.alt_txt is not None:
            out["alt_txt"] = self.alt_txt
        if self.mimetype.startswith("image/"):
            out["thumb_360"] = url
            size = png_size(self.content)
            if size is not None:
                out["original_w"], out["original_h"] = size
        if with_shares:
            out["channels"] = [s.channel_id for s in self.shares if not s.is_private]
            out["groups"] = [s.channel_id for s in self.shares if s.is_private]
            out["ims"] = []
            out["shares"] = _shares_json(self.shares, team_id, self.user)
        return out


class FileStore:
    """Reservations by file id, and completed files in upload order."""

    def __init__(self) -> None:
        self._pending: dict[str, PendingUpload] = {}
        self._files: dict[str, SharedFile] = {}

    def reserve(
        self,
        file_id: str,
        filename: str,
        length: int,
        alt_txt: str | None = None,
        snippet_type: str | None = None,
    ) -> PendingUpload:
        """Hold a slot; the secret makes the upload URL unguessable like Slack's."""
        pending = PendingUpload(
            file_id, filename, length, secrets.token_urlsafe(16), alt_txt, snippet_type
        )
        self._pending[file_id] = pending
        return pending

    def receive(self, file_id: str, secret: str, data: bytes) -> bool:
        """Take the bytes for a reservation; False for an unknown URL or a second POST."""
        pending = self._pending.get(file_id)
        if pending is None or pending.data is not None:
            return False
        if not hmac.compare_digest(pending.secret, secret):
            return False
        pending.data = data
        return True

    def pending(self, file_id: str) -> PendingUpload | None:
        return self._pending.get(file_id)

    def store(self, file: SharedFile) -> None:
        """Keep a completed file; its reservation is used up."""
        self._pending.pop(file.id, None)
        self._files[file.id] = file

    def get(self, file_id: str) -> SharedFile | None:
        return self._files.get(file_id)

    def all(self) -> list[SharedFile]:
        return list(self._files.values())


def png_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG's IHDR chunk, so the page can size the image."""
    if len(data) < 24 or not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def _shares_json(shares: tuple[Share, ...], team_id: str, user: str) -> dict[str, Any]:
    out: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for share in shares:
        entry: dict[str, Any] = {
            "reply_users": [],
            "reply_users_count": 0,
            "reply_count": 0,
            "ts": share.ts,
            "channel_name": share.channel_name,
            "team_id": team_id,
            "share_user_id": user,
            "source": "UNKNOWN",
            "is_silent_share": False,
        }
        if share.thread_ts is not None:
            entry["thread_ts"] = share.thread_ts
        kind = "private" if share.is_private else "public"
        out.setdefault(kind, {}).setdefault(share.channel_id, []).append(entry)
    return out
