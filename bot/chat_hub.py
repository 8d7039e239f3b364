"""Which open widget sockets belong to which conversation, in this process.

New bot and rep messages are pushed through here to the visitor's open tabs.
It is only a fast path: every `hello` sends the whole history from the
database, so a visitor on another replica, or offline, still sees everything
on their next (re)connect.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Protocol

log = logging.getLogger(__name__)


class Socket(Protocol):
    async def send_str(self, data: str) -> None: ...


class ChatHub:
    def __init__(self) -> None:
        self._sockets: dict[str, set[Socket]] = {}

    def join(self, chat_id: str, socket: Socket) -> None:
        self._sockets.setdefault(chat_id, set()).add(socket)

    def leave(self, chat_id: str, socket: Socket) -> None:
        sockets = self._sockets.get(chat_id)
        if sockets is not None:
            sockets.discard(socket)
            if not sockets:
                del self._sockets[chat_id]

    def open_count(self, chat_id: str) -> int:
        return len(self._sockets.get(chat_id, ()))

    async def publish(self, chat_id: str, frames: list[dict[str, Any]]) -> None:
        """Send `frames`, in order, to every socket of the conversation; a dead one is dropped.

        Each frame is encoded once, however many tabs the visitor has open."""
        sockets = list(self._sockets.get(chat_id, ()))
        if not sockets:
            return
        encoded = [json.dumps(frame) for frame in frames]
        for socket in sockets:
            try:
                for text in encoded:
                    await socket.send_str(text)
            except (ConnectionError, RuntimeError) as exc:
                log.info("widget socket gone while pushing: %s", type(exc).__name__)
                self.leave(chat_id, socket)
