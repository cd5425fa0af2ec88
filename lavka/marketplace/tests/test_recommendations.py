"""The "bought together" recommendations: one set of expectations for both stores, the
services that feed them from paid orders, and the pages that show them."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from lavka.core.tests.support import wait_until
from lavka.marketplace.models import CreatorProfile, Order, Product
from lavka.marketplace.orders import services as orders
from lavka.marketplace.recommendations import selectors, services, stores
from lavka.marketplace.tests.factories import (
    CreatorProfileFactory,
    ProductFactory,
    ProductImageFactory,
)
from lavka.marketplace.tests.orders_helpers import checkout, line, run_in_threads

NO_REDIS = (
    "no Redis configured for the Redis store: set CACHE_URL=redis://… or "
    "RECOMMENDATIONS_REDIS_URL (CI's second run does)"
)


@pytest.fixture(params=["database", "redis"])
def store(request: Any) -> Iterator[stores.BoughtTogetherStore]:
    """Each store in turn; the Redis one under a prefix of the test's own."""
    if request.param == "database":
        request.getfixturevalue("db")
        yield stores.DatabaseStore()
        return
    url = stores.redis_url()
    if not url:
        pytest.skip(NO_REDIS)
    request.getfixturevalue("db")
    yield from _built_redis_store(url)


def _built_redis_store(url: str) -> Iterator[stores.RedisStore]:
    """A Redis store under a prefix of the test's own, built (empty) as a running site's
    is, removed afterwards."""
    client = stores.redis_client(url)
    redis_store = stores.RedisStore(client, f"{stores.redis_prefix()}test-{uuid.uuid4().hex}:")
    redis_store.rebuild([])
    try:
        yield redis_store
    finally:
        redis_store.clear()


@pytest.fixture
def redis_store(db: None) -> Iterator[stores.RedisStore]:
    url = stores.redis_url()
    if not url:
        pytest.skip(NO_REDIS)
    yield from _built_redis_store(url)


def products(count: int, **fields: Any) -> list[Product]:
    """`count` products on sale of one creator, oldest (lowest id) first."""
    creator = CreatorProfileFactory()
    return [ProductFactory(creator=creator, **fields) for _ in range(count)]


def paid_order(customer: Any, *items: Product) -> Order:
    order = checkout(customer, [line(item) for item in items]).order
    return orders.mark_paid(order=order)


# --- the stores -------------------------------------------------------------------------


def test_an_order_recorded_twice_counts_once(store: Any) -> None:
    a, b, c = products(3)

    first = store.record(1, [a.pk, b.pk])
    again = store.record(1, [a.pk, b.pk])
    store.record(2, [a.pk, c.pk])

    assert (first, again) == (True, False)
    assert store.pair_count(a.pk, b.pk) == 1
    assert store.pair_count(b.pk, a.pk) == 1
    assert store.pair_count(a.pk, c.pk) == 1
    assert store.recorded([1, 2, 3]) == {1, 2}


def test_top_ranks_by_orders_then_the_newer_product_first(store: Any) -> None:
    a, b, c, d, e = products(5)
    store.record_many([(1, [a.pk, b.pk]), (2, [a.pk, c.pk]), (3, [a.pk, d.pk])])
    store.record_many([(4, [a.pk, e.pk]), (5, [e.pk, a.pk])])

    ranked = store.top(a.pk, 10)

    assert ranked == [e.pk, d.pk, c.pk, b.pk]
    assert store.top(a.pk, 2) == [e.pk, d.pk]
    assert store.top(a.pk, 0) == []


def test_a_product_is_never_bought_together_with_itself(store: Any) -> None:
    a, b = products(2)

    store.record(1, [a.pk, a.pk, b.pk])
    store.record(2, [a.pk])

    assert store.top(a.pk, 10) == [b.pk]
    assert store.top(b.pk, 10) == [a.pk]
    assert store.recorded([1, 2]) == {1, 2}


def test_cart_suggestions_sum_over_the_cart_and_leave_the_cart_out(store: Any) -> None:
    a, b, c, d = products(4)
    store.record_many(
        [(1, [a.pk, b.pk, c.pk]), (2, [a.pk, d.pk]), (3, [b.pk, d.pk]), (4, [b.pk, d.pk])]
    )

    suggested = store.suggest([a.pk, b.pk], 10)

    assert suggested == [d.pk, c.pk]
    assert store.suggest([a.pk, b.pk], 1) == [d.pk]
    assert store.suggest([], 10) == []


def test_unknown_products_have_nothing_bought_together(store: Any) -> None:
    (a,) = products(1)

    assert store.top(a.pk, 4) == []
    assert store.top(987_654_321, 4) == []
    assert store.suggest([987_654_321, a.pk], 4) == []


def test_clear_forgets_counts_and_recorded_orders(store: Any) -> None:
    a, b = products(2)
    store.record(1, [a.pk, b.pk])

    store.clear()

    assert store.top(a.pk, 4) == []
    assert store.recorded([1]) == set()
    assert store.record(1, [a.pk, b.pk]) is True


@pytest.mark.django_db(transaction=True)
def test_concurrent_recordings_count_each_order_once(store: Any) -> None:
    """Eight workers at once: four orders sharing products, each delivered twice."""
    a, b, c = products(3)
    calls = [
        (lambda order=order: store.record(order, [c.pk, a.pk, b.pk]))
        for order in (1, 2, 3, 4)
        for _ in range(2)
    ]

    results = run_in_threads(calls)

    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(results) == [False] * 4 + [True] * 4
    assert {store.pair_count(x.pk, y.pk) for x in (a, b, c) for y in (a, b, c) if x != y} == {4}


# --- what the pages read ------------------------------------------------------------------


def test_only_products_on_sale_are_shown(store: Any, user_factory: Any) -> None:
    a, shown, archived, inactive = products(4)
    pending = ProductFactory(creator=CreatorProfileFactory(status=CreatorProfile.Status.PENDING))
    blocked = ProductFactory(creator=CreatorProfileFactory(user=user_factory(is_active=False)))
    Product.objects.filter(pk=archived.pk).update(archived_at=timezone.now())
    Product.objects.filter(pk=inactive.pk).update(is_active=False)
    store.record(1, [a.pk, shown.pk, archived.pk, inactive.pk, pending.pk, blocked.pk])

    result = selectors.bought_together(a.pk, store=store)

    assert result == [shown]


def test_a_full_list_even_when_the_best_are_off_sale(store: Any) -> None:
    a, *others = products(6)
    for number, other in enumerate(others):  # the newest is bought with `a` most often
        store.record_many([(100 * number + k, [a.pk, other.pk]) for k in range(number + 1)])
    Product.objects.filter(pk__in=[others[-1].pk, others[-2].pk]).update(is_active=False)

    result = selectors.bought_together(a.pk, limit=3, store=store)

    assert result == [others[-3], others[-4], others[-5]]


@pytest.mark.parametrize("bad", [0, -1, 2**63, 2**80, "1", None, 1.5, True])
def test_bad_product_ids_give_nothing(store: Any, bad: Any) -> None:
    assert selectors.bought_together(bad, store=store) == []
    assert selectors.suggestions_for_cart([bad], store=store) == []


def test_an_archived_or_unknown_product_has_nothing_bought_together(store: Any) -> None:
    a, b, c = products(3)
    store.record(1, [a.pk, b.pk, c.pk])
    Product.objects.filter(pk=a.pk).update(archived_at=timezone.now())

    assert selectors.bought_together(a.pk, store=store) == []
    assert selectors.bought_together(a.pk + 1000, store=store) == []
    assert selectors.suggestions_for_cart([a.pk, a.pk + 1000], store=store) == []
    assert selectors.suggestions_for_cart([a.pk, b.pk], store=store) == [c]


def test_a_store_that_does_not_answer_shows_nothing(db: None) -> None:
    a, b = products(2)
    dead = stores.RedisStore(stores.redis_client("redis://127.0.0.1:9/0"), "lavka-test:dead:")

    assert selectors.bought_together(a.pk, store=dead) == []
    assert selectors.suggestions_for_cart([a.pk, b.pk], store=dead) == []


# --- fed from paid orders -----------------------------------------------------------------


def test_rebuild_from_paid_orders_equals_what_was_recorded_one_by_one(
    store: Any, customer: Any
) -> None:
    a, b, c, d = products(4, stock=100)
    paid = [
        paid_order(customer, a, b),
        paid_order(customer, a, b, c),
        paid_order(customer, c, d),
        paid_order(customer, d),
    ]
    checkout(customer, [line(a), line(d)])  # never paid: never counted
    for order in paid:
        assert services.record_order(order_id=order.pk, store=store) is True

    def state() -> dict[tuple[int, int], int]:
        ids = [a.pk, b.pk, c.pk, d.pk]
        return {(x, y): store.pair_count(x, y) for x in ids for y in ids if x != y}

    incremental, tops = state(), [store.top(x.pk, 10) for x in (a, b, c, d)]

    rebuilt = services.rebuild(store=store)

    assert rebuilt == 4
    assert state() == incremental
    assert [store.top(x.pk, 10) for x in (a, b, c, d)] == tops
    assert incremental[(a.pk, d.pk)] == 0 and incremental[(a.pk, b.pk)] == 2


def test_an_unpaid_order_is_not_recorded(store: Any, customer: Any) -> None:
    a, b = products(2)
    order = checkout(customer, [line(a), line(b)]).order

    assert services.record_order(order_id=order.pk, store=store) is False
    assert services.record_order(order_id=987_654, store=store) is False
    assert store.top(a.pk, 4) == []


def test_catch_up_records_recent_paid_orders_whose_task_was_lost(store: Any, customer: Any) -> None:
    a, b, c = products(3, stock=100)
    recorded = paid_order(customer, a, b)
    services.record_order(order_id=recorded.pk, store=store)
    lost = paid_order(customer, a, c)
    old = paid_order(customer, b, c)
    Order.objects.filter(pk=old.pk).update(paid_at=timezone.now() - timedelta(days=3))

    caught = services.catch_up(store=store, hours=48)
    again = services.catch_up(store=store, hours=48)

    assert (caught, again) == (1, 0)
    assert store.recorded([recorded.pk, lost.pk, old.pk]) == {recorded.pk, lost.pk}
    assert store.pair_count(a.pk, b.pk) == 1


def test_the_rebuild_command_records_every_paid_order(db: None, customer: Any) -> None:
    a, b = products(2, stock=100)
    order = paid_order(customer, a, b)
    old = paid_order(customer, a, b)
    Order.objects.filter(pk=old.pk).update(paid_at=timezone.now() - timedelta(days=300))
    out = io.StringIO()

    call_command("rebuild_recommendations", stdout=out)

    assert "2 paid orders recorded" in out.getvalue()
    store = stores.configured_store()
    assert order.pk in store.recorded([order.pk, old.pk])
    assert store.pair_count(a.pk, b.pk) == 2
    store.clear()


# --- rebuilding, and losing the store's data ----------------------------------------------


class ClientMeanwhile:
    """A Redis client that runs `meanwhile` once, just before the first batch write or
    key removal it is asked for: a worker's recording arriving at that moment."""

    def __init__(self, client: Any, meanwhile: Any) -> None:
        self._client = client
        self._meanwhile = meanwhile

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if name not in {"pipeline", "unlink"} or self._meanwhile is None:
            return attribute

        def first(*args: Any, **kwargs: Any) -> Any:
            meanwhile, self._meanwhile = self._meanwhile, None
            if meanwhile is not None:
                meanwhile()
            return attribute(*args, **kwargs)

        return first


def test_an_order_recorded_by_a_worker_during_a_redis_rebuild_counts_once(
    redis_store: stores.RedisStore, customer: Any
) -> None:
    a, b, c, d = products(4, stock=100)
    before = paid_order(customer, a, b)
    services.record_order(order_id=before.pk, store=redis_store)
    late = paid_order(customer, c, d)  # its task runs while the rebuild does
    seen_meanwhile: list[list[int]] = []

    def worker_records_late_order() -> None:
        services.record_order(order_id=late.pk, store=redis_store)
        seen_meanwhile.append(redis_store.top(a.pk, 4))

    rebuilding = stores.RedisStore(
        ClientMeanwhile(redis_store.client, worker_records_late_order), redis_store.prefix
    )
    services.rebuild(store=rebuilding)

    assert seen_meanwhile == [[b.pk]]
    assert redis_store.pair_count(c.pk, d.pk) == 1
    assert redis_store.pair_count(d.pk, c.pk) == 1
    assert redis_store.pair_count(a.pk, b.pk) == 1
    assert redis_store.recorded([before.pk, late.pk]) == {before.pk, late.pk}


def test_a_redis_rebuild_drops_the_old_generation_and_the_old_layout(
    redis_store: stores.RedisStore, customer: Any
) -> None:
    a, b = products(2, stock=100)
    services.record_order(order_id=paid_order(customer, a, b).pk, store=redis_store)

    redis_store.client.zincrby(f"{redis_store.prefix}bt:{a.pk}", 1, "7")  # the old layout
    redis_store.client.sadd(f"{redis_store.prefix}orders", "7")

    services.rebuild(store=redis_store)
    services.rebuild(store=redis_store)

    prefix = redis_store.prefix
    names = [k.decode().removeprefix(prefix) for k in redis_store.client.scan_iter(f"{prefix}*")]
    generation = redis_store.client.get(f"{prefix}gen").decode()
    assert {name.split(":")[0] for name in names if ":" in name} == {f"g{generation}"}
    assert "orders" not in names
    assert redis_store.pair_count(a.pk, b.pk) == 1


def test_a_redis_rebuild_never_names_its_generation_after_the_live_one(
    redis_store: stores.RedisStore, customer: Any
) -> None:
    """Generations are random names: before, a counter that Redis evicted or a restore
    reset could hand a rebuild the live generation's number, and the switch then
    dropped the counts the pages read."""
    a, b = products(2, stock=100)
    services.record_order(order_id=paid_order(customer, a, b).pk, store=redis_store)
    services.rebuild(store=redis_store)
    first = redis_store.client.get(f"{redis_store.prefix}gen")
    redis_store.client.delete(f"{redis_store.prefix}gen-seq")  # what the counter was

    services.rebuild(store=redis_store)

    assert redis_store.client.get(f"{redis_store.prefix}gen") != first
    assert redis_store.pair_count(a.pk, b.pk) == 1


@pytest.mark.django_db(transaction=True)
def test_an_order_recorded_during_a_database_rebuild_counts_once(customer: Any) -> None:
    """PostgreSQL: the worker's transaction holds its rows while the rebuild starts."""
    if connection.vendor != "postgresql":
        pytest.skip("the race needs concurrent writers: PostgreSQL (DATABASE_URL=postgres://…)")
    import threading

    from django.db import connections, transaction

    store = stores.DatabaseStore()
    a, b, c = products(3, stock=100)
    services.record_order(order_id=paid_order(customer, a, b).pk, store=store)
    late = paid_order(customer, a, b, c)
    recorded, release = threading.Event(), threading.Event()
    outcome: dict[str, Any] = {}

    def worker() -> None:
        try:
            with transaction.atomic():
                outcome["worker"] = services.record_order(order_id=late.pk, store=store)
                recorded.set()
                release.wait(30)
        finally:
            connections.close_all()

    def rebuilder() -> None:
        try:
            outcome["rebuild"] = services.rebuild(store=store)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker), threading.Thread(target=rebuilder)]
    threads[0].start()
    assert recorded.wait(30)
    threads[1].start()
    wait_until(lambda: _waiting_on_a_lock() > 0, timeout=30)
    release.set()
    for thread in threads:
        thread.join(60)

    assert outcome == {"worker": True, "rebuild": 2}
    assert store.pair_count(a.pk, c.pk) == 1
    assert store.pair_count(c.pk, b.pk) == 1
    assert store.pair_count(a.pk, b.pk) == 2


def _waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        return int(cursor.fetchone()[0])


def test_the_catch_up_rebuilds_in_full_a_redis_store_that_lost_its_data(
    redis_store: stores.RedisStore, customer: Any
) -> None:
    a, b, c = products(3, stock=100)
    old = paid_order(customer, a, b)
    Order.objects.filter(pk=old.pk).update(paid_at=timezone.now() - timedelta(days=300))
    recent = paid_order(customer, a, c)
    services.rebuild(store=redis_store)
    redis_store.clear()  # Redis restarted without persistence
    assert redis_store.is_built() is False

    caught = services.catch_up(store=redis_store)
    again = services.catch_up(store=redis_store)

    assert (caught, again) == (2, 0)
    assert redis_store.is_built() is True
    assert redis_store.pair_count(a.pk, b.pk) == 1
    assert redis_store.pair_count(a.pk, c.pk) == 1
    assert redis_store.recorded([recent.pk]) == {recent.pk}


def test_only_the_worker_holding_the_lock_rebuilds_a_lost_store(
    redis_store: stores.RedisStore, customer: Any
) -> None:
    a, b = products(2, stock=100)
    paid_order(customer, a, b)
    redis_store.clear()

    with redis_store.rebuild_lock() as first:
        second = services.catch_up(store=redis_store)
        built_meanwhile = redis_store.is_built()
    after = services.catch_up(store=redis_store)

    assert (first, second, built_meanwhile) == (True, 0, False)
    assert after == 1
    assert redis_store.pair_count(a.pk, b.pk) == 1


def test_the_rebuild_command_refuses_while_another_rebuild_runs(
    db: None, configured_store_cleared: None
) -> None:
    store = stores.configured_store()
    if store.name != "redis":
        pytest.skip(NO_REDIS)
    from django.core.management.base import CommandError

    with store.rebuild_lock(), pytest.raises(CommandError, match="another rebuild"):
        call_command("rebuild_recommendations", stdout=io.StringIO())


def test_redis_remembers_recorded_orders_only_within_the_catch_up_window(
    redis_store: stores.RedisStore, customer: Any, settings: Any
) -> None:
    settings.LAVKA_RECOMMENDATIONS_CATCH_UP_HOURS = 48
    a, b, c = products(3, stock=100)
    old = paid_order(customer, a, b)
    recent = paid_order(customer, a, c)
    days_ago = timezone.now() - timedelta(days=4)
    Order.objects.filter(pk=old.pk).update(paid_at=days_ago)
    redis_store.record(old.pk, [a.pk, b.pk], days_ago)
    services.record_order(order_id=recent.pk, store=redis_store)

    services.catch_up(store=redis_store)
    redelivered = services.record_order(order_id=old.pk, store=redis_store)

    assert redis_store.recorded([old.pk, recent.pk]) == {recent.pk}
    assert redelivered is False
    assert redis_store.pair_count(a.pk, b.pk) == 1
    generation = redis_store.client.get(f"{redis_store.prefix}gen").decode()
    assert redis_store.client.zcard(f"{redis_store.prefix}g{generation}:orders") == 1


def test_the_task_records_a_paid_order_once_however_often_it_runs(
    db: None, customer: Any, configured_store_cleared: None
) -> None:
    from lavka.marketplace.tasks import record_bought_together

    a, b = products(2)
    order = paid_order(customer, a, b)

    first = record_bought_together.apply(args=(order.pk,)).get()
    second = record_bought_together.apply(args=(order.pk,)).get()

    assert (first, second) == (True, False)
    assert stores.configured_store().pair_count(a.pk, b.pk) == 1


def test_the_catch_up_is_a_beat_entry_of_a_registered_task(settings: Any) -> None:
    from lavka.core import background

    entry = settings.CELERY_BEAT_SCHEDULE["marketplace.catch_up_bought_together"]

    assert background.task_named(entry["task"]).name == "marketplace.catch_up_bought_together"
    assert entry["schedule"] > 0


@pytest.mark.worker
@pytest.mark.slow
def test_a_real_worker_records_an_order_once_it_is_paid(
    celery_worker_process: Any, customer: Any
) -> None:
    a, b = products(2, stock=10)
    store = stores.configured_store()
    order = checkout(customer, [line(a), line(b)]).order

    orders.mark_paid(order=order)

    recorded = wait_until(lambda: store.recorded([order.pk]), timeout=60)
    assert recorded == {order.pk}, celery_worker_process.log_tail()
    assert store.top(a.pk, 4) == [b.pk]
    store.clear()


# --- the pages ----------------------------------------------------------------------------


def _recorded(*groups: list[Product]) -> None:
    store = stores.configured_store()
    store.clear()
    store.record_many(
        [(10_000 + number, [p.pk for p in group]) for number, group in enumerate(groups)]
    )


@pytest.fixture
def configured_store_cleared() -> Iterator[None]:
    yield
    stores.configured_store().clear()


def _page_url(product: Product) -> str:
    return f"/shop/creators/{product.creator.slug}/{product.slug}/"


def test_the_product_page_shows_what_was_bought_together(
    client: Client, db: None, configured_store_cleared: None
) -> None:
    a, b, c, hidden = products(4)
    Product.objects.filter(pk=hidden.pk).update(archived_at=timezone.now())
    _recorded([a, b, hidden], [a, c], [a, c])

    page = client.get(_page_url(a)).content.decode()
    alone = client.get(_page_url(ProductFactory())).content.decode()

    assert 'data-testid="bought-together"' in page
    section = page.split('data-testid="bought-together"')[1]
    assert section.index(c.title_en) < section.index(b.title_en)
    assert hidden.title_en not in page
    assert 'data-testid="bought-together"' not in alone


def test_the_product_page_shows_the_configured_number(
    client: Client, db: None, settings: Any, configured_store_cleared: None
) -> None:
    settings.LAVKA_RECOMMENDATIONS_COUNT = 2
    a, *others = products(5)
    _recorded([a, *others])

    page = client.get(_page_url(a)).content.decode()

    assert page.split('data-testid="bought-together"')[1].count('data-testid="product-card"') == 2


def test_the_product_page_queries_do_not_grow_with_recommendations(
    client: Client, db: None, configured_store_cleared: None
) -> None:
    a, *others = products(9)
    for other in others:
        ProductImageFactory(product=other)
        ProductImageFactory(product=other)

    def queries(shown: list[Product]) -> int:
        _recorded([a, *shown])
        with CaptureQueriesContext(connection) as captured:
            response = client.get(_page_url(a))
        assert response.status_code == 200
        assert response.content.decode().count('data-testid="product-card"') == len(shown)
        return len(captured)

    one, four = queries(others[:1]), queries(others[:4])

    assert one == four, f"{one} queries with one recommendation, {four} with four"
    assert four <= 12


def test_the_product_page_without_redis_answering_still_shows(
    client: Client, db: None, settings: Any
) -> None:
    settings.RECOMMENDATIONS_REDIS_URL = "redis://127.0.0.1:9/0"
    (a,) = products(1)

    response = client.get(_page_url(a))

    assert response.status_code == 200
    assert 'data-testid="bought-together"' not in response.content.decode()


def test_the_cart_suggests_what_was_bought_with_its_products(
    client: Client, db: None, configured_store_cleared: None
) -> None:
    a, b, c, d = products(4)
    _recorded([a, b, c], [b, d], [b, d])
    client.post("/shop/cart/add/", {"product": a.pk, "quantity": 1})
    client.post("/shop/cart/add/", {"product": b.pk, "quantity": 1})

    page = client.get("/shop/cart/").content.decode()

    assert 'data-testid="cart-suggestions"' in page
    section = page.split('data-testid="cart-suggestions"')[1]
    assert section.index(d.title_en) < section.index(c.title_en)
    assert f'/{a.slug}/"' not in section and f'/{b.slug}/"' not in section


def test_an_empty_cart_suggests_nothing(client: Client, db: None) -> None:
    page = client.get("/shop/cart/").content.decode()

    assert 'data-testid="cart-suggestions"' not in page


def test_the_database_records_an_order_paid_long_ago_once_when_its_task_comes_late(
    customer: Any,
) -> None:
    # given an order paid a week ago whose task never ran (workers down for days)
    a, b = products(2)
    order = paid_order(customer, a, b)
    Order.objects.filter(pk=order.pk).update(paid_at=timezone.now() - timedelta(days=7))
    store = stores.DatabaseStore()

    # when its task finally runs, twice
    first = services.record_order(order_id=order.pk, store=store)
    again = services.record_order(order_id=order.pk, store=store)

    # then the database, which remembers every recorded order, counts it once
    assert (first, again) == (True, False)
    assert store.pair_count(a.pk, b.pk) == 1
