"""Secrets at rest: encrypted columns, key rotation, digests, masks, and the settings."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django import forms
from django.core.exceptions import FieldError, ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.db.models import TextField
from django.db.models.functions import Cast

from lavka.core import secrets
from lavka.core.secrets import SecretText, UndecryptableSecret, digest, mask
from lavka.core.tests.test_settings_from_env import PRODUCTION, check_deploy, run_django
from lavka.core.tests.work_app.models import Credential

TOKEN = "md-7c1f0e9a4b2d4e6f8a0b1c2d3e4f5a6b"
OLD_KEY, NEW_KEY, STRANGER_KEY = (Fernet.generate_key().decode() for _ in range(3))


def stored(credential: Credential, column: str = "token") -> str:
    """The column as the database holds it."""
    raw = Cast(column, TextField())  # a plain text column: no decryption on the way out
    return Credential.objects.annotate(raw=raw).values_list("raw", flat=True).get(pk=credential.pk)


@pytest.fixture
def keys(settings):
    def use(*keys: str) -> None:
        settings.LAVKA_ENCRYPTION_KEYS = list(keys)

    use(OLD_KEY)
    return use


def test_the_first_key_encrypts_and_every_key_decrypts(keys) -> None:
    keys(NEW_KEY, OLD_KEY)

    token = secrets.encrypt(TOKEN)

    assert Fernet(NEW_KEY.encode()).decrypt(token.encode()).decode() == TOKEN
    assert secrets.decrypt(Fernet(OLD_KEY.encode()).encrypt(b"old").decode()) == "old"
    assert secrets.is_current(token)


def test_without_keys_nothing_is_encrypted_and_the_error_names_the_setting(keys) -> None:
    keys()

    with pytest.raises(ImproperlyConfigured, match="LAVKA_ENCRYPTION_KEYS is not set"):
        secrets.encrypt(TOKEN)


@pytest.mark.django_db
def test_a_secret_is_stored_encrypted_and_read_back_as_plaintext(keys) -> None:
    credential = Credential.objects.create(owner="ann", token=TOKEN, note="")

    in_database = stored(credential)
    loaded = Credential.objects.get(pk=credential.pk)

    assert TOKEN not in in_database
    assert Fernet(OLD_KEY.encode()).decrypt(in_database.encode()).decode() == TOKEN
    assert loaded.token == TOKEN and f"Bearer {loaded.token}" == f"Bearer {TOKEN}"
    assert isinstance(loaded.token, SecretText)
    assert loaded.note == "" and stored(credential, "note") == ""
    assert TOKEN not in repr(loaded.token) and "••••5a6b" in repr(loaded.token)
    assert TOKEN not in repr(loaded)


@pytest.mark.django_db
def test_rotation_keeps_old_rows_readable_then_reencrypts_them_once(keys) -> None:
    ann = Credential.objects.create(owner="ann", token=TOKEN, note="ann's note")
    bob = Credential.objects.create(owner="bob", token="bob-token-0123456789")
    keys(NEW_KEY, OLD_KEY)
    carl = Credential.objects.create(owner="carl", token="carl-token-0123456789")
    before = stored(ann)

    assert Credential.objects.get(pk=ann.pk).token == TOKEN  # old key still reads
    first, second = StringIO(), StringIO()
    call_command("rotate_encryption_keys", "--batch-size=2", stdout=first)
    after = stored(ann)
    call_command("rotate_encryption_keys", stdout=second)
    keys(NEW_KEY)

    assert after != before
    assert stored(ann) == after  # the second run changed nothing
    assert Fernet(NEW_KEY.encode()).decrypt(after.encode()).decode() == TOKEN
    assert {c.owner: c.token for c in Credential.objects.all()} == {
        "ann": TOKEN,
        "bob": "bob-token-0123456789",
        "carl": "carl-token-0123456789",
    }
    assert Credential.objects.get(pk=ann.pk).note == "ann's note"
    assert Credential.objects.get(pk=bob.pk).token_digest == digest("bob-token-0123456789")
    assert carl.pk
    assert (
        "core_tests.Credential.token: 2 re-encrypted, 0 digests recomputed, "
        "1 already current, 0 unreadable" in first.getvalue()
    )
    assert "core_tests.Credential.note: 1 re-encrypted" in first.getvalue()
    assert (
        "core_tests.Credential.token: 0 re-encrypted, 0 digests recomputed, 3 already current"
        in (second.getvalue())
    )


@pytest.mark.django_db
def test_a_secret_no_key_opens_gives_a_clear_error_without_the_ciphertext(keys) -> None:
    credential = Credential.objects.create(owner="ann", token=TOKEN)
    ciphertext = stored(credential)
    keys(STRANGER_KEY)

    with pytest.raises(UndecryptableSecret) as caught:
        Credential.objects.get(pk=credential.pk)
    with pytest.raises(CommandError) as refused:
        call_command("rotate_encryption_keys", stdout=StringIO())

    message = str(caught.value)
    assert "core_tests.Credential.token cannot be decrypted with any key" in message
    assert "LAVKA_ENCRYPTION_KEYS" in message
    assert ciphertext not in message + repr(caught.value) and TOKEN not in message
    assert f"core_tests.Credential.token (primary keys {credential.pk})" in str(refused.value)
    assert ciphertext not in str(refused.value)
    assert stored(credential) == ciphertext  # left as it was


@pytest.mark.django_db
def test_the_same_token_cannot_be_saved_for_two_owners(keys) -> None:
    Credential.objects.create(owner="ann", token=TOKEN)

    with pytest.raises(IntegrityError), transaction.atomic():
        Credential.objects.create(owner="bob", token=TOKEN)

    assert Credential.objects.filter(token_digest=digest(TOKEN)).get().owner == "ann"


@pytest.mark.django_db
def test_after_the_secret_key_changes_rotation_recomputes_the_digests(keys, settings) -> None:
    credential = Credential.objects.create(owner="ann", token=TOKEN)
    settings.SECRET_KEY = "another-secret-key-" + "x" * 40
    output = StringIO()

    call_command("rotate_encryption_keys", stdout=output)

    credential.refresh_from_db()
    assert credential.token_digest == digest(TOKEN)
    assert "0 re-encrypted, 1 digests recomputed, 0 already current" in output.getvalue()


@pytest.mark.django_db
def test_a_secret_column_cannot_be_searched_by_value(keys) -> None:
    Credential.objects.create(owner="ann", token=TOKEN)

    with pytest.raises(FieldError, match="Unsupported lookup"):
        list(Credential.objects.filter(token=TOKEN))

    assert Credential.objects.filter(note__isnull=True).count() == 1


class CredentialForm(forms.ModelForm):
    class Meta:
        model = Credential
        fields = ["owner", "token"]


@pytest.mark.django_db
def test_a_form_never_renders_the_secret_and_an_empty_box_keeps_it(keys) -> None:
    credential = Credential.objects.create(owner="ann", token=TOKEN)

    html = str(CredentialForm(instance=credential))
    kept = CredentialForm({"owner": "ann", "token": ""}, instance=credential)
    assert kept.is_valid(), kept.errors
    kept.save()
    unchanged = Credential.objects.get(pk=credential.pk).token
    changed = CredentialForm(
        {"owner": "ann", "token": " new-token-0123456789 "}, instance=credential
    )
    assert changed.is_valid(), changed.errors
    changed.save()
    blank_new = CredentialForm({"owner": "bob", "token": ""})

    assert TOKEN not in html
    assert 'type="password"' in html and "••••5a6b" in html
    assert unchanged == TOKEN
    assert Credential.objects.get(pk=credential.pk).token == "new-token-0123456789"
    assert not blank_new.is_valid() and "token" in blank_new.errors


def test_the_admin_gets_the_password_box_too() -> None:
    from django.contrib import admin

    model_admin = admin.ModelAdmin(Credential, admin.site)
    field = model_admin.formfield_for_dbfield(Credential._meta.get_field("token"), request=None)

    assert isinstance(field.widget, secrets.SecretInput)
    assert 'value="' not in field.widget.render("token", TOKEN)


def test_mask_shows_only_the_last_four_characters_of_a_long_secret() -> None:
    assert mask(TOKEN) == "••••5a6b"
    assert mask("short123") == "••••"
    assert mask("") == "" and mask(None) == ""


def test_digest_is_stable_keyed_and_hex(settings) -> None:
    first = digest(TOKEN)

    assert first == digest(TOKEN)
    assert len(first) == 64 and int(first, 16) >= 0
    assert digest(TOKEN + "x") != first
    settings.SECRET_KEY = "another-secret-key-" + "x" * 40
    assert digest(TOKEN) != first


def test_a_key_is_made_once_into_the_var_folder_on_a_laptop_only(tmp_path: Path) -> None:
    show = "from django.conf import settings; print(','.join(settings.LAVKA_ENCRYPTION_KEYS))"
    public = tmp_path / "public"

    first = run_django(show, LAVKA_VAR_DIR=str(tmp_path))
    second = run_django(show, LAVKA_VAR_DIR=str(tmp_path))
    given = run_django(show, LAVKA_VAR_DIR=str(tmp_path), LAVKA_ENCRYPTION_KEYS=NEW_KEY)
    production = run_django(
        show, LAVKA_VAR_DIR=str(public), LAVKA_SITE_URL="https://shop.example.com"
    )

    key_file = tmp_path / "encryption_keys"
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    assert key_file.read_text().strip() == first.stdout.strip()
    assert Fernet(first.stdout.strip().encode())  # a valid key
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert given.stdout.strip() == NEW_KEY
    assert production.returncode == 0, production.stderr
    assert production.stdout.strip() == ""
    assert not (public / "encryption_keys").exists()


def test_a_malformed_key_stops_startup_naming_the_variable_but_not_the_key() -> None:
    result = run_django("print('started')", LAVKA_ENCRYPTION_KEYS=f"{NEW_KEY},not-a-key-xyz")

    assert result.returncode != 0
    assert "LAVKA_ENCRYPTION_KEYS: key 2 of 2 is not a Fernet key" in result.stderr
    assert "not-a-key-xyz" not in result.stderr and NEW_KEY not in result.stderr


def test_deploy_checks_fail_with_lavka_e003_without_encryption_keys() -> None:
    without_keys = {k: v for k, v in PRODUCTION.items() if k != "LAVKA_ENCRYPTION_KEYS"}

    result = check_deploy(**without_keys)

    assert result.returncode != 0
    assert "(lavka.E003) LAVKA_ENCRYPTION_KEYS is not set" in result.stderr
