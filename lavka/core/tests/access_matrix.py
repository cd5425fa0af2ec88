"""The routes of the URL configuration with their declared access, and how to request them.

`walk()` walks the resolver (includes, namespaces and DRF routers alike) and finds each
route's `Access` in the `ACCESS` dict of the urls.py that holds it or of one that
includes it, then, for routes of third-party modules and lists (and unnamed routes of
lavka/urls.py), in lavka/urls.py's `ACCESS_BY_PREFIX`: a prefix never covers a route of
a Lavka app's urls.py. `TARGETS` makes the object a
route's parameters name, owned by a given user.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import admin
from django.http import HttpResponse
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.urls.resolvers import RegexPattern, RoutePattern
from django.utils import timezone
from django.utils.regex_helper import normalize

from lavka.core.access import Access, Outcome

ROOT_URLCONF_ACCESS = "ACCESS_BY_PREFIX"


@dataclass(frozen=True)
class Route:
    name: str  # as reverse() spells it from the root, "" for an unnamed route
    pattern: str  # the whole path pattern, from the root
    parts: tuple[Any, ...]  # the pattern objects from the root down to the route
    access: Access | None
    declared_in: str  # the module (or prefix) whose declaration applies

    @property
    def label(self) -> str:
        return self.name or self.pattern

    @property
    def parameters(self) -> list[str]:
        names: list[str] = []
        for part in self.parts:
            names.extend(_parameters(part))
        return names


@dataclass(frozen=True)
class _Scope:
    module: ModuleType
    namespaces: tuple[str, ...]


def _declarations(module: Any) -> dict[str, Access] | None:
    """A urls module's ACCESS (empty when it has none); None for a bare list of routes."""
    if isinstance(module, ModuleType):
        found = getattr(module, "ACCESS", None)
        return found if isinstance(found, dict) else {}
    return None


def _walk(
    patterns: list[Any],
    parts: tuple[Any, ...],
    namespaces: tuple[str, ...],
    scopes: tuple[_Scope, ...],
) -> Iterator[tuple[tuple[Any, ...], tuple[str, ...], str, tuple[_Scope, ...]]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = (*namespaces, entry.namespace) if entry.namespace else namespaces
            module = entry.urlconf_module
            inner_scopes = scopes
            if _declarations(module) is not None:
                inner_scopes = (*scopes, _Scope(module, inner))  # type: ignore[arg-type]
            yield from _walk(entry.url_patterns, (*parts, entry.pattern), inner, inner_scopes)
        elif isinstance(entry, URLPattern):
            yield (*parts, entry.pattern), namespaces, entry.name or "", scopes


@dataclass
class Walk:
    routes: list[Route]
    stale: list[str]  # declarations that name no route


def _joined(parts: tuple[Any, ...]) -> str:
    """The whole route as ResolverMatch.route spells it: inner regexes lose their "^"."""
    return "".join(
        str(part) if i == 0 else str(part).removeprefix("^") for i, part in enumerate(parts)
    )


def walk() -> Walk:
    """Every route of the URL configuration, with the declaration that applies to it."""
    resolver = get_resolver()
    root = _Scope(resolver.urlconf_module, ())  # type: ignore[arg-type]
    by_prefix: dict[str, Access] = getattr(root.module, ROOT_URLCONF_ACCESS, {})
    declared: dict[str, set[str]] = {root.module.__name__: set()}
    used: set[tuple[str, str]] = set()
    found: list[Route] = []
    for parts, namespaces, name, scopes in _walk(resolver.url_patterns, (), (), (root,)):
        full_name = ":".join((*namespaces, name)) if name else ""
        pattern = _joined(parts)
        access, declared_in = None, ""
        for scope in scopes:
            declared.setdefault(scope.module.__name__, set(_declarations(scope.module) or {}))
        if name:
            for scope in reversed(scopes):
                relative = ":".join((*namespaces[len(scope.namespaces) :], name))
                access = (_declarations(scope.module) or {}).get(relative)
                if access is not None:
                    used.add((scope.module.__name__, relative))
                    declared_in = f"{scope.module.__name__}.ACCESS[{relative!r}]"
                    break
        innermost = scopes[-1].module.__name__
        third_party = innermost == root.module.__name__ or not innermost.startswith("lavka.")
        if access is None and third_party:
            matches = [prefix for prefix in by_prefix if pattern.startswith(prefix)]
            if matches:
                longest = max(matches, key=len)
                used.add((ROOT_URLCONF_ACCESS, longest))
                access = by_prefix[longest]
                declared_in = f"{root.module.__name__}.{ROOT_URLCONF_ACCESS}[{longest!r}]"
        found.append(Route(full_name, pattern, parts, access, declared_in))
    declared[root.module.__name__] |= set(_declarations(root.module) or {})
    stale = [
        f"{module}.ACCESS[{key!r}]"
        for module, keys in declared.items()
        for key in sorted(keys)
        if (module, key) not in used
    ] + [
        f"{root.module.__name__}.{ROOT_URLCONF_ACCESS}[{prefix!r}]"
        for prefix in by_prefix
        if (ROOT_URLCONF_ACCESS, prefix) not in used
    ]
    return Walk(found, stale)


# --- building a route's path ----------------------------------------------------------

_ROUTE_PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


def _parameters(part: Any) -> list[str]:
    if isinstance(part, RoutePattern):
        return [match["name"] for match in _ROUTE_PARAMETER.finditer(str(part._route))]
    if isinstance(part, RegexPattern):
        return list(part.regex.groupindex)
    return []


def _fill(part: Any, values: dict[str, Any]) -> str:
    if isinstance(part, RoutePattern):
        converters = part.converters

        def to_url(match: re.Match[str]) -> str:
            name = match["name"]
            return str(converters[name].to_url(values[name]))

        return _ROUTE_PARAMETER.sub(to_url, str(part._route))
    if isinstance(part, RegexPattern):
        template, _names = normalize(part._regex)[0]
        return template % {name: str(values[name]) for name in part.regex.groupindex}
    return str(part)


def build_path(route: Route, values: dict[str, Any]) -> str:
    """The request path for a route with its parameters; it must resolve back to it."""
    path = "/" + "".join(_fill(part, values) for part in route.parts)
    match = resolve(path)
    assert match.route == route.pattern, (
        f"{path} resolves to {match.route!r}, not to {route.pattern!r}"
    )
    return path


# --- what parameters name -------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """How to make the object a route's parameters name, for a given owner."""

    make: Callable[[Any], dict[str, Any]]
    owned: bool = True  # False: not anyone's (or public), so no "other owner" case


def _recipient(owner: Any) -> dict[str, Any]:
    from lavka.campaigns.tests.factories import RecipientFactory

    return {"pk": RecipientFactory(owner=owner).pk}


def _list(owner: Any) -> dict[str, Any]:
    from lavka.campaigns.tests.factories import RecipientFactory, RecipientListFactory

    recipient_list = RecipientListFactory(owner=owner)
    recipient_list.recipients.add(RecipientFactory(owner=owner))
    return {"pk": recipient_list.pk}


def _import(owner: Any) -> dict[str, Any]:
    from lavka.campaigns.models import RecipientImport

    return {"pk": RecipientImport.objects.create(owner=owner, filename="clients.csv").pk}


def _message(owner: Any) -> dict[str, Any]:
    from lavka.campaigns.tests.factories import MessageFactory

    return {"pk": MessageFactory(owner=owner).pk}


def _mailing_of(owner: Any) -> Any:
    from lavka.campaigns.tests.factories import MailingFactory, RecipientFactory

    return MailingFactory(owner=owner, recipients=[RecipientFactory(owner=owner)])


def _mailing(owner: Any) -> dict[str, Any]:
    return {"pk": _mailing_of(owner).pk}


def _run(owner: Any) -> dict[str, Any]:
    from lavka.campaigns.models import MailingRun

    run = MailingRun.objects.create(
        mailing=_mailing_of(owner), scheduled_for=timezone.now() - timedelta(minutes=5)
    )
    return {"pk": run.pk}


def _unsubscribe_token(owner: Any) -> dict[str, Any]:
    from lavka.campaigns.tests.factories import RecipientFactory
    from lavka.campaigns.unsubscribe import make_token

    return {"token": make_token(RecipientFactory(owner=owner).pk)}


def _api_token(owner: Any) -> dict[str, Any]:
    from lavka.accounts import services

    return {"pk": services.create_api_token(user=owner, name="Probe").token.pk}


def _user(owner: Any) -> dict[str, Any]:
    return {"pk": owner.pk}


def _outbox_message(owner: Any) -> dict[str, Any]:
    from lavka.core.models import OutboxMessage

    message = OutboxMessage.objects.create(
        from_email="lavka@example.com",
        to=[owner.email],
        subject="Hello",
        text_body="Hello",
        html_body="<p>Hello</p>",
        raw="Subject: Hello\n\nHello",
    )
    return {"pk": message.pk}


def _page(owner: Any) -> dict[str, Any]:
    from lavka.content.tests.factories import PageFactory

    return {"pk": PageFactory().pk}


def _page_slug(owner: Any) -> dict[str, Any]:
    from lavka.content.tests.factories import PageFactory

    return {"slug": PageFactory().slug}


def _creator_profile_of(owner: Any) -> Any:
    """The owner's approved creator profile (made if missing; a customer gets one too,
    as after losing the role)."""
    from lavka.marketplace.models import CreatorProfile
    from lavka.marketplace.tests.factories import CreatorProfileFactory

    found = CreatorProfile.objects.filter(user=owner).first()
    return found or CreatorProfileFactory(user=owner)


def _product_of(owner: Any) -> Any:
    from lavka.marketplace.tests.factories import ProductFactory

    return ProductFactory(creator=_creator_profile_of(owner))


def _product(owner: Any) -> dict[str, Any]:
    return {"pk": _product_of(owner).pk}


def _product_image(owner: Any) -> dict[str, Any]:
    from lavka.marketplace.models import ProductImage

    # a row naming a file that is not there: no test writes into the real media folder
    image = ProductImage.objects.create(
        product=_product_of(owner), image="marketplace/products/probe.png"
    )
    return {"pk": image.pk}


def _product_slugs(owner: Any) -> dict[str, Any]:
    product = _product_of(owner)
    return {"creator_slug": product.creator.slug, "slug": product.slug}


def _category(owner: Any) -> Any:
    from lavka.marketplace.tests.factories import CategoryFactory

    return CategoryFactory()


def _creator_request(owner: Any) -> dict[str, Any]:
    from lavka.accounts.tests.factories import UserFactory
    from lavka.marketplace.models import CreatorProfile
    from lavka.marketplace.tests.factories import CreatorProfileFactory

    profile = CreatorProfileFactory(user=UserFactory(), status=CreatorProfile.Status.PENDING)
    return {"pk": profile.pk}


def _cart_item(owner: Any) -> dict[str, Any]:
    from lavka.marketplace.models import Cart, CartItem
    from lavka.marketplace.tests.factories import ProductFactory

    product = ProductFactory()
    cart, _made = Cart.objects.get_or_create(user=owner)
    item = CartItem.objects.create(cart=cart, product=product, quantity=1, unit_price=product.price)
    return {"pk": item.pk}


def _order_of(customer: Any, product: Any = None) -> Any:
    """An order placed through the checkout (awaiting payment)."""
    from lavka.marketplace.tests.factories import ProductFactory
    from lavka.marketplace.tests.orders_helpers import checkout, line

    return checkout(customer, [line(product or ProductFactory())]).order


def _sale(owner: Any) -> dict[str, Any]:
    from lavka.accounts.tests.factories import UserFactory

    return {"pk": _order_of(UserFactory(), _product_of(owner)).pk}


def _any_order(owner: Any) -> dict[str, Any]:
    from lavka.accounts.tests.factories import UserFactory

    return {"pk": _order_of(UserFactory()).pk}


def _paid_order_of(customer: Any) -> dict[str, Any]:
    """A paid order of `customer`, so with an invoice."""
    from lavka.marketplace.orders import services

    return {"pk": services.mark_paid(order=_order_of(customer)).pk}


def _any_paid_order(owner: Any) -> dict[str, Any]:
    from lavka.accounts.tests.factories import UserFactory

    return _paid_order_of(UserFactory())


def _donation_of(donor: Any) -> Any:
    """An awaiting-payment donation of `donor` to a creator who is someone else."""
    import uuid

    from lavka.marketplace.donations import services
    from lavka.marketplace.tests.factories import CreatorProfileFactory

    return services.donate(
        donor=donor,
        creator=CreatorProfileFactory(),
        product=None,
        amount="5.00",
        message="",
        provider_code="bank_transfer",
        checkout_token=uuid.uuid4(),
    ).donation


def _any_donation(owner: Any) -> dict[str, Any]:
    from lavka.accounts.tests.factories import UserFactory

    return {"pk": _donation_of(UserFactory()).pk}


def _download_token(owner: Any) -> dict[str, Any]:
    """A link of a paid order's digital line, its file in a folder of its own (the real
    private folder is never written by tests; the folder goes when the tests end)."""
    import atexit
    import shutil
    import tempfile
    from pathlib import Path

    from django.conf import settings
    from django.core.files.base import ContentFile

    from lavka.accounts.tests.factories import UserFactory
    from lavka.marketplace.downloads import services as downloads
    from lavka.marketplace.models import Product
    from lavka.marketplace.orders import services
    from lavka.marketplace.tests.factories import ProductFactory

    if not str(settings.MARKETPLACE_PRIVATE_ROOT).startswith(tempfile.gettempdir()):
        probe_root = Path(tempfile.mkdtemp(prefix="lavka-access-"))
        atexit.register(shutil.rmtree, probe_root, True)
        settings.MARKETPLACE_PRIVATE_ROOT = probe_root
    book = ProductFactory(kind=Product.Kind.DIGITAL, stock=None)
    book.digital_file.save("book.pdf", ContentFile(b"%PDF-1.4 probe"))
    order = _order_of(UserFactory(), book)
    (link,) = downloads.links_for(services.mark_paid(order=order))
    return {"token": link.path.rstrip("/").rsplit("/", 1)[-1]}


def _bookkeeping(owner: Any, what: str) -> dict[str, Any]:
    from lavka.integrations.models import SyncSchedule
    from lavka.integrations.tests.factories import (
        connected_owner,
        mapping_of,
        run_of,
        shift_sync_of,
    )

    if what == "connection":
        return {"pk": connected_owner(owner)["accounting"].pk}
    if what == "trade_point":
        return {"pk": connected_owner(owner)["trade_point"].pk}
    mapping = mapping_of(owner)
    if what == "mapped_trade_point":
        return {"pk": mapping.trade_point_id}
    schedule = SyncSchedule.objects.filter(owner=owner).first()
    assert schedule is not None
    if what == "run":
        return {"pk": run_of(schedule).pk}
    if what == "shift_sync":
        return {"pk": shift_sync_of(mapping).pk}
    return {"pk": schedule.pk}


def _demo_of(owner: Any) -> Any:
    from lavka.demos.models import Demo

    return Demo.objects.create(
        product=_product_of(owner),
        kind="faces",
        service_url="http://127.0.0.1:9/",
        max_bytes=1000,
        max_pixels=1000,
    )


def _demos(owner: Any, what: str) -> dict[str, Any]:
    from lavka.accounts.tests.factories import UserFactory
    from lavka.demos.models import DemoRun, DemoSample

    if what == "any_demo":
        return {"pk": _demo_of(UserFactory()).pk}
    if what == "demo":
        return {"pk": _demo_of(owner).pk}
    if what == "sample":
        # a row naming a file that is not there: no test writes into the real media folder
        sample = DemoSample.objects.create(
            demo=_demo_of(owner), file="demos/samples/probe.png", title="t", source_note="n"
        )
        return {"pk": sample.pk}
    run = DemoRun.objects.create(
        demo=_demo_of(UserFactory()),
        visitor=owner,
        upload="demos/uploads/probe.bin",
        upload_name="probe.png",
        upload_type="image/png",
        expires_at=timezone.now() + timedelta(hours=1),
        state="failed",
    )
    if what == "share_token":
        return {"token": run.share_token}
    return {"pk": run.pk}


def _prepared_file(owner: Any) -> dict[str, Any]:
    """A ready prepared file of `owner`, written to a folder of its own (the real private
    folder is never written by tests; the folder goes when the tests end)."""
    import atexit
    import shutil
    import tempfile
    from pathlib import Path

    from django.conf import settings

    from lavka.core.models import PreparedFile
    from lavka.core.work import WorkState

    if not Path(settings.PREPARED_FILES_ROOT).name.startswith("lavka-files-"):
        probe_root = Path(tempfile.mkdtemp(prefix="lavka-files-"))
        atexit.register(shutil.rmtree, probe_root, True)
        settings.PREPARED_FILES_ROOT = probe_root
    prepared = PreparedFile.objects.create(
        requested_by=owner,
        kind="core_tests.numbers",  # a producer everyone may use: the download re-checks it
        params={"rows": 1},
        filename="probe.csv",
        state=WorkState.DONE,
        expires_at=timezone.now() + timedelta(hours=1),
    )
    prepared.stored_name = f"{prepared.pk}.csv"
    prepared.save(update_fields=["stored_name"])
    (Path(settings.PREPARED_FILES_ROOT) / prepared.stored_name).write_text("\ufeffa\n")
    return {"pk": prepared.pk}


TARGETS: dict[str, Target] = {
    "core.prepared_file": Target(_prepared_file),
    "campaigns.recipient": Target(_recipient),
    "campaigns.list": Target(_list),
    "campaigns.message": Target(_message),
    "campaigns.import": Target(_import),
    "campaigns.mailing": Target(_mailing),
    "campaigns.run": Target(_run),
    "campaigns.unsubscribe_token": Target(_unsubscribe_token, owned=False),
    "accounts.api_token": Target(_api_token),
    "accounts.user": Target(_user, owned=False),
    "core.outbox_message": Target(_outbox_message, owned=False),
    "content.page": Target(_page, owned=False),
    "content.page_slug": Target(_page_slug, owned=False),
    "marketplace.product": Target(_product),
    "marketplace.product_image": Target(_product_image),
    "marketplace.product_slugs": Target(_product_slugs, owned=False),
    "marketplace.product_on_sale": Target(_product, owned=False),
    "marketplace.category": Target(lambda owner: {"pk": _category(owner).pk}, owned=False),
    "marketplace.category_slug": Target(lambda owner: {"slug": _category(owner).slug}, owned=False),
    "marketplace.creator": Target(lambda owner: {"pk": _creator_profile_of(owner).pk}, owned=False),
    "marketplace.creator_slug": Target(
        lambda owner: {"slug": _creator_profile_of(owner).slug}, owned=False
    ),
    "marketplace.creator_request": Target(_creator_request, owned=False),
    "marketplace.cart_item": Target(_cart_item),
    "marketplace.order": Target(lambda owner: {"pk": _order_of(owner).pk}),
    "marketplace.sale": Target(_sale),
    "marketplace.any_order": Target(_any_order, owned=False),
    "marketplace.paid_order": Target(_paid_order_of),
    "marketplace.any_paid_order": Target(_any_paid_order, owned=False),
    "marketplace.donation": Target(lambda owner: {"pk": _donation_of(owner).pk}),
    "marketplace.any_donation": Target(_any_donation, owned=False),
    "marketplace.download_token": Target(_download_token, owned=False),
    "integrations.connection": Target(lambda owner: _bookkeeping(owner, "connection")),
    "integrations.trade_point": Target(lambda owner: _bookkeeping(owner, "trade_point")),
    "integrations.mapped_trade_point": Target(
        lambda owner: _bookkeeping(owner, "mapped_trade_point")
    ),
    "integrations.schedule": Target(lambda owner: _bookkeeping(owner, "schedule")),
    "integrations.run": Target(lambda owner: _bookkeeping(owner, "run")),
    "integrations.shift_sync": Target(lambda owner: _bookkeeping(owner, "shift_sync")),
    "demos.any_demo": Target(lambda owner: _demos(owner, "any_demo"), owned=False),
    "demos.demo": Target(lambda owner: _demos(owner, "demo")),
    "demos.sample": Target(lambda owner: _demos(owner, "sample")),
    "demos.run": Target(lambda owner: _demos(owner, "run")),
    "demos.share_token": Target(lambda owner: _demos(owner, "share_token"), owned=False),
}


def _admin_model(route: Route) -> Any:
    """The model of an admin route (`admin/<app>/<model>/...`), or None."""
    if len(route.parts) < 3 or not route.pattern.startswith("admin/"):
        return None
    for model in admin.site._registry:
        if str(route.parts[-2]) == f"{model._meta.app_label}/{model._meta.model_name}/":
            return model
    return None


def sample_values(route: Route) -> dict[str, Any]:
    """Values for third-party routes' parameters: an existing row for the admin's object
    ids, a key that is not valid for allauth's links, a missing file for media."""
    values: dict[str, Any] = {
        "key": "not-a-valid-key",
        "uidb36": "0",
        "path": "lavka-access-probe.txt",
        "url": "no-such-page/",
    }
    if "app_label" in route.parameters:
        values["app_label"] = "campaigns"
    if "content_type_id" in route.parameters:
        from django.contrib.contenttypes.models import ContentType

        from lavka.accounts.models import User

        values["content_type_id"] = ContentType.objects.get_for_model(User).pk
    model = _admin_model(route)
    first = None
    if model is not None:
        first = model._default_manager.order_by("pk").values_list("pk", flat=True).first()
    for name in ("object_id", "id"):
        values[name] = first if first is not None else 0
    return values


# --- what came back -------------------------------------------------------------------


def login_paths() -> set[str]:
    return {reverse(settings.LOGIN_URL), reverse("admin:login")}


def observed(response: HttpResponse, *, method: str) -> Outcome | str:
    """The outcome a response stands for, or "HTTP <status>" for anything else."""
    status = response.status_code
    if status in {301, 302, 303, 307, 308}:
        location = urlsplit(response["Location"]).path
        return Outcome.LOGIN if location in login_paths() else Outcome.OK
    if 200 <= status < 300 or (status == 400 and method == "POST"):
        return Outcome.OK
    named = {
        401: Outcome.UNAUTHORIZED,
        403: Outcome.FORBIDDEN,
        404: Outcome.NOT_FOUND,
        405: Outcome.METHOD,
    }
    return named.get(status, f"HTTP {status}")
