"""Which service addresses Lavka may call: a creator types the URL, so it must not reach
the machine's own or the private network (SSRF) unless the site says it may.

Checked twice: `check_service_url` at save and before each call gives a clear message,
and `service_address_check` goes with the call to the HTTP client, which checks the
addresses it resolves when it connects and connects to exactly those. A DNS answer that
changes between the two (rebinding, TTL 0) is therefore refused, not followed."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from lavka.core.http import AddressCheck

# Prefixes whose last 32 bits are an IPv4 address that the packet ends up at: NAT64's
# well-known prefix (RFC 6052) and IPv4-translated addresses (RFC 2765).
_EMBEDS_IPV4_AT_END = (
    ipaddress.IPv6Network("64:ff9b::/96"),
    ipaddress.IPv6Network("::ffff:0:0:0/96"),
)
# Never a public service: IPv4-compatible addresses (deprecated, RFC 4291; Python counts
# ::127.0.0.1 as global) and NAT64's local-use prefix (RFC 8215, a private translator).
_NEVER_PUBLIC = (
    ipaddress.IPv6Network("::/96"),
    ipaddress.IPv6Network("64:ff9b:1::/48"),
)


def private_addresses_allowed() -> bool:
    return bool(settings.DEMOS_ALLOW_PRIVATE_SERVICES)


def _is_private(address: str) -> bool:
    """True unless the address, and every IPv4 address embedded in it (IPv4-mapped,
    NAT64, 6to4, Teredo's server and client), is global unicast: loopback, private,
    link-local, shared, reserved, multicast and unspecified addresses are all refused,
    and so is anything that is not an address."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return True
    seen: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        if any(ip in network for network in _NEVER_PUBLIC):
            return True
        if ip.ipv4_mapped is not None:
            seen.append(ip.ipv4_mapped)
        if ip.sixtofour is not None:
            seen.append(ip.sixtofour)
        if ip.teredo is not None:
            seen.extend(ip.teredo)
        if any(ip in network for network in _EMBEDS_IPV4_AT_END):
            seen.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return any(not one.is_global or one.is_multicast or one.is_unspecified for one in seen)


def is_public_address(address: str) -> bool:
    """The check the HTTP client runs on each address it is about to connect to. One
    module-level function: the client keeps its connections per check."""
    return not _is_private(address)


def service_address_check() -> AddressCheck | None:
    """What to pass as the HTTP client's `allow_address` for a call to a demo service:
    nothing when private services are allowed (a loopback or DEBUG site)."""
    return None if private_addresses_allowed() else is_public_address


def private_host_message(host: str) -> str:
    return _(
        "The host %(host)s is a private or local address; Lavka calls public services only."
    ) % {"host": host}


def check_service_url(url: str, *, resolve: bool = True) -> str:
    """The URL cleaned (no trailing slash), or a ValidationError saying why not.

    Only http(s), no credentials, no query or fragment; the host's addresses must all be
    public unless DEMOS_ALLOW_PRIVATE_SERVICES (on by default for a loopback or DEBUG
    site). Checked again right before each call, since DNS answers change."""
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValidationError(_("This is not a valid address."), code="invalid") from None
    if parts.scheme not in ("http", "https"):
        raise ValidationError(_("Only http:// and https:// addresses are allowed."), code="scheme")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ValidationError(
            _("The address must not contain a user name or password."), code="credentials"
        )
    if parts.query or parts.fragment:
        raise ValidationError(_("The address must not contain a query or fragment."), code="query")
    host = parts.hostname
    if not host:
        raise ValidationError(_("The address has no host."), code="host")
    if not resolve or private_addresses_allowed():
        return url.rstrip("/")
    try:
        infos = socket.getaddrinfo(host, port or (443 if parts.scheme == "https" else 80))
    except (OSError, UnicodeError):
        raise ValidationError(
            _("The host %(host)s cannot be found.") % {"host": host}, code="unresolved"
        ) from None
    if not infos or any(_is_private(str(info[4][0])) for info in infos):
        raise ValidationError(private_host_message(host), code="private")
    return url.rstrip("/")
