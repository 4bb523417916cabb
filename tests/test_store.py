"""The job store on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text
from watch_support import MEMO_ANSWER, Memo

from docintel.errors import StoreError, StoreVersionMismatch
from docintel.jobs.store import SCHEMA_VERSION, Store
from docintel.result import Attempt, Result


def enqueue(store: Store, name: str, mtime: int = 1) -> int | None:
    return store.enqueue("inbox", "memo@1", name, 10, mtime)


def test_enqueue_is_idempotent_per_file_version(store_url: str) -> None:
    store = Store(store_url)
    first = enqueue(store, "a.pdf")
    assert first is not None
    assert enqueue(store, "a.pdf") is None  # same file again: no second job
    assert enqueue(store, "a.pdf", mtime=2) is not None  # rewritten: a new version
    assert Store(store_url).enqueue("other", "memo@1", "a.pdf", 10, 1) is not None  # other queue
    # real sizes and nanosecond mtimes need 64 bits
    assert store.enqueue("inbox", "memo@1", "big.tiff", 6 * 2**30, 1_795_413_638_112_788_275)
    assert len(store.jobs()) == 4


def test_claims_are_exclusive_and_leases_expire(store_url: str) -> None:
    store = Store(store_url)
    for i in range(4):
        enqueue(store, f"{i}.pdf")
    a = store.claim("a", "inbox", "memo@1", 3, lease=0.5)
    b = store.claim("b", "inbox", "memo@1", 3, lease=30)
    assert [j.name for j in a] == ["0.pdf", "1.pdf", "2.pdf"]
    assert [j.name for j in b] == ["3.pdf"]
    assert store.claim("c", "inbox", "memo@1", 3, lease=30) == []
    time.sleep(0.6)  # a died: its leases run out and its jobs can be claimed again
    c = store.claim("c", "inbox", "memo@1", 5, lease=30)
    assert [j.name for j in c] == ["0.pdf", "1.pdf", "2.pdf"]
    assert all(j.attempts == 2 for j in c)
    assert not store.finish("a", c[0].id or 0, "done")  # the old owner cannot close it
    assert store.finish("c", c[0].id or 0, "done", output="x.json")
    done = store.jobs("done")
    assert [(j.name, j.lease_owner, j.output) for j in done] == [("0.pdf", "c", "x.json")]


def test_heartbeat_keeps_a_lease(store_url: str) -> None:
    store = Store(store_url)
    enqueue(store, "a.pdf")
    (job,) = store.claim("a", "inbox", "memo@1", 1, lease=0.4)
    for _ in range(3):
        time.sleep(0.2)
        store.heartbeat("a", [job.id or 0], 0.4)
    assert store.claim("b", "inbox", "memo@1", 1, lease=30) == []


def test_release_with_backoff_and_uncounted(store_url: str) -> None:
    store = Store(store_url)
    enqueue(store, "a.pdf")
    (job,) = store.claim("a", "inbox", "memo@1", 1, lease=30)
    assert store.release("a", [job.id or 0], delay=0.3, error="engine down") == 1
    assert store.claim("a", "inbox", "memo@1", 1, lease=30) == []  # backing off
    assert store.active("inbox", "memo@1") == 1
    time.sleep(0.35)
    (again,) = store.claim("a", "inbox", "memo@1", 1, lease=30)
    assert again.attempts == 2 and again.error == "engine down"
    store.release("a", [job.id or 0], count=False)  # a shutdown is not an attempt
    (third,) = store.claim("a", "inbox", "memo@1", 1, lease=30)
    assert third.attempts == 2


def test_concurrent_claimers_never_share_a_job(store_url: str) -> None:
    store = Store(store_url)
    for i in range(60):
        enqueue(store, f"{i}.pdf")
    taken: list[list[int]] = [[] for _ in range(4)]

    def claim(k: int) -> None:
        mine = Store(store_url)
        while jobs := mine.claim(f"w{k}", "inbox", "memo@1", 3, lease=30):
            taken[k] += [j.id or 0 for j in jobs]

    threads = [threading.Thread(target=claim, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [i for ts in taken for i in ts]
    assert sorted(ids) == sorted({j.id for j in store.jobs()})  # each exactly once


def test_results_and_attempts_round_trip(store_url: str) -> None:
    store = Store(store_url)
    attempt = Attempt(1, MEMO_ANSWER, "stop", [], 5, 3, 0.1, 256, 0.0)
    result = Result(
        Memo, Memo(), True, attempts=[attempt], engine="e", model="m", document="ab" * 32
    )
    rid = store.save_result("a.pdf", 10, result, "memo@1")
    found = store.find_result("ab" * 32, "memo@1")
    assert found is not None and found.id == rid
    assert found.value == {"title": None} and found.data["schema"] == "Memo"
    assert found.prompt_tokens == 5 and found.completion_tokens == 3
    assert store.find_result("ab" * 32, "memo@2") is None  # another schema version
    (row,) = store.attempts(rid)
    assert (row.text, row.finish_reason, row.max_tokens) == (MEMO_ANSWER, "stop", 256)
    failed = Result(Memo, None, False, errors=["nope"], document="cd" * 32)
    store.save_result("b.pdf", 10, failed, "memo@1")
    assert store.find_result("cd" * 32, "memo@1") is None  # only successes are reused


def test_summary_counts(store_url: str) -> None:
    store = Store(store_url)
    for i in range(3):
        enqueue(store, f"{i}.pdf")
    jobs = store.claim("a", "inbox", "memo@1", 2, lease=30)
    store.finish("a", jobs[0].id or 0, "done")
    store.finish("a", jobs[1].id or 0, "failed", error="CorruptDocument: bad")
    summary = store.summary()
    assert summary.counts == {"pending": 1, "running": 0, "done": 1, "failed": 1, "skipped": 0}
    assert summary.done_last_minute == 1
    assert summary.recent_failures == [{"name": "1.pdf", "error": "CorruptDocument: bad"}]
    assert summary.oldest_pending_seconds is not None
    assert summary.to_dict()["throughput_per_second"] == pytest.approx(1 / 60)


def test_a_store_of_another_layout_version_is_refused(store_url: str) -> None:
    store = Store(store_url)
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE docintel_meta SET value = '99' WHERE key = 'schema_version'"))
    with pytest.raises(StoreVersionMismatch, match="layout version 99") as info:
        Store(store_url)
    assert (info.value.found, info.value.expected) == (99, SCHEMA_VERSION)


def test_foreign_tables_without_a_version_are_refused(store_url: str) -> None:
    store = Store(store_url)
    with store.engine.begin() as conn:
        conn.execute(text("DROP TABLE docintel_meta"))
    with pytest.raises(StoreVersionMismatch, match="no version record"):
        Store(store_url)


def test_unreachable_database_is_a_clear_error() -> None:
    with pytest.raises(StoreError, match=r"cannot open the job store .*user:\*\*\*@"):
        Store("postgresql+psycopg://user:secret@127.0.0.1:9/none?connect_timeout=2")
