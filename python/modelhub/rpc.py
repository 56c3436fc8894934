"""A JSON-RPC 2.0 connection over one WebSocket: calls, subscriptions, and errors that keep
their code and data (the node's ``modelhub_*`` methods and the workers' ``fast_*`` methods
answer typed errors through them)."""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any, AsyncIterator

import websockets
from websockets.asyncio.client import ClientConnection, connect

from .errors import ConnectionLost, Timeout


class CallError(Exception):
    """A JSON-RPC error answer: ``code``, ``message`` and ``data`` as the server sent them."""

    def __init__(self, code: int, message: str, data: Any = None):
        self.code = code
        self.message = message
        self.data = data
        super().__init__(f"{message} (code {code})")


def ws_url(url: str) -> str:
    """``http(s)://`` endpoints (as workers advertise them) as ``ws(s)://``."""
    if url.startswith("http://"):
        return "ws://" + url[len("http://") :]
    if url.startswith("https://"):
        return "wss://" + url[len("https://") :]
    return url


class Subscription:
    """The notifications of one subscription, in order; iterate with ``async for`` or
    :meth:`next`. Ends with :class:`ConnectionLost` if the connection closes."""

    def __init__(self, rpc: "JsonRpc", sid: str, unsubscribe: str):
        self._rpc = rpc
        self.id = sid
        self._unsubscribe = unsubscribe
        self.queue: asyncio.Queue = asyncio.Queue()

    async def next(self, timeout: float | None = None) -> Any:
        """The next notification's ``result``; raises ``asyncio.TimeoutError`` after
        ``timeout`` seconds, :class:`ConnectionLost` once the connection closed."""
        item = await asyncio.wait_for(self.queue.get(), timeout)
        if isinstance(item, BaseException):
            raise item
        return item

    def __aiter__(self) -> AsyncIterator[Any]:
        return self

    async def __anext__(self) -> Any:
        return await self.next()

    async def close(self) -> None:
        """Ends the subscription (best effort: a closed connection ended it already)."""
        self._rpc._subscriptions.pop(self.id, None)
        if not self._rpc.closed:
            try:
                await self._rpc.call(self._unsubscribe, [self.id], timeout=10)
            except (CallError, ConnectionLost, Timeout):
                pass


class JsonRpc:
    """One WebSocket connection serving concurrent calls and subscriptions."""

    def __init__(self, url: str):
        self.url = ws_url(url)
        self._ws: ClientConnection | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future] = {}
        self._subscriptions: dict[str, Subscription] = {}
        # Notifications that arrive before their subscription's id is known.
        self._early: dict[str, list[Any]] = {}
        self._reader: asyncio.Task | None = None
        self._lost: ConnectionLost | None = None

    @property
    def closed(self) -> bool:
        return self._ws is None or self._lost is not None

    async def connect(self, timeout: float = 30) -> "JsonRpc":
        try:
            self._ws = await connect(
                self.url, open_timeout=timeout, max_size=64 << 20, ping_interval=20, ping_timeout=60
            )
        except (OSError, asyncio.TimeoutError, websockets.InvalidHandshake, websockets.InvalidURI) as error:
            raise ConnectionLost(self.url, str(error) or type(error).__name__) from error
        self._reader = asyncio.get_running_loop().create_task(self._read())
        return self

    async def _read(self) -> None:
        assert self._ws is not None
        reason = "closed"
        try:
            async for raw in self._ws:
                message = json.loads(raw)
                if "id" in message and message["id"] in self._pending:
                    future = self._pending.pop(message["id"])
                    if not future.done():
                        future.set_result(message)
                elif "params" in message and isinstance(message["params"], dict):
                    params = message["params"]
                    sid = params.get("subscription")
                    if sid in self._subscriptions:
                        self._subscriptions[sid].queue.put_nowait(params.get("result"))
                    elif sid is not None:
                        self._early.setdefault(sid, []).append(params.get("result"))
        except websockets.ConnectionClosed as error:
            reason = str(error)
        except Exception as error:  # a malformed frame ends the connection as lost
            reason = repr(error)
        self._lost = ConnectionLost(self.url, reason)
        for future in self._pending.values():
            if not future.done():
                future.set_exception(self._lost)
        self._pending.clear()
        for subscription in self._subscriptions.values():
            subscription.queue.put_nowait(self._lost)

    async def call(self, method: str, params: Any, timeout: float = 60) -> Any:
        """The ``result`` of ``method``; raises :class:`CallError` for an error answer,
        :class:`Timeout` after ``timeout`` seconds, :class:`ConnectionLost`."""
        if self._lost is not None:
            raise self._lost
        if self._ws is None:
            raise ConnectionLost(self.url, "not connected")
        request_id = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        payload = json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
        try:
            await self._ws.send(payload)
            answer = await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError as error:
            raise Timeout(f"waiting for {method} at {self.url}", timeout) from error
        except websockets.ConnectionClosed as error:
            raise self._lost or ConnectionLost(self.url, str(error)) from error
        finally:
            self._pending.pop(request_id, None)
        if "error" in answer:
            error = answer["error"]
            raise CallError(int(error.get("code", 0)), str(error.get("message", "")), error.get("data"))
        return answer.get("result")

    async def subscribe(self, method: str, params: Any, unsubscribe: str, timeout: float = 60) -> Subscription:
        """Starts a subscription; its notifications queue up from the first one."""
        sid = await self.call(method, params, timeout)
        subscription = Subscription(self, sid, unsubscribe)
        self._subscriptions[sid] = subscription
        for item in self._early.pop(sid, []):
            subscription.queue.put_nowait(item)
        if self._lost is not None:
            subscription.queue.put_nowait(self._lost)
        return subscription

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)
