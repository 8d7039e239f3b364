"""A scripted stand-in for leadbot's widget WebSocket, faithful to docs/widget-protocol.md.

It serves the real `widget.js` through the real `handlers.widget_assets` routes, plus a
host page for the widget to be embedded in, and a `/widget/ws` that keeps conversations by
token, acknowledges visitor messages once per `client_id`, and records every frame. A test
plays the server's side: it pushes bot and rep messages, typing and state frames, drops the
connection or refuses new ones, and waits on what the widget sent — never on a sleep.
"""

from __future__ import annotations

import asyncio
import html
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSMsgType, web

from handlers import widget_assets

Frame = dict[str, Any]
MAX_TEXT = 2000
MAX_FRAME_BYTES = 8 * 1024


@dataclass
class Conversation:
    token: str
    session_id: str
    messages: list[Frame] = field(default_factory=list)
    acked: dict[str, int] = field(default_factory=dict)  # client_id -> seq
    state: Frame = field(default_factory=lambda: {"phase": "qualifying", "input": {"kind": "text"}})

    def add(self, author: str, text: str, **extra: Any) -> Frame:
        message = {
            "seq": len(self.messages) + 1,
            "author": author,
            "text": text,
            "at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            **extra,
        }
        self.messages.append(message)
        return message


class FakeWidgetServer:
    """One aiohttp app on a loopback port; `base_url` once started."""

    def __init__(self, *, reconnect_ms: int = 50, greeting: str | None = None) -> None:
        self.reconnect_ms = reconnect_ms
        self.greeting = greeting
        self.received: list[Frame] = []  # every client frame, in order, across connections
        self.conversations: dict[str, Conversation] = {}
        self.accepting = True
        self.ack_messages = True
        self.connections = 0
        self._open: list[tuple[web.WebSocketResponse, Conversation | None]] = []
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    # ---- lifecycle ----

    async def start(self) -> str:
        app = web.Application()
        widget_assets.register(app)
        app.router.add_get("/widget/ws", self._socket)
        app.router.add_get("/site/{name}", self._site)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    async def stop(self) -> None:
        await self.drop()
        if self._runner is not None:
            await self._runner.cleanup()

    # ---- what a test does ----

    @property
    def conversation(self) -> Conversation:
        """The conversation of the most recent connection that said hello."""
        for _ws, conversation in reversed(self._open):
            if conversation is not None:
                return conversation
        if not self.conversations:
            raise AssertionError("no conversation yet")
        return list(self.conversations.values())[-1]

    def frames(self, kind: str) -> list[Frame]:
        return [f for f in self.received if f.get("type") == kind]

    async def wait_for(
        self,
        kind: str,
        where: Callable[[Frame], bool] = lambda _f: True,
        count: int = 1,
        within: float = 5.0,
    ) -> list[Frame]:
        """The first `count` frames of this type that match, once the widget has sent them."""

        def matching() -> list[Frame]:
            return [f for f in self.frames(kind) if where(f)]

        async with self._changed:
            try:
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: len(matching()) >= count), within
                )
            except TimeoutError:
                raise AssertionError(
                    f"expected {count} {kind!r} frame(s); received: {self.received}"
                ) from None
        return matching()[:count]

    async def wait_connected(self, within: float = 5.0) -> None:
        """Until a connection has been welcomed."""
        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: any(c is not None for _w, c in self._open)),
                within,
            )

    async def push(self, frame: Frame) -> None:
        """Send a frame on every welcomed connection."""
        await self.wait_connected()
        for ws, conversation in list(self._open):
            if conversation is not None and not ws.closed:
                await ws.send_json(frame)

    async def say(self, text: str, author: str = "bot", **extra: Any) -> Frame:
        """A new bot or rep message: stored in the conversation, then pushed."""
        await self.wait_connected()
        message = self.conversation.add(author, text, **extra)
        await self.push({"type": "message", **message})
        return message

    async def set_input(self, kind: str, **extra: Any) -> None:
        conversation = self.conversation
        conversation.state = {
            "phase": conversation.state["phase"],
            "input": {"kind": kind, **extra},
        }
        await self.push({"type": "state", **conversation.state})

    async def drop(self) -> None:
        """Close every connection, as a restarting server or a lost network would."""
        for ws, _conversation in list(self._open):
            await ws.close()

    # ---- the HTTP side ----

    async def _site(self, request: web.Request) -> web.Response:
        """A host page, with CSS that would wreck an unisolated widget."""
        name = html.escape(request.match_info["name"])
        body = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Test site — {name}</title>
<style>
  button, div, input {{ font-family: serif; color: red; background: yellow; }}
  div {{ border: 4px dashed red; }}
  * {{ line-height: 3; }}
</style></head>
<body>
  <h1>{name}</h1>
  <a href="/site/home">Home</a> <a href="/site/pricing">Pricing</a>
  <script src="/widget.js" async data-title="Test Co"
          data-reconnect-ms="{self.reconnect_ms}"></script>
</body></html>"""
        return web.Response(text=body, content_type="text/html")

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        if not self.accepting:
            return web.Response(status=503, text="offline")
        ws = web.WebSocketResponse(max_msg_size=MAX_FRAME_BYTES)
        await ws.prepare(request)
        conversation: Conversation | None = None
        self._open.append((ws, None))
        self.connections += 1
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    await self._error(ws, "bad_frame", "Send JSON text frames.")
                    continue
                try:
                    frame = json.loads(msg.data)
                except ValueError:
                    frame = None
                if not isinstance(frame, dict):
                    await self._error(ws, "bad_json", "A frame is one JSON object.")
                    continue
                await self._record(frame)
                updated = await self._handle(ws, conversation, frame)
                if updated is not None and updated is not conversation:
                    conversation = updated
                    await self._set_open(ws, conversation)
        finally:
            self._open = [(w, c) for w, c in self._open if w is not ws]
        return ws

    async def _record(self, frame: Frame) -> None:
        async with self._changed:
            self.received.append(frame)
            self._changed.notify_all()

    async def _set_open(self, ws: web.WebSocketResponse, conversation: Conversation) -> None:
        async with self._changed:
            self._open = [(w, conversation if w is ws else c) for w, c in self._open]
            self._changed.notify_all()

    async def _error(
        self, ws: web.WebSocketResponse, code: str, message: str, client_id: str | None = None
    ) -> None:
        frame: Frame = {"type": "error", "code": code, "message": message}
        if client_id is not None:
            frame["client_id"] = client_id
        await ws.send_json(frame)

    async def _handle(
        self, ws: web.WebSocketResponse, conversation: Conversation | None, frame: Frame
    ) -> Conversation | None:
        kind = frame.get("type")
        if kind == "hello":
            if conversation is not None:
                await self._error(ws, "not_ready", "hello comes once per connection.")
                return conversation
            return await self._hello(ws, frame)
        if conversation is None:
            await self._error(ws, "not_ready", "Send hello first.")
            return None
        if kind == "message":
            await self._message(ws, conversation, frame)
        elif kind == "ping":
            await ws.send_json({"type": "pong"})
        elif kind not in ("typing", "read", "page_view"):
            await self._error(ws, "bad_frame", f"Unknown frame type {kind!r}.")
        return conversation

    async def _hello(self, ws: web.WebSocketResponse, frame: Frame) -> Conversation:
        token = frame.get("token")
        resumed = isinstance(token, str) and token in self.conversations
        if resumed:
            conversation = self.conversations[str(token)]
        else:
            conversation = Conversation(secrets.token_urlsafe(16), secrets.token_hex(8))
            self.conversations[conversation.token] = conversation
            if self.greeting:
                conversation.add("bot", self.greeting)
        await ws.send_json(
            {
                "type": "welcome",
                "token": conversation.token,
                "session_id": conversation.session_id,
                "resumed": resumed,
                "history": conversation.messages,
                "state": conversation.state,
            }
        )
        return conversation

    async def _message(
        self, ws: web.WebSocketResponse, conversation: Conversation, frame: Frame
    ) -> None:
        text, client_id = frame.get("text"), frame.get("client_id")
        if not isinstance(text, str) or not isinstance(client_id, str) or len(client_id) > 64:
            await self._error(ws, "bad_frame", "message needs text and client_id.")
            return
        if not 1 <= len(text) <= MAX_TEXT:
            await self._error(ws, "too_long", "Messages are 1 to 2000 characters.", client_id)
            return
        seq = conversation.acked.get(client_id)
        if seq is None:
            seq = conversation.add("visitor", text)["seq"]
            conversation.acked[client_id] = seq
        if self.ack_messages:
            await ws.send_json({"type": "ack", "client_id": client_id, "seq": seq})
