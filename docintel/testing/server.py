"""An ASGI app on a real uvicorn on 127.0.0.1, in a thread: for tests, benches and examples."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def running(app: Any, *, ready: bool = True, timeout: float = 60) -> Iterator[str]:
    """Serve ``app`` on a free port; yield its base URL once started and, unless
    ``ready=False``, once ``/readyz`` answers 200 (the engine has loaded)."""
    import httpx
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))  # bound before uvicorn starts: no race for the port
    port = sock.getsockname()[1]
    if hasattr(app.state, "service"):  # docintel's app: with its read deadlines
        from docintel.http.app import uvicorn_config

        config = uvicorn_config(app, log_level="warning", lifespan="on")
    else:
        config = uvicorn.Config(app, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"uvicorn-{port}", daemon=True
    )
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        if ready:
            with httpx.Client(base_url=base, trust_env=False) as client:
                while client.get("/readyz").status_code != 200:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"not ready: {client.get('/readyz').text}")
                    time.sleep(0.02)
        yield base
    finally:
        server.should_exit = True
        thread.join(15)
        sock.close()
