from __future__ import annotations

import http.server
import importlib.util
import io
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def truth() -> dict:
    return json.loads((FIXTURES / "truth.json").read_text())


@pytest.fixture(scope="session")
def generator() -> ModuleType:
    """fixtures/generate.py, imported by path (fixtures/ is not a package)."""
    spec = importlib.util.spec_from_file_location("fixture_generate", FIXTURES / "generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


Handler = Callable[[http.server.BaseHTTPRequestHandler], None]


@pytest.fixture
def http_server() -> Iterator[Callable[[dict[str, Handler]], str]]:
    """A real HTTP server on 127.0.0.1; give it {path: handler}, get its base URL."""
    servers: list[http.server.ThreadingHTTPServer] = []

    def start(routes: dict[str, Handler]) -> str:
        class RequestHandler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                handler = routes.get(self.path.split("?")[0])
                if handler is None:
                    self.send_error(404)
                else:
                    handler(self)

            def log_message(self, *args: object) -> None:
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RequestHandler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def send_bytes(data: bytes, content_type: str = "application/octet-stream") -> Handler:
    def handler(req: http.server.BaseHTTPRequestHandler) -> None:
        req.send_response(200)
        req.send_header("Content-Type", content_type)
        req.send_header("Content-Length", str(len(data)))
        req.end_headers()
        req.wfile.write(data)

    return handler


def image_bytes(fmt: str, size: tuple[int, int] = (600, 800), **save: object) -> bytes:
    """A page-like image (text lines drawn) encoded as ``fmt``."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    for i in range(12):
        draw.text((40, 40 + i * 50), f"Line {i} of a generated page for format {fmt}", fill="black")
    buf = io.BytesIO()
    image.save(buf, format=fmt, **save)
    return buf.getvalue()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A real PostgreSQL server for this test session (CI must have one: no skip there)."""
    from docintel.testing import postgres

    postgres.require()
    with postgres.temporary_postgres() as url:
        yield url


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """An empty database of its own for one test."""
    from docintel.testing.postgres import new_database

    return new_database(postgres_server)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each store test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return request.getfixturevalue("postgres_url")
