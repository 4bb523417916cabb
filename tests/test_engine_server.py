"""ServerEngine against a real vLLM OpenAI-compatible server (tiny Pixtral, CPU); retries."""

from __future__ import annotations

import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from engine_schemas import (
    PROMPT,
    Doc,
    assert_catalog_decodes,
    assert_retry_after_failed_check,
    request,
    sample_page,
)
from PIL import Image

from docintel.engines.base import GenerationRequest
from docintel.engines.server import ServerEngine

API_KEY = "test-key-123"
STARTUP_TIMEOUT = 180.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tail(path: Path, lines: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real vLLM server on 127.0.0.1 serving the tiny model, with an API key."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from docintel.engines._torch_compat import ensure_torchvision

    ensure_torchvision()
    pytest.importorskip("vllm")
    from docintel.testing.tiny_pixtral import build, default_path

    model = build(default_path())
    port = free_port()
    log_path = tmp_path_factory.mktemp("vllm-server") / "server.log"
    command = [
        sys.executable, "-m", "docintel.engines.vllm_serve",
        "--model", str(model),
        "--host", "127.0.0.1",
        "--port", str(port),
        "--max-model-len", "4096",
        "--api-key", API_KEY,
        # Tests only: no torch.compile (~12 s) and a small profiling image (~13 s at 1024 px).
        "--enforce-eager",
        "--limit-mm-per-prompt", json.dumps({"image": {"count": 2, "width": 128, "height": 128}}),
    ]  # fmt: skip
    # One OpenMP thread: on a small shared box two threads spin at every barrier while another
    # process holds a core (~9 instead of ~120 tokens/s).
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    started = time.monotonic()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    probe = ServerEngine(url, "probe", timeout=5)
    try:
        while not probe.ready(timeout=1.0):
            if proc.poll() is not None or time.monotonic() - started > STARTUP_TIMEOUT:
                print(tail(log_path))
                pytest.fail(f"vLLM server did not come up (exit code {proc.poll()})")
        print(f"vLLM server ready in {time.monotonic() - started:.1f} s")
        yield url
    finally:
        probe.close()
        proc.send_signal(signal.SIGTERM)  # vLLM shuts its engine process down on SIGTERM
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            print(tail(log_path))


@pytest.fixture(scope="module")
def page() -> Image.Image:
    return sample_page()


def test_extracts_valid_json_concurrently(server: str, page: Image.Image) -> None:
    with ServerEngine(server, api_key=API_KEY, concurrency=4) as engine:
        assert Path(engine.model).name  # asked from /v1/models
        requests = [request(page, seed=i, prompt=PROMPT + " Be precise." * i) for i in range(4)]
        started = time.perf_counter()
        outputs = engine.generate(requests)
        elapsed = time.perf_counter() - started
    assert len(outputs) == 4
    for out in outputs:
        assert out.finish_reason == "stop", out
        Doc.model_validate_json(out.text)
        assert out.completion_tokens > 0
    tokens = [out.prompt_tokens for out in outputs]
    assert tokens[0] > 54 and tokens == sorted(set(tokens)), tokens  # order kept
    rate = sum(o.completion_tokens for o in outputs) / elapsed
    print(f"server batch of 4: {elapsed:.2f} s, {rate:.0f} completion tokens/s")


def test_every_catalog_schema_decodes_under_the_default_backend(
    server: str, page: Image.Image
) -> None:
    """The launcher's default grammar backend (guidance) decodes the whole catalog."""
    with ServerEngine(server, api_key=API_KEY, concurrency=4) as engine:
        assert_catalog_decodes(engine, page)
        assert_retry_after_failed_check(engine, page)


def test_structured_outputs_field_and_seeds(server: str, page: Image.Image) -> None:
    with ServerEngine(server, api_key=API_KEY, structured="structured_outputs") as engine:
        first = engine.generate([request(page, seed=5), request(page, seed=6)])
        second = engine.generate([request(page, seed=5), request(page, seed=6)])
    assert [o.text for o in first] == [o.text for o in second]
    for out in first:
        assert out.finish_reason == "stop", out
        Doc.model_validate_json(out.text)


def test_token_limit_reports_length(server: str, page: Image.Image) -> None:
    with ServerEngine(server, api_key=API_KEY) as engine:
        (out,) = engine.generate([request(page, max_tokens=4)])
    assert out.finish_reason == "length"
    assert out.completion_tokens == 4


def test_wrong_api_key_fails_without_retry(server: str, page: Image.Image) -> None:
    with ServerEngine(server, "any", api_key="wrong", retries=3, backoff=1.0) as engine:
        (out,) = engine.generate([request(page)])
        assert engine.attempts == 1  # 401 is final: no retries, no backoff
    assert out.finish_reason == "error"
    assert "401" in (out.error or "")


def test_connection_refused_retries_with_backoff() -> None:
    port = free_port()  # bound then closed: nothing listens, connections are refused
    with ServerEngine(f"http://127.0.0.1:{port}", "m", retries=2, backoff=0.2) as engine:
        started = time.perf_counter()
        outputs = engine.generate([GenerationRequest(prompt="x", schema=Doc)])
        elapsed = time.perf_counter() - started
        assert engine.attempts == 3
        assert not engine.ready(timeout=0.3, interval=0.1)
    assert outputs[0].finish_reason == "error"
    assert "3 attempts" in (outputs[0].error or "")
    assert "ConnectError" in (outputs[0].error or "")
    assert elapsed >= 0.2 + 0.4  # backoff 0.2 s, then 0.4 s


def test_server_errors_are_retried_then_succeed() -> None:
    """A real HTTP server that answers 503 twice, then a completion."""
    calls: list[dict] = []
    answer = {
        "choices": [{"message": {"content": '{"number":"AB-123"}'}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 11, "completion_tokens": 7},
    }

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            calls.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            status, body = (503, b"busy") if len(calls) <= 2 else (200, json.dumps(answer).encode())
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_port}/v1"
        with ServerEngine(url, "m", retries=3, backoff=0.01) as engine:
            (out,) = engine.generate([GenerationRequest(prompt="x", schema=Doc)])
            assert engine.attempts == 3
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert (out.finish_reason, out.text) == ("stop", '{"number":"AB-123"}')
    assert (out.prompt_tokens, out.completion_tokens) == (11, 7)
    body = calls[-1]
    assert body["model"] == "m" and body["response_format"]["json_schema"]["strict"] is True
    assert body["response_format"]["json_schema"]["schema"]["$defs"]["Item"]["properties"]["qty"][
        "enum"
    ] == list(range(100))
    content = body["messages"][-1]["content"]
    assert content[-1] == {"type": "text", "text": "x"}
