"""The hosted payment page at a session's ``url``: the payer's side of Checkout.

Pay completes the session and redirects to ``success_url`` with
``{CHECKOUT_SESSION_ID}`` filled in; Decline leaves it open with a message; the two
bank-debit buttons complete it unpaid and settle it later (succeeded or failed);
Cancel goes back to ``cancel_url`` and leaves the session open, as Stripe does.
The page is in Russian when the session was created with ``locale=ru``.
"""

from __future__ import annotations

from html import escape
from urllib.parse import parse_qs

from .api import Response
from .errors import StripeError
from .objects import CheckoutSession
from .store import Store

ZERO_DECIMAL = {
    "bif",
    "clp",
    "djf",
    "gnf",
    "jpy",
    "kmf",
    "krw",
    "mga",
    "pyg",
    "rwf",
    "ugx",
    "vnd",
    "vuv",
    "xaf",
    "xof",
    "xpf",
}
THREE_DECIMAL = {"bhd", "jod", "kwd", "omr", "tnd"}

TEXT = {
    "en": {
        "title": "Pay",
        "banner": "Test mode — no real money. This is Lavka's local Stripe simulator.",
        "total": "Total",
        "email": "Email",
        "pay": "Pay {amount}",
        "decline": "Decline (card declined)",
        "debit_ok": "Pay later by bank debit (will succeed)",
        "debit_fail": "Pay later by bank debit (will fail)",
        "cancel": "Cancel and go back",
        "declined": "Your card was declined. Nothing was charged; you can try again.",
        "not_open": "This checkout session is {status}; it can no longer be paid.",
        "back": "Return to the shop",
    },
    "ru": {
        "title": "Оплата",
        "banner": "Тестовый режим — без настоящих денег. Это локальный симулятор Stripe в Лавке.",
        "total": "Итого",
        "email": "Эл. почта",
        "pay": "Оплатить {amount}",
        "decline": "Отклонить (карта отклонена)",
        "debit_ok": "Оплатить позже банковским списанием (пройдёт)",
        "debit_fail": "Оплатить позже банковским списанием (не пройдёт)",
        "cancel": "Отменить и вернуться",
        "declined": "Карта отклонена. Деньги не списаны, можно попробовать ещё раз.",
        "not_open": "Эта сессия оплаты в статусе {status}; оплатить её уже нельзя.",
        "back": "Вернуться в магазин",
    },
}

HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
}

STYLE = """
body{font-family:system-ui,sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}
.banner{background:#fff3cd;border:1px solid #e0b400;padding:.6rem .8rem;border-radius:6px;font-weight:600}
.error{background:#fde2e1;border:1px solid #d93025;padding:.6rem .8rem;border-radius:6px}
table{width:100%;border-collapse:collapse;margin:1rem 0}td{padding:.35rem 0;border-bottom:1px solid #eee}
td.amount{text-align:right;white-space:nowrap}tr.total td{font-weight:700;border:0}
button{display:block;width:100%;margin:.4rem 0;padding:.7rem;font-size:1rem;border-radius:6px;border:1px solid #999;background:#fff;cursor:pointer}
button.pay{background:#635bff;color:#fff;border-color:#635bff}
input{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}
"""


def money(amount: int, currency: str) -> str:
    if currency in ZERO_DECIMAL:
        return f"{amount} {currency.upper()}"
    places = 3 if currency in THREE_DECIMAL else 2
    major, minor = divmod(amount, 10**places)
    return f"{major}.{minor:0{places}d} {currency.upper()}"


def success_redirect(session: CheckoutSession) -> str:
    return session.success_url.replace("{CHECKOUT_SESSION_ID}", session.id)


def render(session: CheckoutSession, message: str | None = None, status: int = 200) -> Response:
    text = TEXT["ru" if (session.locale or "").startswith("ru") else "en"]
    rows = "".join(
        f"<tr><td>{escape(item.description)} &times; {item.quantity}</td>"
        f"<td class=amount>{money(item.amount_total, item.currency)}</td></tr>"
        for item in session.line_items
    )
    total = money(session.amount_total, session.currency)
    parts = [
        "<!doctype html><html><head><meta charset=utf-8>",
        '<meta name=viewport content="width=device-width,initial-scale=1">',
        f"<title>{text['title']} {escape(total)} · Stripe simulator</title><style>{STYLE}</style></head><body>",
        f"<p class=banner role=note>{text['banner']}</p>",
    ]
    if message:
        parts.append(f"<p class=error role=alert>{escape(message)}</p>")
    parts.append(
        f"<table>{rows}<tr class=total><td>{text['total']}</td><td class=amount>{total}</td></tr></table>"
    )
    if session.status == "open":
        action = f"/c/pay/{escape(session.id)}"
        email = (
            ""
            if session.customer_email
            else f"<label>{text['email']} <input type=email name=email autocomplete=email></label>"
        )
        parts.append(
            f"<form method=post action='{action}'>{email}"
            f"<button class=pay name=action value=pay>{text['pay'].format(amount=total)}</button>"
            f"<button name=action value=decline>{text['decline']}</button>"
            f"<button name=action value=debit_succeeds>{text['debit_ok']}</button>"
            f"<button name=action value=debit_fails>{text['debit_fail']}</button>"
        )
        if session.cancel_url:
            parts.append(f"<button name=action value=cancel>{text['cancel']}</button>")
        parts.append("</form>")
    else:
        parts.append(f"<p>{text['not_open'].format(status=escape(session.status))}</p>")
        if session.status == "complete":
            parts.append(f"<p><a href='{escape(success_redirect(session))}'>{text['back']}</a></p>")
    parts.append("</body></html>")
    return Response(status, "".join(parts).encode(), dict(HEADERS))


def not_found() -> Response:
    body = b"<!doctype html><title>Not found</title><p>No such checkout session.</p>"
    return Response(404, body, dict(HEADERS))


def show(store: Store, session_id: str) -> Response:
    with store.lock:
        try:
            return render(store.session(session_id))
        except StripeError:
            return not_found()


def submit(store: Store, session_id: str, body: bytes) -> Response:
    """One form post; the store's lock makes a double click count once."""
    try:
        form = parse_qs(body.decode("utf-8", "replace"), max_num_fields=10)
    except ValueError:
        form = {}
    action = (form.get("action") or [""])[0]
    email = (form.get("email") or [""])[0].strip()[:320] or None
    with store.lock:
        try:
            session = store.session(session_id)
        except StripeError:
            return not_found()
        try:
            if action == "cancel" and session.cancel_url:
                return Response(303, b"", {"Location": session.cancel_url})
            if action == "pay":
                return Response(
                    303, b"", {"Location": success_redirect(store.pay(session_id, email))}
                )
            if action in ("debit_succeeds", "debit_fails"):
                store.pay_later(session_id, email, succeeds=action == "debit_succeeds")
                return Response(303, b"", {"Location": success_redirect(session)})
            if action == "decline":
                store.decline(session_id)
                text = TEXT["ru" if (session.locale or "").startswith("ru") else "en"]
                return render(session, text["declined"])
        except StripeError:
            return render(session, status=409)
        return render(session, "Unknown action.", status=400)
