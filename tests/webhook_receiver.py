"""A real HTTP receiver for webhook tests: a Starlette app under uvicorn on a loopback
port (tests/api/live_server.py), recording every request and answering with the
status its test chooses."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.api.live_server import serving


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    status: int


@dataclass
class Receiver:
    url: str = ""
    requests: list[Received] = field(default_factory=list)
    answer: Callable[[int], int] = lambda n: 200
    """The status for the n-th request (1-based)."""
    hold: threading.Event | None = None
    """When set to an Event, each request waits for it before answering."""
    arrived: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def succeeded(self) -> list[Received]:
        return [r for r in self.requests if 200 <= r.status < 300]


@contextlib.contextmanager
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    async def hook(request: Request) -> Response:
        body = await request.body()
        with state.lock:
            status = state.answer(len(state.requests) + 1)
            state.requests.append(Received(dict(request.headers), body, status))
        state.arrived.set()
        if state.hold is not None:
            import asyncio

            await asyncio.to_thread(state.hold.wait, 60)
        return Response(b"" if status < 300 else b"nope", status_code=status)

    app = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
    with serving(app) as base:
        state.url = f"{base}/hook"
        yield state
