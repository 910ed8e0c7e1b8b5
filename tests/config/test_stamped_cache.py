"""The per-process cache helper (config/stamped_cache.py), in one process: expiry, the shared
stamp, fresh reads before a refusal, one reload per expiry under concurrent threads.

Each test has its own stamp key in the real shared cache (Redis here) and its own clock.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest

from config import stamped_cache
from config.stamped_cache import SharedStamp, StampedCache, _stamp_read, _stamp_write

TTL = 60.0
CHECK = 0.5


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Loader:
    """Values "<key>@<n>" where n counts the loads; keys named "junk..." are not found."""

    def __init__(self) -> None:
        self.calls: list[set[str]] = []
        self.block: threading.Event | None = None
        self.fail_next = False

    def __call__(self, keys: set[str]) -> dict[str, str]:
        self.calls.append(set(keys))
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("database down")
        if self.block is not None:
            self.block.wait(5)
        n = len(self.calls)
        return {k: f"{k}@{n}" for k in keys if not k.startswith("junk")}


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def stamp(clock: Clock) -> SharedStamp:
    return SharedStamp(f"test-stamp-{uuid.uuid4().hex}", clock=clock, max_age_s=CHECK)


@pytest.fixture
def loader() -> Loader:
    return Loader()


@pytest.fixture
def cache(stamp: SharedStamp, loader: Loader) -> StampedCache[str]:
    return StampedCache(load=loader, ttl_s=TTL, max_entries=50, stamp=stamp)


def test_values_are_loaded_once_and_served_from_memory_until_they_expire(
    cache: StampedCache[str], loader: Loader, clock: Clock
) -> None:
    assert cache.get_many({"a", "b", "junk"}) == {"a": "a@1", "b": "b@1"}
    assert loader.calls == [{"a", "b", "junk"}]
    clock.now += TTL - 1
    # A key the loader did not find is cached too: junk cannot make every request query.
    assert cache.get_many({"a", "junk"}) == {"a": "a@1"}
    assert cache.get("b") == "b@1"
    assert len(loader.calls) == 1
    clock.now += 1  # the TTL has passed
    assert cache.get_many({"a", "b"}) == {"a": "a@2", "b": "b@2"}
    assert loader.calls[1] == {"a", "b"}


def test_a_moved_stamp_drops_the_entries_at_the_next_check_not_before(
    cache: StampedCache[str], loader: Loader, stamp: SharedStamp, clock: Clock
) -> None:
    assert cache.get("a") == "a@1"
    _stamp_write(stamp.key, "another process committed a change")
    clock.now += CHECK / 2
    assert cache.get("a") == "a@1"  # not checked yet: no round trip on this request
    clock.now += CHECK / 2
    assert cache.get("a") == "a@2"
    # The stamp did not move again: the entries stay.
    clock.now += CHECK * 3
    assert cache.get("a") == "a@2"
    assert len(loader.calls) == 2


def test_the_stamp_is_read_by_one_request_per_interval(
    cache: StampedCache[str], stamp: SharedStamp, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[str] = []
    real_read = stamped_cache._stamp_read

    def counting_read(key: str) -> object:
        reads.append(key)
        return real_read(key)

    monkeypatch.setattr(stamped_cache, "_stamp_read", counting_read)
    for _ in range(100):
        cache.get("a")
    assert len(reads) == 1
    clock.now += CHECK
    for _ in range(100):
        cache.get("a")
    assert len(reads) == 2


def test_bump_makes_a_new_stamp_that_other_processes_read(
    cache: StampedCache[str], loader: Loader, stamp: SharedStamp, clock: Clock
) -> None:
    other = SharedStamp(stamp.key, clock=clock, max_age_s=0)  # another process's view
    other_cache = StampedCache(load=loader, ttl_s=TTL, stamp=other)
    assert other_cache.get("a") == "a@1"
    before = _stamp_read(stamp.key)
    stamp.bump()
    after = _stamp_read(stamp.key)
    assert after != before
    assert isinstance(after, str)
    assert len(after) == 32
    # This process dropped its entries at once, the other one at its next check.
    assert cache.get("a") == "a@2"
    assert other_cache.get("a") == "a@3"
    # Two bumps never make the same stamp (random, not a counter a lost key could reset).
    stamp.bump()
    assert _stamp_read(stamp.key) not in {before, after}


def test_fresh_since_reads_the_database_for_entries_loaded_before_that_moment(
    cache: StampedCache[str], loader: Loader, clock: Clock
) -> None:
    assert cache.get_many({"a", "junk-new"}) == {"a": "a@1"}
    clock.now += 1
    since = cache.clock()  # a request arrives
    loader_finds = loader.__call__

    def now_found(keys: set[str]) -> dict[str, str]:
        found = loader_finds(keys)
        return {**found, **{k: "made meanwhile" for k in keys if k == "junk-new"}}

    cache._load = now_found
    # The request would refuse "junk-new": it asks again and the database has it now.
    assert cache.get("junk-new", fresh_since=since) == "made meanwhile"
    # Read since the request arrived: a second miss in the same batch does not query.
    assert cache.get("junk-new", fresh_since=since) == "made meanwhile"
    assert cache.get("a", fresh_since=since - 5) == "a@1"  # loaded after that moment
    assert loader.calls == [{"a", "junk-new"}, {"junk-new"}]


def test_checked_since_reads_the_stamp_unless_a_read_started_since(
    cache: StampedCache[str], loader: Loader, stamp: SharedStamp, clock: Clock
) -> None:
    assert cache.get("a") == "a@1"  # reads the stamp (first use)
    clock.now += 0.1
    since = clock.now
    _stamp_write(stamp.key, "changed elsewhere")
    # Periodic check not due, but the caller asks for a stamp read since `since`.
    assert cache.get("a") == "a@1"
    assert cache.get("a", checked_since=since) == "a@2"
    _stamp_write(stamp.key, "changed again")
    # A read started at or after `since` already happened: no second round trip.
    assert cache.get("a", checked_since=since) == "a@2"
    assert len(loader.calls) == 2


def test_an_unreadable_stamp_drops_the_entries_and_never_fails_the_request(
    cache: StampedCache[str], loader: Loader, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cache.get("a") == "a@1"

    def down(key: str) -> object:
        raise ConnectionError("redis down")

    monkeypatch.setattr(stamped_cache, "_stamp_read", down)
    clock.now += CHECK
    assert cache.get("a") == "a@2"  # unknown whether it changed: read the database
    clock.now += CHECK
    assert cache.get("a") == "a@3"
    monkeypatch.undo()
    clock.now += CHECK
    assert cache.get("a") == "a@4"  # readable again (a new value for this process)
    clock.now += CHECK
    assert cache.get("a") == "a@4"


def test_an_expired_entry_is_reloaded_once_while_other_threads_keep_the_old_value(
    cache: StampedCache[str], loader: Loader, clock: Clock
) -> None:
    assert cache.get("guide") == "guide@1"
    clock.now += TTL + 1
    loader.block = threading.Event()  # the reload is in flight until the test lets it finish
    reloaded: list[str | None] = []
    reloader = threading.Thread(target=lambda: reloaded.append(cache.get("guide")))
    reloader.start()
    deadline = time.monotonic() + 5
    while len(loader.calls) < 2 and time.monotonic() < deadline:
        time.sleep(0.005)
    assert len(loader.calls) == 2  # the reload started

    # Meanwhile every other thread gets the old value at once, without a query.
    seen: list[str | None] = []

    def reader() -> None:
        seen.extend(cache.get("guide") for _ in range(20))

    readers = [threading.Thread(target=reader) for _ in range(8)]
    for thread in readers:
        thread.start()
    for thread in readers:
        thread.join(5)
    assert seen == ["guide@1"] * 160
    assert len(loader.calls) == 2
    loader.block.set()
    reloader.join(5)
    assert reloaded == ["guide@2"]
    assert cache.get("guide") == "guide@2"
    assert len(loader.calls) == 2


def test_concurrent_threads_reload_an_expired_entry_once(
    cache: StampedCache[str], loader: Loader, clock: Clock
) -> None:
    assert cache.get("guide") == "guide@1"
    clock.now += TTL + 1
    start = threading.Barrier(16)
    results: list[str | None] = []

    def request() -> None:
        start.wait(5)
        results.append(cache.get("guide"))

    threads = [threading.Thread(target=request) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert len(results) == 16
    assert set(results) <= {"guide@1", "guide@2"}
    assert len(loader.calls) == 2  # one reload for sixteen requests
    assert cache.get("guide") == "guide@2"


def test_a_failed_reload_is_retried_by_the_next_request(
    cache: StampedCache[str], loader: Loader, clock: Clock
) -> None:
    assert cache.get("guide") == "guide@1"
    clock.now += TTL + 1
    loader.fail_next = True
    with pytest.raises(RuntimeError, match="database down"):
        cache.get("guide")
    # Not left "fresh" with the old value for another TTL: the next request reloads.
    assert cache.get("guide") == "guide@3"


def test_a_load_that_overlaps_an_invalidation_is_not_kept(
    cache: StampedCache[str], loader: Loader, stamp: SharedStamp
) -> None:
    """A load that read the database before a change committed must not be cached after
    it: the next request reads again."""
    loader.block = threading.Event()
    results: list[Any] = []
    slow = threading.Thread(target=lambda: results.append(cache.get("guide")))
    slow.start()
    deadline = time.monotonic() + 5
    while not loader.calls and time.monotonic() < deadline:
        time.sleep(0.005)
    stamp.bump()  # a write committed while the load was in flight
    assert cache.get_many(set()) == {}  # another request sees the new stamp meanwhile
    loader.block.set()
    slow.join(5)
    assert results == ["guide@1"]  # its own request gets what it read
    assert cache.get("guide") == "guide@2"  # read again, not the overlapping load


def test_the_size_is_capped(cache: StampedCache[str], loader: Loader) -> None:
    for i in range(60):
        cache.get(f"junk-{i}")
    assert len(cache._entries) <= cache.max_entries


@pytest.mark.django_db(transaction=True)
def test_caches_invalidate_drops_this_process_now_and_the_others_on_commit() -> None:
    from django.db import transaction

    shared = stamped_cache.shared_stamp
    key = shared.key
    before = _stamp_read(key)
    epoch = shared.epoch
    with transaction.atomic():
        stamped_cache.caches_invalidate()
        assert shared.epoch > epoch  # this process: at once
        assert _stamp_read(key) == before  # the others: not before the commit
    after = _stamp_read(key)
    assert after != before

    def write_then_fail() -> None:
        with transaction.atomic():
            stamped_cache.caches_invalidate()
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        write_then_fail()
    assert _stamp_read(key) == after  # a rolled back write moves nothing
