"""Secrets at rest: other systems' API tokens are kept encrypted and never shown in full.

- `EncryptedTextField` stores a Fernet token (AES-128-CBC with HMAC-SHA256) in the
  database and gives the plaintext in Python, as a `SecretText` whose repr is masked (so a
  traceback, a debug page or a log of locals shows "••••abcd", not the token).
- The keys are `settings.LAVKA_ENCRYPTION_KEYS`, newest first: the first encrypts, every
  one decrypts (MultiFernet), so a new key can be put in front while old rows stay
  readable; `manage.py rotate_encryption_keys` then re-encrypts every row with it.
- `digest(value)` is a keyed HMAC of a plaintext, stable across encryptions, so "the same
  token is not saved twice" can be a unique constraint on a digest column.
- `mask(value)` is what a page shows of a secret: "••••" and its last 4 characters.

docs/secrets.md says how keys are made, set and rotated.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django import forms
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models, transaction
from django.db.models import F, Value
from django.db.models.functions import Cast
from django.utils.translation import gettext_lazy as _

MASK = "••••"
# Bumped (and every digest recomputed) if what a digest is made of ever changes.
_DIGEST_SALT = b"lavka.core.secrets.digest.v1"


class UndecryptableSecret(Exception):
    """A stored secret none of the configured keys opens: the key it was written with
    was removed from LAVKA_ENCRYPTION_KEYS, or the column was written by hand. The
    message names neither the ciphertext nor any key."""


class SecretText(str):
    """A decrypted secret: a plain `str` everywhere (headers, comparisons, f-strings),
    but its repr is masked so it does not end up in tracebacks and debug pages."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"SecretText({mask(self)!r})"


def mask(value: str | None) -> str:
    """What a page may show of a secret: "••••" and the last 4 characters (only the mark
    for values of 8 characters or fewer, whose last 4 would be half of them)."""
    if not value:
        return ""
    return MASK + (value[-4:] if len(value) > 8 else "")


def digest(value: str) -> str:
    """A keyed HMAC-SHA256 of `value`, 64 hex characters.

    The key is derived from SECRET_KEY, not from the encryption keys, so rotating
    encryption keys leaves digests alone. Changing SECRET_KEY changes every digest:
    `rotate_encryption_keys` recomputes the digest columns of EncryptedTextFields
    declared with `digest_field`. Keyed, so a leaked table of digests cannot be checked
    against a list of guessed tokens without the server's key.
    """
    key = hmac.new(_DIGEST_SALT, settings.SECRET_KEY.encode(), hashlib.sha256).digest()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


@functools.lru_cache(maxsize=4)
def _fernets(keys: tuple[str, ...]) -> tuple[Fernet, MultiFernet]:
    fernets = [Fernet(key.encode()) for key in keys]
    return fernets[0], MultiFernet(fernets)


def _configured() -> tuple[Fernet, MultiFernet]:
    keys = tuple(getattr(settings, "LAVKA_ENCRYPTION_KEYS", None) or ())
    if not keys:
        raise ImproperlyConfigured(
            "LAVKA_ENCRYPTION_KEYS is not set: secrets cannot be encrypted or read "
            "(docs/secrets.md says how to make a key)."
        )
    return _fernets(keys)


def encrypt(plaintext: str) -> str:
    """The Fernet token of `plaintext` under the newest key."""
    return _configured()[1].encrypt(plaintext.encode()).decode("ascii")


def decrypt(token: str, *, what: str = "A stored secret") -> SecretText:
    """The plaintext of a token made with any of the configured keys."""
    try:
        return SecretText(_configured()[1].decrypt(token.encode("ascii")).decode())
    except (InvalidToken, UnicodeError):
        raise UndecryptableSecret(
            f"{what} cannot be decrypted with any key in LAVKA_ENCRYPTION_KEYS: was the "
            "key it was saved with removed? Put that key back (after the first one), or "
            "enter the secret again."
        ) from None


def is_current(token: str) -> bool:
    """Whether `token` was made with the newest key (nothing to rotate)."""
    try:
        _configured()[0].decrypt(token.encode("ascii"))
    except (InvalidToken, UnicodeError):
        return False
    return True


def rotate(token: str) -> str:
    """`token` made again with the newest key (MultiFernet.rotate)."""
    try:
        return _configured()[1].rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeError):
        raise UndecryptableSecret(
            "A stored secret cannot be decrypted with any key in LAVKA_ENCRYPTION_KEYS."
        ) from None


class SecretInput(forms.PasswordInput):
    """Never sends the secret to the browser; shows its mask as the placeholder."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, render_value=False)

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        if value:
            context["widget"]["attrs"]["placeholder"] = _("%(mask)s (leave empty to keep)") % {
                "mask": mask(str(value))
            }
        return context


class SecretFormField(forms.CharField):
    """A password box for a stored secret: an empty box keeps the secret the form was
    made with (its initial value), so editing other fields does not need it retyped."""

    widget = SecretInput

    def _clean_bound_field(self, bound_field: Any) -> Any:
        if bound_field.data in self.empty_values and bound_field.initial:
            return bound_field.initial
        return self.clean(bound_field.initial if self.disabled else bound_field.data)


class EncryptedTextField(models.TextField):
    """Text kept encrypted in the database (a Fernet token), plaintext in Python.

    Only `isnull` lookups work: the same text encrypts differently every time, so find a
    row by a secret through a digest column. With `digest_field="token_digest"`, that
    column (a CharField(max_length=64)) is set to `digest(value)` on every save (an empty
    secret: NULL if the column allows it, else ""), and can carry a unique constraint.
    An empty string is stored as is, not encrypted.

    In a model form, the admin's included, it is a password box that never renders the
    secret back, and submitting it empty keeps the stored secret. Keep it out of the
    admin's list_display and readonly_fields (they would show it): show `mask()`.
    """

    description = _("Encrypted text")

    def __init__(self, *args: Any, digest_field: str | None = None, **kwargs: Any) -> None:
        self.digest_field = digest_field
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        if self.digest_field:
            kwargs["digest_field"] = self.digest_field
        return name, path, args, kwargs

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None or value == "":
            return value
        return decrypt(value, what=f"{self.model._meta.label}.{self.name}")

    def to_python(self, value: Any) -> Any:
        if value is None or isinstance(value, SecretText):
            return value
        return SecretText(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(str(value))

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name != "isnull":
            return None  # "Unsupported lookup": compare digests instead
        return super().get_lookup(lookup_name)

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        value = super().pre_save(model_instance, add)
        if self.digest_field:
            if value:
                setattr(model_instance, self.digest_field, digest(value))
            else:  # NULL where the column allows it: a unique one then allows many
                column = model_instance._meta.get_field(self.digest_field)
                empty = None if getattr(column, "null", False) else ""
                setattr(model_instance, self.digest_field, empty)
        return value

    def formfield(self, **kwargs: Any) -> Any:  # type: ignore[override]
        # The password box wins over any widget offered (the admin offers a textarea).
        return super().formfield(**{"form_class": SecretFormField, **kwargs, "widget": SecretInput})


@dataclass
class Rotation:
    """What `rotate_field` did to one column."""

    label: str  # app_label.Model.field
    reencrypted: int = 0
    digests_fixed: int = 0
    current: int = 0
    unreadable: list[Any] = dataclass_field(default_factory=list)  # primary keys

    def __str__(self) -> str:
        return (
            f"{self.label}: {self.reencrypted} re-encrypted, {self.digests_fixed} digests "
            f"recomputed, {self.current} already current, {len(self.unreadable)} unreadable"
        )


def rotate_field(
    model: type[models.Model], field: EncryptedTextField, *, batch_size: int = 200
) -> Rotation:
    """Re-encrypt every value of `field` still under an older key with the newest one,
    and recompute its digest column where it differs (after SECRET_KEY changed).

    Rows are read in primary-key batches; each is re-read locked and written back in its
    own short transaction, so a concurrent save is neither lost nor blocked for long.
    Running it again changes nothing that is current: safe to repeat or to interrupt.
    """
    rotation = Rotation(f"{model._meta.label}.{field.name}")
    manager = model._base_manager
    stored = Cast(F(field.attname), models.TextField())  # the ciphertext, not decrypted
    digest_name = field.digest_field
    columns = ["_stored", *([digest_name] if digest_name else [])]
    pending = manager.filter(**{f"{field.attname}__isnull": False}).order_by("pk")
    last_pk = None
    while True:
        batch = pending if last_pk is None else pending.filter(pk__gt=last_pk)
        pks = list(batch.values_list("pk", flat=True)[:batch_size])
        if not pks:
            return rotation
        last_pk = pks[-1]
        for pk in pks:
            with transaction.atomic():
                row = (
                    manager.select_for_update()
                    .filter(pk=pk)
                    .annotate(_stored=stored)
                    .values_list(*columns)
                    .first()
                )
                if row is None or not row[0]:
                    continue
                token = row[0]
                updates: dict[str, Any] = {}
                try:
                    if not is_current(token):
                        updates[field.attname] = Value(rotate(token), models.TextField())
                    if digest_name and row[1] != (wanted := digest(decrypt(token))):
                        updates[digest_name] = wanted
                        rotation.digests_fixed += 1
                except UndecryptableSecret:
                    rotation.unreadable.append(pk)
                    continue
                if updates:
                    manager.filter(pk=pk).update(**updates)
                    rotation.reencrypted += field.attname in updates
                else:
                    rotation.current += 1


def encrypted_fields() -> list[tuple[type[models.Model], EncryptedTextField]]:
    """Every EncryptedTextField of every installed concrete model."""
    from django.apps import apps

    found = []
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        for field in model._meta.concrete_fields:
            if isinstance(field, EncryptedTextField) and field.model is model:
                found.append((model, field))
    return found
