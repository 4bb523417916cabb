"""Running the app on uvicorn with the read deadlines uvicorn lacks, and the body limit."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from docintel.http.problems import problem
from docintel.settings import Settings


class BodyLimit:
    """413 for bodies over ``limit`` bytes, declared or streamed, before anything parses them;
    408 for a body still arriving after ``seconds`` (a client trickling it holds a slot)."""

    def __init__(self, app: ASGIApp, limit: int, seconds: float) -> None:
        self.app, self.limit, self.seconds = app, limit, seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        too_large = problem(
            413,
            "input-too-large",
            f"the request body is over {self.limit} bytes (DOCINTEL_MAX_UPLOAD_BYTES): "
            "send a smaller file or fewer pages",
        )
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await too_large(scope, receive, send)
            return
        seen = 0
        deadline = time.monotonic() + self.seconds
        complete = False

        async def limited() -> Message:
            nonlocal seen, complete
            if complete:  # the body is in: later receives wait for a disconnect, unbounded
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                raise _TooSlow from None
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise _TooLarge
            complete = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await too_large(scope, receive, send)
        except _TooSlow:
            slow = problem(
                408,
                "body-timeout",
                f"the request body took over {self.seconds:g} s to arrive "
                "(DOCINTEL_BODY_TIMEOUT): send it faster or send a smaller file",
                headers={"Connection": "close"},
            )
            await slow(scope, receive, send)


class _TooLarge(Exception):
    pass


class _TooSlow(Exception):
    pass


def serve(app: FastAPI, settings: Settings, *, host: str, port: int, log_level: str) -> None:
    """Run ``app`` on uvicorn (see ``uvicorn_config``)."""
    import uvicorn

    uvicorn.Server(uvicorn_config(app, host=host, port=port, log_level=log_level)).run()


def uvicorn_config(app: FastAPI, **options: Any) -> Any:
    """uvicorn settings for ``app`` with the read deadlines uvicorn lacks: headers here, the
    body in ``BodyLimit``. In production the service belongs behind a reverse proxy all the
    same: TLS, connection limits and per-client rates are the proxy's job."""
    import uvicorn

    settings: Settings = app.state.service.settings
    return uvicorn.Config(
        app, http=_header_deadline(settings.header_timeout), timeout_keep_alive=5, **options
    )


def _header_deadline(seconds: float) -> type:
    """uvicorn's h11 protocol, with a deadline on each request's headers: uvicorn has none,
    so a client sending one header byte at a time could hold a connection forever."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class HeaderDeadline(H11Protocol):
        _timer: asyncio.TimerHandle | None = None
        _started: object = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.cycle is not None and self.cycle is not self._started:
                self._started = self.cycle  # this request's headers are in
                self._disarm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._arm()  # the next request on this connection is on the clock again

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._disarm()
            self._timer = self.loop.call_later(seconds, self._expire)

        def _disarm(self) -> None:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

        def _expire(self) -> None:
            if not self.transport.is_closing():
                self.transport.close()

    return HeaderDeadline
