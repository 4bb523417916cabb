"""A throwaway PostgreSQL server for tests and benchmarks: ``initdb`` + ``pg_ctl`` in a temp dir.

Needs the PostgreSQL server binaries on the machine (``initdb``, ``pg_ctl``; Debian puts them
in /usr/lib/postgresql/N/bin). PostgreSQL refuses to run as root, so as root the server runs as
the ``postgres`` user. Listens on 127.0.0.1 only, trusts local connections, no fsync.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def binary(name: str) -> str | None:
    """Path of a PostgreSQL server binary, or None when not installed."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def available() -> bool:
    return binary("initdb") is not None and binary("pg_ctl") is not None


def require() -> None:
    """In a test: fail on CI when the server binaries are missing (CI must have them), skip
    elsewhere."""
    import pytest

    if not available():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL server binaries (initdb, pg_ctl) are missing on CI")
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")


class Server:
    """A private PostgreSQL server in a temp dir; ``stop()`` and ``start()`` it to test outages."""

    def __init__(self) -> None:
        initdb, pg_ctl = binary("initdb"), binary("pg_ctl")
        if not initdb or not pg_ctl:
            raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
        self.pg_ctl = pg_ctl
        self.root = Path(tempfile.mkdtemp(prefix="docintel-pg-"))
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.data = self.root / "data"
        subprocess.run(
            [*self.as_user, initdb, "-D", str(self.data), "-A", "trust", "-U", "postgres",
             "--no-sync"],
            check=True, capture_output=True,
        )  # fmt: skip
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            [*self.as_user, self.pg_ctl, "-D", str(self.data), "-o", options,
             "-l", str(self.root / "log"), "-w", "start"],
            check=True, capture_output=True,
        )  # fmt: skip

    def stop(self) -> None:
        subprocess.run(
            [*self.as_user, self.pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop"],
            capture_output=True,
        )  # fmt: skip

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def temporary_server() -> Iterator[Server]:
    """A started ``Server``; stopped and deleted after."""
    server = Server()
    try:
        server.start()
        yield server
    finally:
        server.remove()


@contextmanager
def temporary_postgres() -> Iterator[str]:
    """Start a private PostgreSQL server; yield its SQLAlchemy URL; stop and delete it after."""
    with temporary_server() as server:
        yield server.url


def new_database(url: str) -> str:
    """Create an empty database on the server at ``url``; return its URL."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + f"/{name}"
