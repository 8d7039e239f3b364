"""`GET /widget/ws`: the chat widget's WebSocket (docs/widget-protocol.md).

An adapter: it checks the origin and the limits, parses each frame
(`widget_frames`), calls one use case on `Chat`, and answers. A frame is
refused before anything is stored; any unexpected failure becomes an
`unavailable` error frame (never a traceback), and the connection stays open.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from bot.chat import Chat, ConversationClosed, UnknownSession
from bot.chat_hub import ChatHub
from bot.chat_values import QUALIFYING, ChatState
from bot.clock import Clock
from bot.rate_limit import SlidingWindowLimiter
from handlers.http import Handler
from handlers.widget_frames import (
    FrameError,
    Hello,
    PageView,
    Read,
    Say,
    Simple,
    error_frame,
    history_entry,
    message_frame,
    parse_frame,
    state_frame,
)

log = logging.getLogger(__name__)

#: Close code for "too many new sessions from your address" (4000-4999: application codes).
CLOSE_RATE_LIMITED = 4429
MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class WidgetLimits:
    allows_origin: Callable[[str | None], bool]
    max_frame_bytes: int
    new_sessions_per_ip_per_minute: int
    messages_per_session_per_minute: int


CLOSED_TEXT = "This conversation has ended."


class _Connection:
    """One socket's conversation: nothing but `hello` until it has one."""

    def __init__(
        self,
        ws: web.WebSocketResponse,
        request: web.Request,
        chat: Chat,
        hub: ChatHub,
        new_sessions: SlidingWindowLimiter,
        messages: SlidingWindowLimiter,
    ) -> None:
        self.ws = ws
        self.request = request
        self.chat = chat
        self.hub = hub
        self.new_sessions = new_sessions
        self.messages = messages
        self.chat_id: str | None = None
        self.read_up_to = 0
        self.phase = QUALIFYING

    async def on_text(self, raw: str) -> None:
        client_id: str | None = None
        try:
            frame = parse_frame(raw)
            if isinstance(frame, Say):
                client_id = frame.client_id
            await self.dispatch(frame)
        except ConversationClosed:  # erased by /leads forget: a line or page view stores nothing
            await self.ws.send_json(error_frame("closed", CLOSED_TEXT, client_id))
        except FrameError as exc:
            await self.ws.send_json(error_frame(exc.code, exc.message, exc.client_id))
        except Exception as exc:  # a bug or the database: the visitor may resend later
            if isinstance(exc, ConnectionError):  # most likely the visitor left mid-answer
                log.info("widget frame failed: %s", type(exc).__name__)
            else:
                log.error("widget frame failed: %s", type(exc).__name__)
                log.debug("widget frame failure", exc_info=True)
            if not self.ws.closed:
                with contextlib.suppress(ConnectionError):  # a closing socket takes nothing
                    await self.ws.send_json(
                        error_frame(
                            "unavailable", "Could not handle that just now; retry.", client_id
                        )
                    )

    async def dispatch(self, frame: Hello | Say | PageView | Read | Simple) -> None:
        if isinstance(frame, Simple) and frame.type == "ping":
            await self.ws.send_json({"type": "pong"})
            return
        if isinstance(frame, Hello):
            await self.hello(frame)
            return
        chat_id = self.chat_id
        if chat_id is None:
            raise FrameError("not_ready", "Send hello first.")
        if isinstance(frame, Say):
            await self.say(chat_id, frame)
        elif isinstance(frame, PageView):
            self.limit(chat_id)
            await self.chat.view_page(chat_id, frame.visit)
        elif isinstance(frame, Read) and frame.up_to > self.read_up_to:
            # Only a higher `up_to` is written: a flood of reads writes nothing new.
            self.read_up_to = frame.up_to
            await self.chat.mark_read(chat_id, frame.up_to)
        # `typing`: there is nowhere in Slack to show a visitor typing; accepted, not stored.

    async def hello(self, frame: Hello) -> None:
        if self.chat_id is not None:
            raise FrameError("not_ready", "This connection already said hello.")
        opened = await self.chat.resume(frame.token, frame.visit) if frame.token else None
        if opened is None:
            if not self.new_sessions.allow(self.request.remote or "unknown"):
                await self.ws.send_json(
                    error_frame("rate_limited", "Too many new conversations; try again later.")
                )
                await self.ws.close(code=CLOSE_RATE_LIMITED, message=b"rate limited")
                return
            origin = self.request.headers.get("Origin")
            opened = await self.chat.start(frame.visit, origin=origin, ip=self.request.remote)
        self.chat_id = opened.session_id
        self.phase = opened.state.phase
        self.hub.join(opened.session_id, self.ws)
        await self.ws.send_json(
            {
                "type": "welcome",
                "token": opened.token,
                "session_id": opened.session_id,
                "resumed": opened.resumed,
                "history": [history_entry(line) for line in opened.history],
                "state": _state_body(opened.state),
            }
        )

    async def say(self, chat_id: str, frame: Say) -> None:
        self.limit(chat_id, frame.client_id)
        try:
            said = await self.chat.say(chat_id, frame.text, frame.client_id)
        except UnknownSession:
            raise FrameError(
                "unavailable", "This conversation is gone; reconnect.", frame.client_id
            ) from None
        await self.ws.send_json({"type": "ack", "client_id": frame.client_id, "seq": said.seq})
        if said.duplicate:
            return
        frames = [message_frame(line) for line in said.replies]
        # While qualifying every turn ends with `state`; once live, only the change to live does.
        if said.state.phase == QUALIFYING or said.state.phase != self.phase:
            frames.append(state_frame(said.state))
        self.phase = said.state.phase
        if frames:
            await self.hub.publish(chat_id, frames)

    def limit(self, chat_id: str, client_id: str | None = None) -> None:
        if not self.messages.allow(chat_id):
            raise FrameError("rate_limited", "Slow down a little, then resend.", client_id)


def _state_body(state: ChatState) -> dict[str, Any]:
    return {"phase": state.phase, "input": state.input}


def make_widget_ws(
    chat: Chat,
    hub: ChatHub,
    clock: Clock,
    limits: WidgetLimits,
    open_sockets: set[web.WebSocketResponse] | None = None,
) -> Handler:
    """The aiohttp handler, with its limiters (in-process, shared by its connections).

    Each connection is in `open_sockets` while it lasts, so that a shutting-down server
    can close them (`close_sockets`) instead of waiting for visitors to leave."""
    sockets = open_sockets if open_sockets is not None else set()
    new_sessions = SlidingWindowLimiter(
        clock, limit=limits.new_sessions_per_ip_per_minute, window=MINUTE
    )
    messages = SlidingWindowLimiter(
        clock, limit=limits.messages_per_session_per_minute, window=MINUTE
    )

    async def widget_ws(request: web.Request) -> web.StreamResponse:
        if not limits.allows_origin(request.headers.get("Origin")):
            raise web.HTTPForbidden(text="origin not allowed")
        ws = web.WebSocketResponse(max_msg_size=limits.max_frame_bytes)
        await ws.prepare(request)
        conn = _Connection(ws, request, chat, hub, new_sessions, messages)
        sockets.add(ws)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await conn.on_text(msg.data)
                elif msg.type == WSMsgType.BINARY:
                    await ws.send_json(error_frame("bad_frame", "Frames must be JSON text."))
        finally:
            sockets.discard(ws)
            if conn.chat_id is not None:
                hub.leave(conn.chat_id, ws)
        if not ws.closed:
            await ws.close(code=WSCloseCode.OK)
        return ws

    return widget_ws


async def close_sockets(open_sockets: set[web.WebSocketResponse]) -> None:
    """Close every open widget connection with 1001 (going away): the widget reconnects with
    its token and resumes, on this server once restarted or on another replica."""
    await asyncio.gather(
        *(
            ws.close(code=WSCloseCode.GOING_AWAY, message=b"server restarting")
            for ws in open_sockets
        ),
        return_exceptions=True,  # one broken socket must not keep the others open
    )
