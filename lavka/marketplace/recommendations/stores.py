"""The two stores of "bought together" counts, behind one interface.

Both keep, per product, how many recorded orders also held each other product, and the
set of recorded orders (recording is idempotent: the same order counts once). Ranks are
the same in both: most orders first, ties to the newer product (the higher id), so the
pages do not change order from one request to the next.

- `RedisStore`: a sorted set per product (members are the other products' ids, padded
  so that Redis's order of equal scores is the order of the ids) and a set of recorded
  order ids, both per generation; an order is recorded by one Lua script (ZADD NX, then
  ZINCRBY for each pair only if the order was new), which Redis runs atomically. A
  rebuild fills a new generation and switches to it at the end.
- `DatabaseStore`: one row per ordered pair with its count, and a row per recorded order,
  written in one transaction: the order's row first (a second recording finds it and
  stops), the missing pair rows inserted, their rows locked in id order, then one UPDATE
  with F() adds one to all of them. The lock order keeps two orders sharing products
  from deadlocking on PostgreSQL; SQLite serialises writers anyway. A rebuild is one
  transaction holding both tables against writers: pages read the old counts until it
  commits, and a worker's recording waits for it, then finds its order recorded or not.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import Any, Protocol

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Sum
from django.utils import timezone

from lavka.marketplace.models import BoughtTogether, RecordedOrder

# Ids are at most 19 digits (a BigAutoField); padded to that, Redis's byte order of
# members with equal scores is their numeric order.
ID_WIDTH = 19

# An order to record: its id, its products and, when known, when it was paid.
RecordedOrderRow = tuple[int, Sequence[int]] | tuple[int, Sequence[int], datetime | None]


class BoughtTogetherStore(Protocol):
    """What the services and selectors need of a store."""

    name: str
    # whether recorded orders older than the catch-up window are forgotten
    forgets_recorded_orders: bool

    def record(
        self, order_id: int, product_ids: Iterable[int], paid_at: datetime | None = None
    ) -> bool:
        """Count the order's products as bought together; False (and nothing counted)
        if the order was recorded before."""
        ...

    def record_many(self, orders: Iterable[RecordedOrderRow]) -> int:
        """Record several orders; the number counted now (not recorded before)."""
        ...

    def recorded(self, order_ids: Iterable[int]) -> set[int]:
        """Which of these orders are recorded."""
        ...

    def top(self, product_id: int, limit: int) -> list[int]:
        """Ids of the products most often bought with this one, best first."""
        ...

    def suggest(self, product_ids: Iterable[int], limit: int) -> list[int]:
        """Ids of the products most often bought with any of these (counts summed over
        them), none of them, best first."""
        ...

    def pair_count(self, product_id: int, other_id: int) -> int:
        """How many recorded orders held both."""
        ...

    def is_built(self) -> bool:
        """False when the store lost its data (or never had any): only a rebuild mends it."""
        ...

    def rebuild_lock(self) -> AbstractContextManager[bool]:
        """Whether this caller may rebuild now (no other rebuild holds the lock)."""
        ...

    def rebuild(self, batches: Iterable[list[RecordedOrderRow]]) -> int:
        """Replace every count with the orders of `batches` (read lazily, once the
        rebuild began), the old counts readable until the end; the number counted."""
        ...

    def forget_before(self, cutoff: datetime) -> None:
        """Forget, where the store bounds them, the recorded orders paid before this."""
        ...

    def clear(self) -> None:
        """Forget every count and every recorded order."""
        ...


# Rows per INSERT when a rebuild writes a table.
BULK_ROWS = 1000


def _distinct(product_ids: Iterable[int]) -> list[int]:
    return sorted({int(pk) for pk in product_ids})


# --- the database -------------------------------------------------------------------------


class DatabaseStore:
    """Counts in `BoughtTogether`, recorded orders in `RecordedOrder`."""

    name = "database"
    forgets_recorded_orders = False

    def record(
        self, order_id: int, product_ids: Iterable[int], paid_at: datetime | None = None
    ) -> bool:
        products = _distinct(product_ids)
        with transaction.atomic():
            try:
                with transaction.atomic():
                    RecordedOrder.objects.create(order_id=order_id)
            except IntegrityError:
                return False
            if len(products) < 2:
                return True
            pairs = BoughtTogether.objects.filter(product_id__in=products, other_id__in=products)
            BoughtTogether.objects.bulk_create(
                [
                    BoughtTogether(product_id=product, other_id=other, orders=0)
                    for product in products
                    for other in products
                    if product != other
                ],
                ignore_conflicts=True,
            )
            list(pairs.select_for_update().order_by("product_id", "other_id").values_list("pk"))
            pairs.update(orders=F("orders") + 1)
        return True

    def record_many(self, orders: Iterable[RecordedOrderRow]) -> int:
        return sum(1 for row in orders if self.record(row[0], row[1]))

    def recorded(self, order_ids: Iterable[int]) -> set[int]:
        wanted = {int(pk) for pk in order_ids}
        if not wanted:
            return set()
        return set(
            RecordedOrder.objects.filter(order_id__in=wanted).values_list("order_id", flat=True)
        )

    def top(self, product_id: int, limit: int) -> list[int]:
        if limit <= 0:
            return []
        return list(
            BoughtTogether.objects.filter(product_id=product_id, orders__gt=0)
            .order_by("-orders", "-other_id")
            .values_list("other_id", flat=True)[:limit]
        )

    def suggest(self, product_ids: Iterable[int], limit: int) -> list[int]:
        products = _distinct(product_ids)
        if not products or limit <= 0:
            return []
        return list(
            BoughtTogether.objects.filter(product_id__in=products, orders__gt=0)
            .exclude(other_id__in=products)
            .values("other_id")
            .annotate(total=Sum("orders"))
            .order_by("-total", "-other_id")
            .values_list("other_id", flat=True)[:limit]
        )

    def pair_count(self, product_id: int, other_id: int) -> int:
        found = BoughtTogether.objects.filter(product_id=product_id, other_id=other_id)
        return found.values_list("orders", flat=True).first() or 0

    def is_built(self) -> bool:
        """The database does not lose rows on its own."""
        return True

    @contextmanager
    def rebuild_lock(self) -> Iterator[bool]:
        """The rebuild's transaction holds the tables: a second one waits for it."""
        yield True

    def rebuild(self, batches: Iterable[list[RecordedOrderRow]]) -> int:
        """One transaction: emptied and refilled, or left as it was. On PostgreSQL the
        tables are locked against writers first (readers go on reading the old rows), in
        the order a recording writes them, so a worker recording meanwhile waits, then
        finds its order recorded (or records it, paid after the rebuild read the orders);
        on SQLite the transaction already holds the only writer's lock."""
        with transaction.atomic():
            if connection.vendor == "postgresql":
                tables = ", ".join(
                    connection.ops.quote_name(model._meta.db_table)
                    for model in (RecordedOrder, BoughtTogether)
                )
                with connection.cursor() as cursor:
                    cursor.execute(f"LOCK TABLE {tables} IN EXCLUSIVE MODE")
            self.clear()
            return self._fill(batches)

    @staticmethod
    def _fill(batches: Iterable[list[RecordedOrderRow]]) -> int:
        """Count the pairs in memory and write each table in bulk: a rebuild holds the
        writers' lock (SQLite's only one) for seconds, not an order-by-order minute."""
        pairs: Counter[tuple[int, int]] = Counter()
        counted = 0
        for batch in batches:
            RecordedOrder.objects.bulk_create(
                [RecordedOrder(order_id=row[0]) for row in batch],
                batch_size=BULK_ROWS,
            )
            for row in batch:
                products = _distinct(row[1])
                pairs.update((one, other) for one in products for other in products if one != other)
            counted += len(batch)
        BoughtTogether.objects.bulk_create(
            (
                BoughtTogether(product_id=one, other_id=other, orders=orders)
                for (one, other), orders in pairs.items()
            ),
            batch_size=BULK_ROWS,
        )
        return counted

    def forget_before(self, cutoff: datetime) -> None:
        """Kept: a row per paid order, like the orders themselves."""

    def clear(self) -> None:
        with transaction.atomic():
            BoughtTogether.objects.all().delete()
            RecordedOrder.objects.all().delete()


# --- Redis --------------------------------------------------------------------------------

# Every count lives in a generation: keys `<prefix>g<name>:bt:<product>` and the recorded
# orders `<prefix>g<name>:orders` (a sorted set scored by the payment's time). `<prefix>gen`
# names the generation pages read; while a rebuild runs, `<prefix>building` names the one
# it fills. The scripts build the generations' key names themselves (they cannot be
# declared before the pointer is read), which a single Redis allows; Redis Cluster is not
# supported for this store.
#
# KEYS[1]: the pointer, KEYS[2]: the generation being built; ARGV[1]: the prefix,
# ARGV[2]: the order's id, ARGV[3]: its payment time (Unix seconds), ARGV[4]: the one
# generation to write to ("" for the current one and the one being built), ARGV[5..]:
# the products' padded ids. An order counts in a generation only if that generation's
# recorded orders did not hold it, checked and counted in one script, which Redis runs
# atomically: no generation ever counts an order twice.
RECORD_SCRIPT = """
local generations = {}
if ARGV[4] ~= '' then
  generations[1] = ARGV[4]
else
  generations[1] = redis.call('GET', KEYS[1]) or '0'
  local building = redis.call('GET', KEYS[2])
  if building and building ~= generations[1] then
    generations[2] = building
  end
end
local counted = 0
for _, generation in ipairs(generations) do
  local base = ARGV[1] .. 'g' .. generation .. ':'
  if redis.call('ZADD', base .. 'orders', 'NX', ARGV[3], ARGV[2]) == 1 then
    counted = 1
    for i = 5, #ARGV do
      local key = base .. 'bt:' .. string.gsub(ARGV[i], '^0+', '')
      for j = 5, #ARGV do
        if i ~= j then
          redis.call('ZINCRBY', key, 1, ARGV[j])
        end
      end
    end
  end
end
return counted
"""

# KEYS[1]: the pointer, KEYS[2]: the generation being built; ARGV[1]: the generation the
# caller built. Points the pages at it only if it is still the one being built (another
# rebuild did not take over, its lease did not run out); the generation replaced, or
# nothing (nil).
SWITCH_SCRIPT = """
if redis.call('GET', KEYS[2]) ~= ARGV[1] then
  return false
end
local old = redis.call('GET', KEYS[1]) or '0'
redis.call('SET', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
return old
"""

# KEYS[1]: a lock; ARGV[1]: its holder's token, ARGV[2]: milliseconds (0: release).
LOCK_SCRIPT = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
if ARGV[2] == '0' then
  return redis.call('DEL', KEYS[1])
end
return redis.call('PEXPIRE', KEYS[1], ARGV[2])
"""

# A rebuild's generation and lock are leased for this long, renewed after each batch: a
# rebuild that died leaves neither behind for longer.
REBUILD_LEASE_SECONDS = 15 * 60


def _member(product_id: int) -> str:
    return str(int(product_id)).zfill(ID_WIDTH)


def _paid_score(paid_at: datetime | None) -> str:
    return repr((paid_at or timezone.now()).timestamp())


class RebuildAbandoned(RuntimeError):
    """The generation a rebuild filled is no longer the one being built."""


class RedisStore:
    """A sorted set per product and one of recorded orders per generation, all keys
    under `prefix`.

    A rebuild fills a new generation while pages read the current one and workers record
    into both, then switches the pointer in one script and drops the old generation: the
    pages never see an empty store, and no order counts twice (see RECORD_SCRIPT).

    The recorded orders are kept only for orders paid in the last
    `remember_hours()` (the catch-up's window and a day more), trimmed by each catch-up:
    only those can be recorded again (a task redelivered, the catch-up), and
    `services.record_order` refuses older ones, which the last rebuild counted. One sorted
    set scored by payment time was chosen over per-day sets with an expiry because the
    catch-up asks about orders by id, without their day.
    """

    name = "redis"
    forgets_recorded_orders = True

    def __init__(self, client: Any, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self._record = client.register_script(RECORD_SCRIPT)
        self._switch = client.register_script(SWITCH_SCRIPT)
        self._lease = client.register_script(LOCK_SCRIPT)
        self._lock_token = ""

    @property
    def _pointer(self) -> str:
        return f"{self.prefix}gen"

    @property
    def _building(self) -> str:
        return f"{self.prefix}building"

    @property
    def _lock(self) -> str:
        return f"{self.prefix}rebuild-lock"

    def _generation(self) -> str:
        value = self.client.get(self._pointer)
        return value.decode() if isinstance(value, bytes) else str(value or "0")

    def _key(self, generation: str, product_id: int) -> str:
        return f"{self.prefix}g{generation}:bt:{int(product_id)}"

    def _orders_key(self, generation: str) -> str:
        return f"{self.prefix}g{generation}:orders"

    def _run_record(
        self,
        order_id: int,
        product_ids: Iterable[int],
        paid_at: datetime | None,
        into: str = "",
        client: Any = None,
    ) -> Any:
        args = [
            self.prefix,
            str(int(order_id)),
            _paid_score(paid_at),
            into,
            *(_member(pk) for pk in _distinct(product_ids)),
        ]
        return self._record(keys=[self._pointer, self._building], args=args, client=client)

    def record(
        self, order_id: int, product_ids: Iterable[int], paid_at: datetime | None = None
    ) -> bool:
        return bool(self._run_record(order_id, product_ids, paid_at))

    def _record_into(self, orders: Iterable[RecordedOrderRow], into: str) -> int:
        pipe = self.client.pipeline(transaction=False)
        for row in orders:
            self._run_record(row[0], row[1], row[2] if len(row) > 2 else None, into, pipe)
        return sum(int(result) for result in pipe.execute())

    def record_many(self, orders: Iterable[RecordedOrderRow]) -> int:
        return self._record_into(orders, "")

    def recorded(self, order_ids: Iterable[int]) -> set[int]:
        wanted = sorted({int(pk) for pk in order_ids})
        if not wanted:
            return set()
        scores = self.client.zmscore(
            self._orders_key(self._generation()), [str(pk) for pk in wanted]
        )
        return {pk for pk, score in zip(wanted, scores, strict=True) if score is not None}

    def top(self, product_id: int, limit: int) -> list[int]:
        if limit <= 0:
            return []
        members = self.client.zrevrangebyscore(
            self._key(self._generation(), product_id), "+inf", "(0", start=0, num=limit
        )
        return [int(member) for member in members]

    def suggest(self, product_ids: Iterable[int], limit: int) -> list[int]:
        products = _distinct(product_ids)
        if not products or limit <= 0:
            return []
        generation = self._generation()
        scratch = f"{self.prefix}scratch:{uuid.uuid4().hex}"
        pipe = self.client.pipeline(transaction=True)
        pipe.zunionstore(scratch, [self._key(generation, pk) for pk in products], aggregate="SUM")
        pipe.zrem(scratch, *(_member(pk) for pk in products))
        pipe.zrevrangebyscore(scratch, "+inf", "(0", start=0, num=limit)
        pipe.delete(scratch)
        members = pipe.execute()[2]
        return [int(member) for member in members]

    def pair_count(self, product_id: int, other_id: int) -> int:
        key = self._key(self._generation(), product_id)
        return int(self.client.zscore(key, _member(other_id)) or 0)

    def is_built(self) -> bool:
        """False when the pointer is gone: never built, or Redis lost its data (restarted
        without persistence, or evicted it)."""
        return bool(self.client.exists(self._pointer))

    @contextmanager
    def rebuild_lock(self) -> Iterator[bool]:
        """True for the one caller holding the lock (SET NX with a lease), False for the
        others; released on leaving, or by its lease if the holder dies."""
        token = uuid.uuid4().hex
        held = bool(self.client.set(self._lock, token, nx=True, ex=REBUILD_LEASE_SECONDS))
        self._lock_token = token if held else ""
        try:
            yield held
        finally:
            if held:
                self._lease(keys=[self._lock], args=[token, "0"])
                self._lock_token = ""

    def _renew(self, generation: str) -> None:
        lease = REBUILD_LEASE_SECONDS * 1000
        self.client.pexpire(self._building, lease)
        if self._lock_token:
            self._lease(keys=[self._lock], args=[self._lock_token, str(lease)])

    def rebuild(self, batches: Iterable[list[RecordedOrderRow]]) -> int:
        """Fill a new generation from `batches` (read only after it is marked as being
        built, so that an order paid meanwhile is either read or recorded into it by its
        task), then switch the pages to it and drop the old one."""
        self._drop_abandoned(self._generation())
        self._unlink_matching(f"{self.prefix}bt:*")  # the layout before generations
        self.client.unlink(f"{self.prefix}orders")
        # A random name, not a counter: a counter evicted or reset by Redis could name
        # the generation the pages read, and the switch would then drop it.
        generation = uuid.uuid4().hex
        self.client.set(self._building, generation, ex=REBUILD_LEASE_SECONDS)
        counted = 0
        for batch in batches:
            counted += self._record_into(batch, generation)
            self._renew(generation)
        old = self._switch(keys=[self._pointer, self._building], args=[generation])
        if old is None:
            self._drop(generation)
            raise RebuildAbandoned(f"generation {generation} was no longer being built")
        self._drop(old.decode() if isinstance(old, bytes) else str(old))
        return counted

    def forget_before(self, cutoff: datetime) -> None:
        """Forget the recorded orders paid before `cutoff` (see the class docstring)."""
        score = f"({cutoff.timestamp()!r}"
        generations = {self._generation()}
        building = self.client.get(self._building)
        if building:
            generations.add(building.decode() if isinstance(building, bytes) else building)
        for generation in generations:
            self.client.zremrangebyscore(self._orders_key(generation), "-inf", score)

    def _unlink_matching(self, pattern: str) -> None:
        batch: list[Any] = []
        for key in self.client.scan_iter(match=pattern, count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                self.client.unlink(*batch)
                batch = []
        if batch:
            self.client.unlink(*batch)

    def _drop_abandoned(self, current: str) -> None:
        """Drop what a rebuild that died (its worker killed) left of its generation; the
        caller holds the rebuild lock, so no other generation is being built."""
        marker = f"{self.prefix}g{current}:".encode()
        batch: list[Any] = []
        for key in self.client.scan_iter(match=f"{self.prefix}g*:*", count=1000):
            raw = key if isinstance(key, bytes) else str(key).encode()
            if not raw.startswith(marker):
                batch.append(key)
            if len(batch) >= 1000:
                self.client.unlink(*batch)
                batch = []
        if batch:
            self.client.unlink(*batch)

    def _drop(self, generation: str) -> None:
        self._unlink_matching(f"{self.prefix}g{generation}:*")

    def clear(self) -> None:
        """Everything under the prefix, the pointer included (tests, and a store given
        up): the store is then not built."""
        self._unlink_matching(f"{self.prefix}*")


# --- which one ----------------------------------------------------------------------------

_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()

# A page waits at most this long for Redis before it shows no recommendations.
REDIS_TIMEOUT_SECONDS = 2.0


def redis_url() -> str:
    """The Redis the recommendations use: their own, else the cache's; "" for none."""
    dedicated = str(getattr(settings, "RECOMMENDATIONS_REDIS_URL", "") or "")
    if dedicated:
        return dedicated
    cache = settings.CACHES["default"]
    if str(cache.get("BACKEND", "")).endswith("RedisCache"):
        location = cache.get("LOCATION")
        if isinstance(location, list | tuple):
            location = location[0]
        return str(location or "")
    return ""


def redis_prefix() -> str:
    """Keys live under the cache's prefix, so one Redis serves several sites."""
    return f"{settings.CACHES['default'].get('KEY_PREFIX') or 'lavka'}:recs:"


def redis_client(url: str) -> Any:
    """One client (with its connection pool) per URL and process."""
    with _clients_lock:
        client = _clients.get(url)
        if client is None:
            import redis

            client = redis.Redis.from_url(
                url,
                socket_timeout=REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            )
            _clients[url] = client
        return client


def configured_store() -> BoughtTogetherStore:
    """Redis when Redis is configured (RECOMMENDATIONS_REDIS_URL or a redis:// CACHE_URL),
    the database otherwise."""
    url = redis_url()
    if url:
        return RedisStore(redis_client(url), redis_prefix())
    return DatabaseStore()
