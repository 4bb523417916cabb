"""MicroBatcher: concurrent callers share engine batches, each gets back exactly its own outputs.

The engine here is a recorder: it answers each request with the request's id and remembers
every batch it was given (as lists of ids), so a test can see how calls were merged. A gate
(a ``threading.Event``) holds a batch inside the engine for as long as a test needs, so the
tests that depend on what is queued meanwhile are deterministic rather than timed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from pydantic import BaseModel

from docintel.engines.base import Capabilities, GenerationOutput, GenerationRequest
from docintel.engines.batching import MicroBatcher
from docintel.errors import EngineUnavailable


class _Answer(BaseModel):
    text: str


class Recorder:
    """An engine that answers each request with its id and records the batches."""

    name = "recorder"
    model = "recorder-model"
    capabilities = Capabilities(deterministic=True)

    def __init__(self, *, delay: float = 0.0, fail_on: str | None = None) -> None:
        self.delay = delay
        self.fail_on = fail_on  # raise for any batch holding a request with this id
        self.batches: list[list[str]] = []
        self.gate = threading.Event()
        self.gate.set()  # open: batches run at once
        self.entered = threading.Event()  # set when a batch reaches the engine
        self.closed = False
        self.threads: set[str] = set()

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationOutput]:
        self.threads.add(threading.current_thread().name)
        ids = [r.id for r in requests]
        self.batches.append(ids)
        self.entered.set()
        self.gate.wait(10)
        if self.delay:
            time.sleep(self.delay)
        if self.fail_on is not None and self.fail_on in ids:
            raise ConnectionError(f"engine down (batch {ids})")
        return [GenerationOutput(f"out-{i}", "stop", prompt_tokens=1) for i in ids]

    def close(self) -> None:
        self.closed = True


def req(rid: str) -> GenerationRequest:
    return GenerationRequest(prompt="p", schema=_Answer, id=rid)


def calls(*ids: str) -> list[GenerationRequest]:
    return [req(i) for i in ids]


@pytest.fixture
def make() -> Iterator[Callable[..., tuple[MicroBatcher, Recorder]]]:
    made: list[MicroBatcher] = []

    def build(engine: Recorder | None = None, **kwargs: Any) -> tuple[MicroBatcher, Recorder]:
        engine = engine or Recorder()
        batcher = MicroBatcher(engine, **kwargs)
        made.append(batcher)
        return batcher, engine

    yield build
    for batcher in made:
        batcher.engine.gate.set()  # type: ignore[attr-defined]
        batcher.close()


def concurrently(fns: Sequence[Callable[[], Any]], timeout: float = 20) -> list[Any]:
    """Run each fn in its own thread, released together; their results (or exceptions)."""
    results: list[Any] = [None] * len(fns)
    barrier = threading.Barrier(len(fns))

    def call(i: int) -> None:
        barrier.wait()
        try:
            results[i] = fns[i]()
        except Exception as exc:  # handed back for the test to inspect
            results[i] = exc

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(fns))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
        assert not t.is_alive(), "a caller is still blocked in generate()"
    return results


def texts(outputs: list[GenerationOutput]) -> list[str]:
    return [o.text for o in outputs]


def wait_until(predicate: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.005)


# ---- the adapter --------------------------------------------------------------------------


def test_mirrors_the_engine_and_is_thread_safe(make) -> None:
    batcher, _ = make()
    assert (batcher.name, batcher.model) == ("recorder", "recorder-model")
    assert batcher.capabilities == Capabilities(deterministic=True, thread_safe=True)
    assert batcher.waiting == 0


def test_empty_call_never_reaches_the_engine(make) -> None:
    batcher, engine = make()
    assert batcher.generate([]) == []
    assert engine.batches == []


def test_single_caller_gets_its_outputs_in_order(make) -> None:
    batcher, engine = make(window=0.0)
    assert texts(batcher.generate(calls("a", "b", "c"))) == ["out-a", "out-b", "out-c"]
    assert engine.batches == [["a", "b", "c"]]
    # The engine runs on the dispatcher thread, never on the caller's.
    assert engine.threads == {"batcher"}


# ---- merging ------------------------------------------------------------------------------


def test_concurrent_callers_are_merged_within_the_window(make) -> None:
    batcher, engine = make(window=0.5, max_batch=32)
    results = concurrently([lambda i=i: batcher.generate(calls(f"r{i}")) for i in range(6)])
    assert [texts(r) for r in results] == [[f"out-r{i}"] for i in range(6)]
    # All six arrived well within half a second of the first: one engine batch.
    assert len(engine.batches) == 1
    assert sorted(engine.batches[0]) == [f"r{i}" for i in range(6)]
    assert batcher.waiting == 0


def test_each_caller_gets_exactly_its_own_outputs_in_order(make) -> None:
    batcher, engine = make(window=0.3, max_batch=64)
    sizes = [1, 3, 2, 5, 1, 4]
    fns = [
        lambda c=c, n=n: batcher.generate(calls(*(f"c{c}-{k}" for k in range(n))))
        for c, n in enumerate(sizes)
    ]
    results = concurrently(fns)
    for c, (n, outputs) in enumerate(zip(sizes, results, strict=True)):
        assert texts(outputs) == [f"out-c{c}-{k}" for k in range(n)]
    assert sum(len(b) for b in engine.batches) == sum(sizes)
    assert max(len(b) for b in engine.batches) > max(sizes)  # callers really were merged
    # Inside a batch, a caller's requests are contiguous and in its order.
    for batch in engine.batches:
        owners = [rid.split("-")[0] for rid in batch]
        assert owners == sorted(owners, key=owners.index)  # grouped
        for owner in set(owners):
            own = [rid for rid in batch if rid.startswith(owner + "-")]
            assert own == sorted(own, key=lambda r: int(r.split("-")[1]))


def test_max_batch_is_respected_when_merging(make) -> None:
    batcher, engine = make(window=0.3, max_batch=3)
    results = concurrently([lambda i=i: batcher.generate(calls(f"r{i}")) for i in range(7)])
    assert [texts(r) for r in results] == [[f"out-r{i}"] for i in range(7)]
    assert all(len(b) <= 3 for b in engine.batches), engine.batches
    assert sorted(r for b in engine.batches for r in b) == sorted(f"r{i}" for i in range(7))
    assert len(engine.batches) >= 3


def test_max_batch_is_respected_for_multi_request_callers(make) -> None:
    # Two callers of two requests each must not be merged into a batch of four when the
    # limit is three: the second caller's call starts the next batch instead.
    batcher, engine = make(window=0.3, max_batch=3)
    fns = [lambda c=c: batcher.generate(calls(f"c{c}-0", f"c{c}-1")) for c in range(4)]
    results = concurrently(fns)
    for c, outputs in enumerate(results):
        assert texts(outputs) == [f"out-c{c}-0", f"out-c{c}-1"]
    assert all(len(b) <= 3 for b in engine.batches), engine.batches
    assert sum(len(b) for b in engine.batches) == 8
    assert batcher.waiting == 0


def test_a_call_larger_than_max_batch_stays_in_one_batch(make) -> None:
    batcher, engine = make(window=0.05, max_batch=2)
    out = batcher.generate(calls("a", "b", "c", "d", "e"))
    assert texts(out) == [f"out-{x}" for x in "abcde"]
    assert engine.batches == [["a", "b", "c", "d", "e"]]


def first_then_three(batcher: MicroBatcher, engine: Any) -> None:
    """One call held inside the engine while three more queue behind it; then all finish."""
    engine.gate.clear()
    first = threading.Thread(target=batcher.generate, args=(calls("first"),))
    first.start()
    assert engine.entered.wait(5)
    later = [threading.Thread(target=batcher.generate, args=(calls(f"w{i}"),)) for i in range(3)]
    for t in later:
        t.start()
    wait_until(lambda: batcher.waiting == 3)
    engine.gate.set()
    for t in [first, *later]:
        t.join(10)


def test_window_zero_batches_what_is_already_waiting(make) -> None:
    batcher, engine = make(window=0.0, max_batch=32)
    first_then_three(batcher, engine)
    assert engine.batches[0] == ["first"]
    # No waiting at all, yet the three that queued meanwhile went as one batch.
    assert len(engine.batches) == 2 and sorted(engine.batches[1]) == ["w0", "w1", "w2"]
    assert batcher.waiting == 0


def test_window_zero_does_not_delay_a_lone_caller(make) -> None:
    batcher, engine = make(window=0.0)
    start = time.perf_counter()
    for i in range(20):
        assert texts(batcher.generate(calls(f"s{i}"))) == [f"out-s{i}"]
    assert time.perf_counter() - start < 2.0
    assert engine.batches == [[f"s{i}"] for i in range(20)]


def test_max_batch_one_turns_batching_off(make) -> None:
    batcher, engine = make(window=0.2, max_batch=1)
    first_then_three(batcher, engine)
    assert [len(b) for b in engine.batches] == [1, 1, 1, 1]


def test_on_batch_reports_size_and_time(make) -> None:
    seen: list[tuple[int, float]] = []
    batcher, engine = make(
        Recorder(delay=0.05), window=0.3, on_batch=lambda n, s: seen.append((n, s))
    )
    concurrently([lambda i=i: batcher.generate(calls(f"a{i}", f"b{i}")) for i in range(3)])
    assert [n for n, _ in seen] == [len(b) for b in engine.batches]
    assert sum(n for n, _ in seen) == 6
    assert all(s >= 0.05 for _, s in seen)


def test_failing_on_batch_callback_does_not_stall_the_batcher(make) -> None:
    def broken(n: int, s: float) -> None:
        raise ValueError("metrics backend down")

    batcher, _ = make(window=0.0, on_batch=broken)
    assert texts(batcher.generate(calls("a"))) == ["out-a"]
    assert texts(batcher.generate(calls("b"))) == ["out-b"]


# ---- failures and shutdown ----------------------------------------------------------------


def test_engine_failure_reaches_every_caller_of_that_batch(make) -> None:
    batcher, engine = make(Recorder(fail_on="bad"), window=0.5)
    fns = [lambda: batcher.generate(calls("bad"))] + [
        lambda i=i: batcher.generate(calls(f"ok{i}", f"ok{i}b")) for i in range(3)
    ]
    results = concurrently(fns)
    assert len(engine.batches) == 1  # all four shared the failing batch
    assert all(isinstance(r, ConnectionError) for r in results), results
    assert "engine down" in str(results[0])
    # The dispatcher survived: the next calls are answered.
    assert texts(batcher.generate(calls("after"))) == ["out-after"]
    assert batcher.waiting == 0


def test_failure_is_confined_to_its_batch(make) -> None:
    batcher, engine = make(Recorder(fail_on="bad"), window=0.0, max_batch=1)
    engine.gate.clear()
    results: dict[str, Any] = {}

    def call(rid: str) -> None:
        try:
            results[rid] = texts(batcher.generate(calls(rid)))
        except Exception as exc:
            results[rid] = exc

    first = threading.Thread(target=call, args=("bad",))
    first.start()
    assert engine.entered.wait(5)
    second = threading.Thread(target=call, args=("good",))
    second.start()
    wait_until(lambda: batcher.waiting == 1)
    engine.gate.set()
    first.join(10)
    second.join(10)
    assert isinstance(results["bad"], ConnectionError)
    assert results["good"] == ["out-good"]


def test_close_finishes_queued_work_then_closes_the_engine(make) -> None:
    batcher, engine = make(window=0.0, max_batch=1)
    engine.gate.clear()
    results: list[Any] = []
    threads = [
        threading.Thread(target=lambda i=i: results.append(texts(batcher.generate(calls(f"q{i}")))))
        for i in range(3)
    ]
    threads[0].start()
    assert engine.entered.wait(5)
    for t in threads[1:]:
        t.start()
    wait_until(lambda: batcher.waiting == 2)
    closer = threading.Thread(target=batcher.close)
    closer.start()
    time.sleep(0.05)
    assert not engine.closed  # still busy with the queued calls
    engine.gate.set()
    closer.join(10)
    for t in threads:
        t.join(10)
    assert sorted(results) == [["out-q0"], ["out-q1"], ["out-q2"]]
    assert engine.closed
    assert not batcher._thread.is_alive()


def test_generate_after_close_fails_instead_of_hanging(make) -> None:
    batcher, engine = make(window=0.0)
    assert texts(batcher.generate(calls("a"))) == ["out-a"]
    batcher.close()
    result = concurrently([lambda: batcher.generate(calls("late"))], timeout=5)[0]
    assert isinstance(result, EngineUnavailable), result
    assert "closed" in str(result)
    batcher.close()  # a second close is harmless
    assert engine.batches == [["a"]]
