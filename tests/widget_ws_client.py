"""A test visitor for the widget WebSocket: frames in, frames out, waits on what arrives."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

ORIGIN = "http://127.0.0.1:8000"
PAGE = {"url": f"{ORIGIN}/pricing", "referrer": "https://news.example.org/post", "title": "Pricing"}
UTM = {"source": "newsletter", "medium": "email", "campaign": "spring"}

#: Answers to the example script, by the kind of input the server asks for.
ANSWERS = {
    "email": "jane.doe@example.com",
    "number": "250",
    "phone": "+44 20 7946 0958",
}


class WidgetSocket:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.received: list[dict[str, Any]] = []

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send_str(json.dumps(frame))

    async def hello(self, token: str | None = None, **extra: Any) -> dict[str, Any]:
        frame = {"type": "hello", "page": PAGE, "utm": UTM, **extra}
        if token is not None:
            frame["token"] = token
        await self.send(frame)
        return await self.next("welcome")

    async def say(self, text: str, client_id: str | None = None) -> dict[str, Any]:
        client_id = client_id or uuid.uuid4().hex
        await self.send({"type": "message", "text": text, "client_id": client_id})
        return await self.next("ack", "error", where=lambda f: f.get("client_id") == client_id)

    async def next(
        self, *types: str, where: Callable[[dict[str, Any]], bool] | None = None, within: float = 5
    ) -> dict[str, Any]:
        """The next frame of one of `types` (others are kept in `received`)."""
        while True:
            msg = await self.ws.receive(timeout=within)
            if msg.type != aiohttp.WSMsgType.TEXT:
                raise ConnectionError(f"socket closed: {msg.type.name} {msg.data!r}")
            frame = json.loads(msg.data)
            self.received.append(frame)
            if frame.get("type") in types and (where is None or where(frame)):
                return frame

    async def answer_script(self, welcome: dict[str, Any]) -> list[dict[str, Any]]:
        """Answer whatever is asked until the chat is live; returns the state frames seen."""
        state = welcome["state"]
        seen: list[dict[str, Any]] = []
        texts = iter(["Jane Doe", "Initech", "More text"])
        while state["phase"] == "qualifying":
            await self.say(answer_for(state["input"], texts))
            state = await self.next("state")
            seen.append(state)
        return seen


def answer_for(hint: dict[str, Any] | None, texts: Iterator[str]) -> str:
    """A valid answer to the example script's question: choices take the second to last."""
    kind = (hint or {}).get("kind", "text")
    if kind == "choice":
        choices = (hint or {})["choices"]
        return str(choices[-2] if len(choices) > 1 else choices[0])
    if kind == "text":
        return next(texts)
    return ANSWERS[kind]


@asynccontextmanager
async def widget(base_url: str, origin: str = ORIGIN) -> AsyncIterator[WidgetSocket]:
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(f"{base_url}/widget/ws", headers={"Origin": origin}) as ws,
    ):
        yield WidgetSocket(ws)
