"""Per-process caches of configuration rows that every process drops when the rows change.

The public endpoints read a few rows on every request (a gate's sections, files and
allowed origins; the source of a Segment write key; the makes-hot rules). Reading them
from PostgreSQL each time would cost more than storing the events, so each process keeps
them in memory. What keeps such a cache from lying:

- The stamp: one small key in the shared cache (Redis). A write to a cached model, in
  any process on any machine, sets a new random stamp once its transaction commits
  (`caches_invalidate`, which the apps' signal receivers call). Each process reads the
  stamp at most every LEADGATE_CACHE_CHECK_MS (one GET, by the first request that finds
  it due; the others go on meanwhile) and drops every entry when it moved. Random rather
  than a counter: a Redis that lost the key cannot bring back a value a process saw.
- `fresh_since`: a caller about to refuse something because of what the cache says (a
  gate without that section, file or origin; an unknown write key) asks again, and
  entries loaded before that moment are read from the database. So an addition is never
  refused because of a cache; a removal is seen within the check interval.
- `checked_since`: where a miss cannot be seen (no makes-hot rule matched looks the same
  whether the rules are current or not), the stamp is read again unless a read of it
  started since that moment: one GET, and the entries are dropped if it moved.
- A TTL, for writes that fire no signal (a raw UPDATE, QuerySet.update): one reload per
  expiry; the first request that finds an entry expired reloads it and the requests
  arriving meanwhile keep the old value. Without that, every request thread reloaded
  the same gate at once whenever it expired (measured under bench/ingest.py's load:
  about 5% of a worker's CPU).

Not cachetools: its TTLCache forgets an expired entry as it is read, so it cannot serve
the old value during the one reload, and it has no notion of a shared stamp; what is
left (a dict, a size bound, a lock) is smaller written out than adapted.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

from django.conf import settings
from django.core.cache import cache as default_cache
from django.db import transaction

from config.shared_redis import default_cache_redis

log = logging.getLogger(__name__)

STAMP_KEY = "config-stamp"
Clock = Callable[[], float]
V = TypeVar("V")


def _stamp_read(key: str) -> object:
    found = default_cache_redis()
    if found is None:  # no Redis (the embedded demo): one process, its local cache
        return default_cache.get(key)
    client, prefix = found
    value = client.get(prefix + key)
    return value.decode() if isinstance(value, bytes) else value


def _stamp_write(key: str, value: str) -> None:
    found = default_cache_redis()
    if found is None:
        default_cache.set(key, value, timeout=None)
        return
    client, prefix = found
    client.set(prefix + key, value)


class SharedStamp:
    """The shared stamp as this process last read it, numbered by `epoch`: a local count
    that grows whenever the stamp is seen to move (or this process moves it), so caches
    compare one integer.

    max_age_s: how often the stamp is read on its own (None: LEADGATE_CACHE_CHECK_MS,
    read at first use).
    """

    def __init__(
        self,
        key: str = STAMP_KEY,
        *,
        clock: Clock = time.monotonic,
        max_age_s: float | None = None,
    ) -> None:
        self.key = key
        self.clock = clock
        self.epoch = 0
        self._max_age_s = max_age_s
        self._lock = threading.Lock()
        self._value: object = None
        self._read_at = float("-inf")  # when the read that gave _value started
        self._due_from = float("-inf")  # when the last periodic read was started
        self._failing = False

    @property
    def max_age_s(self) -> float:
        if self._max_age_s is None:
            self._max_age_s = max(0, settings.LEADGATE_CACHE_CHECK_MS) / 1000
        return self._max_age_s

    @max_age_s.setter
    def max_age_s(self, value: float) -> None:
        self._max_age_s = value

    def current(self, *, since: float | None = None) -> int:
        """The epoch of the stamp, read again first if the last periodic read is older
        than max_age_s (by one request; the others go on meanwhile), or with `since`,
        unless a read started at or after `since`."""
        if since is not None:
            if self._read_at >= since:
                return self.epoch
        else:
            now = self.clock()
            max_age_s = self._max_age_s if self._max_age_s is not None else self.max_age_s
            if now - self._due_from < max_age_s:
                return self.epoch
            with self._lock:
                if now - self._due_from < max_age_s:
                    return self.epoch  # another request is reading it
                self._due_from = now
        return self._read()

    def _read(self) -> int:
        started = self.clock()
        try:
            value = _stamp_read(self.key)
            failing = False
        except Exception:
            # Unreadable: a value equal to nothing, so caches drop what they hold and
            # read the database until the shared cache answers again.
            value, failing = object(), True
            if not self._failing:
                log.warning("cache stamp unreadable; cached rows are reloaded", exc_info=True)
        with self._lock:
            self._failing = failing
            self._due_from = max(self._due_from, started)
            if started >= self._read_at:
                if value != self._value:
                    self._value = value
                    self.epoch += 1
                self._read_at = started
            return self.epoch

    def bump(self) -> None:
        """A cached row changed and its transaction committed: a new stamp for everyone,
        and this process's caches drop their entries at once."""
        value = uuid.uuid4().hex
        started = self.clock()
        try:
            _stamp_write(self.key, value)
        except Exception:
            log.warning(
                "cache stamp not written; other processes see this change on a miss or "
                "within the cache TTL",
                exc_info=True,
            )
        with self._lock:
            self._value = value
            self._read_at = max(self._read_at, started)
            self.epoch += 1

    def forget(self) -> None:
        """This process's caches drop their entries now (the shared stamp is untouched)."""
        with self._lock:
            self.epoch += 1


shared_stamp = SharedStamp()


def caches_invalidate(**_: object) -> None:
    """A cached model was written (a signal receiver): entries are dropped in this process
    now, and in every process once the transaction commits (outside one: now)."""
    shared_stamp.forget()
    transaction.on_commit(shared_stamp.bump)


class StampedCache(Generic[V]):
    """Values by string key (None: the loader found nothing), loaded many at a time.

    `load(keys)` returns the values it found; a key it leaves out is cached as None too,
    so junk keys cannot make every request query (the size is capped for the same
    reason).
    """

    def __init__(
        self,
        *,
        load: Callable[[set[str]], dict[str, V]],
        ttl_s: float,
        max_entries: int = 5000,
        stamp: SharedStamp = shared_stamp,
    ) -> None:
        self._load = load
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.stamp = stamp
        self._lock = threading.Lock()
        # key -> (due_from: TTL counts from here, loaded_at: when its load started, value)
        self._entries: dict[str, tuple[float, float, V | None]] = {}
        self._epoch = -1  # the stamp epoch the entries belong to
        self._generation = 0  # grows when the entries are dropped: loads in flight are void

    def clock(self) -> float:
        return self.stamp.clock()

    def _drop_before(self, epoch: int) -> None:
        """The stamp moved: entries of an older epoch are dropped, loads in flight void."""
        with self._lock:
            if epoch > self._epoch:
                self._entries = {}
                self._generation += 1
                self._epoch = epoch

    def _claim(self, key: str, now: float) -> bool:
        """Is this thread the one to reload the expired `key`? If so, the entry stays
        valid (old value) for everyone else while the reload runs."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return True
            if now - entry[0] < self.ttl_s:
                return False  # another thread claimed it first
            self._entries[key] = (now, entry[1], entry[2])
            return True

    def get_many(
        self,
        keys: Iterable[str],
        *,
        fresh_since: float | None = None,
        checked_since: float | None = None,
    ) -> dict[str, V]:
        """The values found for `keys` (keys without one are left out).

        fresh_since: entries loaded before this moment (of `clock()`) are loaded again.
        checked_since: the shared stamp is read again unless a read started since then.
        """
        stamp = self.stamp
        epoch = stamp.current(since=checked_since)
        if epoch != self._epoch:
            self._drop_before(epoch)
        now = stamp.clock()
        found: dict[str, V] = {}
        missing: set[str] = set()
        entries = self._entries
        for key in keys:
            entry = entries.get(key)
            if (
                entry is None
                or (fresh_since is not None and entry[1] < fresh_since)
                or (now - entry[0] >= self.ttl_s and self._claim(key, now))
            ):
                missing.add(key)
            elif entry[2] is not None:
                found[key] = entry[2]
        if missing:
            found.update(self._reload(missing))
        return found

    def get(
        self, key: str, *, fresh_since: float | None = None, checked_since: float | None = None
    ) -> V | None:
        return self.get_many({key}, fresh_since=fresh_since, checked_since=checked_since).get(key)

    def _reload(self, keys: set[str]) -> dict[str, V]:
        generation = self._generation
        started = self.clock()
        try:
            loaded = self._load(keys)
        except BaseException:
            # The reload failed: what this thread claimed is due again, so the next
            # request tries instead of serving the old value for another TTL.
            with self._lock:
                for key in keys:
                    entry = self._entries.get(key)
                    if entry is not None:
                        self._entries[key] = (float("-inf"), entry[1], entry[2])
            raise
        with self._lock:
            # Dropped meanwhile (the stamp moved): what was read may predate the change.
            if generation == self._generation:
                if len(self._entries) + len(keys) > self.max_entries:
                    self._entries = {}
                for key in keys:
                    self._entries[key] = (started, started, loaded.get(key))
        return loaded

    def clear(self) -> None:
        with self._lock:
            self._entries = {}
            self._generation += 1
