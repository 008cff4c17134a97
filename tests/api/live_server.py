"""An ASGI app behind a real uvicorn server in a thread, for tests where the HTTP
server itself matters (headers it adds, raw bytes on the wire, a browser)."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

import uvicorn
from starlette.types import ASGIApp


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def serving(app: ASGIApp, port: int | None = None, **config: object) -> Iterator[str]:
    """Yields the base URL while uvicorn serves `app` (as `loyalty serve` does: no
    server banner) on `port`, or a free local port."""
    port = port or free_port()
    options = {"log_level": "warning", "server_header": False, **config}
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, **options))
    started = threading.Event()

    def run() -> None:
        server.run()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        while not server.started:  # waits for the port to open; times nothing
            if not thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            started.wait(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        if thread.is_alive():  # a response that never ends: stop without waiting for it
            server.force_exit = True
            thread.join(10)
        assert not thread.is_alive(), "the test server did not stop"
