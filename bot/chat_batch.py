"""Group commit for visitor turns: whatever is queued runs in one transaction.

Each `Chat.say` submits its turn and awaits a future. One worker task drains the
queue (up to `max_batch` turns) into `Turns.batch`; turns arriving meanwhile
wait for the next batch, so batches grow with load and a lone turn is never
delayed. The worker exists only while there is work: it starts on the running
loop at the first turn and ends when the queue is empty (an idle bot runs no
task and `close` has nothing to cancel).

If a batch's transaction fails (a unique violation from another replica, a
deadlock, a dropped connection), its turns run again one at a time through
`Turns.one`, so a bad turn fails only its own caller.

A turn that leaves its conversation to be captured (script finished, no lead)
*holds* the conversation: its caller is answered at once, the capture (`capture`)
runs on a second worker task, one group of captures at a time (whatever finished
meanwhile, in one transaction), and later turns of that
conversation wait until it is done, exactly as one-at-a-time turns would see the
lead. The finishing turn has committed before the capture starts, so a crash in
between loses nothing: the capture is redone by `Chat.capture_idle` (finished
conversations without a lead).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from bot.chat_turns import Turn, TurnResult

log = logging.getLogger(__name__)
_Item = TypeVar("_Item")

RunBatch = Callable[[Sequence[Turn]], Awaitable[list[TurnResult | Exception | None]]]
RunOne = Callable[[Turn], Awaitable[TurnResult]]
#: Captures finished conversations in one transaction: per result its error or None;
#: raises if the transaction failed.
Capture = Callable[[Sequence[TurnResult]], Awaitable[Sequence[Exception | None]]]


class TurnsClosed(RuntimeError):
    """The bot is shutting down: no new turns are taken."""


@dataclass(frozen=True)
class _Pending:
    turn: Turn
    future: asyncio.Future[TurnResult]


class TurnBatcher:
    """`max_batch=1` runs every turn through `run_one`: the unbatched path."""

    def __init__(
        self,
        run_batch: RunBatch,
        run_one: RunOne,
        capture: Capture,
        *,
        max_batch: int = 200,
        max_capture: int = 1,
    ) -> None:
        self._run_batch = run_batch
        self._run_one = run_one
        self._capture = capture
        self._max_batch = max_batch
        self._max_capture = max_capture
        self._queue: deque[_Pending] = deque()
        #: Conversations waiting for a capture → their turns, in arrival order.
        self._held: dict[str, list[_Pending]] = {}
        self._worker: asyncio.Task[None] | None = None
        #: Finished conversations waiting for their capture, captured one at a time.
        self._to_capture: deque[TurnResult] = deque()
        self._capturer: asyncio.Task[None] | None = None
        self._closed = False

    async def submit(self, turn: Turn) -> TurnResult:
        """Queue `turn` and wait for its result; its own exception is raised here.

        A result with `capture` set has started that conversation's capture."""
        if self._closed:
            raise TurnsClosed("conversation turns are shut down")
        future: asyncio.Future[TurnResult] = asyncio.get_running_loop().create_future()
        pending = _Pending(turn, future)
        held = self._held.get(turn.chat_id)
        if held is not None:
            held.append(pending)
        else:
            self._queue.append(pending)
            self._ensure_worker()
        return await future

    def capturing(self, chat_id: str) -> bool:
        """Whether a capture of `chat_id` is running in this process."""
        return chat_id in self._held

    def _release(self, chat_id: str) -> None:
        """The capture for `chat_id` is done (or failed): its held turns go next."""
        held = self._held.pop(chat_id, None)
        if held:
            self._queue.extendleft(reversed(held))
            self._ensure_worker()

    async def close(self) -> None:
        """Take no new turns; finish every queued and held one and every capture, then return."""
        self._closed = True
        while self._worker is not None or self._capturer is not None:
            if self._capturer is not None:
                await asyncio.shield(self._capturer)
            if self._worker is not None:
                await asyncio.shield(self._worker)

    def _start_capture(self, result: TurnResult) -> None:
        """Queue the capture. One capture group runs at a time: a capture holds the write
        lock for several statements, so a backlog of them all waiting on the lock would
        sit in front of every turn; one group at a time, a turn waits for one group at
        most. Captures queued meanwhile go together (up to `max_capture`), sharing one
        transaction, so a burst of finished conversations is not captured a commit each."""
        self._held.setdefault(result.row.id, [])
        self._to_capture.append(result)
        if self._capturer is None:
            self._capturer = asyncio.get_running_loop().create_task(
                self._capture_all(), name="leadbot-chat-captures"
            )

    async def _capture_all(self) -> None:
        try:
            while self._to_capture:
                count = min(self._max_capture, len(self._to_capture))
                group = [self._to_capture.popleft() for _ in range(count)]
                try:
                    failures = await self._capture_group(group)
                    for result, failure in zip(group, failures, strict=True):
                        if failure is not None:  # committed as finished: `capture_idle` retries
                            log.error(
                                "chat %s capture failed (%s); retried later",
                                result.row.id,
                                type(failure).__name__,
                            )
                            log.debug("chat capture failure", exc_info=failure)
                finally:
                    for result in group:
                        self._release(result.row.id)
        finally:
            self._capturer = None

    async def _capture_group(self, group: list[TurnResult]) -> list[Exception | None]:
        """The group's captures; if its transaction fails, each one again on its own, so
        one bad capture (or a lost connection mid-group) fails only itself."""
        try:
            return list(await self._capture(group))
        except Exception as exc:
            if len(group) == 1:
                return [exc]
            log.warning(
                "chat capture group of %d failed (%s); capturing one at a time",
                len(group),
                type(exc).__name__,
            )
        failures: list[Exception | None] = []
        for result in group:
            try:
                failures += await self._capture([result])
            except Exception as exc:
                failures.append(exc)
        return failures

    # ------------------------------------------------------------------ the worker

    def _ensure_worker(self) -> None:
        if self._worker is None and self._queue:
            self._worker = asyncio.get_running_loop().create_task(
                self._drain(), name="leadbot-chat-turns"
            )

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch: list[_Pending] = []
                while self._queue and len(batch) < self._max_batch:
                    pending = self._queue.popleft()
                    if pending.future.done():  # its caller is gone
                        continue
                    held = self._held.get(pending.turn.chat_id)
                    if held is not None:
                        held.append(pending)
                    else:
                        batch.append(pending)
                if batch:
                    await self._process(batch)
        finally:
            self._worker = None

    async def _process(self, batch: list[_Pending]) -> None:
        turns = [p.turn for p in batch]
        try:
            if self._max_batch == 1:
                results = await self._one_by_one(turns)
            else:
                try:
                    results = await self._run_batch(turns)
                except Exception as exc:
                    log.warning(
                        "chat turn batch of %d failed (%s); running its turns one at a time",
                        len(turns),
                        type(exc).__name__,
                    )
                    results = await self._one_by_one(turns)
        except BaseException:  # the worker itself is cancelled: so are its callers
            for pending in batch:
                pending.future.cancel()
            raise
        self._deliver(batch, results)

    async def _one_by_one(self, turns: Sequence[Turn]) -> list[TurnResult | Exception | None]:
        results: list[TurnResult | Exception | None] = []
        capturing: set[str] = set()
        for turn in turns:
            if turn.chat_id in capturing:
                results.append(None)
                continue
            try:
                result = await self._run_one(turn)
            except Exception as exc:
                results.append(exc)
                continue
            if result.capture is not None:
                capturing.add(turn.chat_id)
            results.append(result)
        return results

    def _deliver(
        self, batch: list[_Pending], results: Sequence[TurnResult | Exception | None]
    ) -> None:
        not_run: list[_Pending] = []
        for pending, result in zip(batch, results, strict=True):
            chat_id = pending.turn.chat_id
            if result is None:
                held = self._held.get(chat_id)
                if held is not None:
                    held.append(pending)
                else:  # no capture holds the conversation (any more): run it next
                    not_run.append(pending)
            elif isinstance(result, Exception):
                if not pending.future.done():
                    pending.future.set_exception(result)
            else:
                if not pending.future.done():
                    pending.future.set_result(result)
                if result.capture is not None:
                    self._start_capture(result)
        self._queue.extendleft(reversed(not_run))


class GroupCommit(Generic[_Item]):
    """Group commit for independent writes (new conversations): whatever is queued is
    stored by one `store` call, in one transaction; a failed group is stored again one
    item at a time, so a bad item fails only its own caller. Like `TurnBatcher`, its
    worker task exists only while there is work."""

    def __init__(
        self, store: Callable[[Sequence[_Item]], Awaitable[None]], *, max_batch: int = 200
    ) -> None:
        self._store = store
        self._max_batch = max_batch
        self._queue: deque[tuple[_Item, asyncio.Future[None]]] = deque()
        self._worker: asyncio.Task[None] | None = None
        self._closed = False

    async def submit(self, item: _Item) -> None:
        """Queue `item`; return once it is committed (its own error is raised here)."""
        if self._closed:
            raise TurnsClosed("conversations are shut down")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if self._worker is None:
            self._worker = asyncio.get_running_loop().create_task(
                self._drain(), name="leadbot-chat-starts"
            )
        await future

    async def close(self) -> None:
        self._closed = True
        if self._worker is not None:
            await asyncio.shield(self._worker)

    async def _drain(self) -> None:
        try:
            while self._queue:
                group = [
                    self._queue.popleft() for _ in range(min(self._max_batch, len(self._queue)))
                ]
                group = [(item, future) for item, future in group if not future.done()]
                if group:
                    await self._commit(group)
        finally:
            self._worker = None

    async def _commit(self, group: list[tuple[_Item, asyncio.Future[None]]]) -> None:
        try:
            try:
                await self._store([item for item, _ in group])
                outcomes: list[BaseException | None] = [None] * len(group)
            except Exception as exc:
                if len(group) == 1:
                    outcomes = [exc]
                else:
                    log.warning(
                        "group of %d failed (%s); one at a time", len(group), type(exc).__name__
                    )
                    outcomes = [await self._one(item) for item, _ in group]
        except BaseException:  # the worker itself is cancelled: so are its callers
            for _, future in group:
                future.cancel()
            raise
        for (_, future), outcome in zip(group, outcomes, strict=True):
            if future.done():
                continue
            if outcome is None:
                future.set_result(None)
            else:
                future.set_exception(outcome)

    async def _one(self, item: _Item) -> BaseException | None:
        try:
            await self._store([item])
        except Exception as exc:
            return exc
        return None
