"""Secrets at rest: encrypted, readable with any configured key, rotatable to the first one."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command

from console.dataflow.connections import crypto
from console.dataflow.models import ScpConnection

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def test_a_secret_is_stored_encrypted_and_read_back(settings):
    settings.CONSOLE_ENCRYPTION_KEYS = [OLD]
    token = crypto.encrypt("s3cret-value")
    assert "s3cret-value" not in token
    assert crypto.decrypt(token) == "s3cret-value"
    assert crypto.encrypt("") == "" and crypto.decrypt("") == ""


def test_a_secret_under_a_removed_key_says_so(settings):
    settings.CONSOLE_ENCRYPTION_KEYS = [OLD]
    token = crypto.encrypt("s3cret-value")
    settings.CONSOLE_ENCRYPTION_KEYS = [NEW]
    with pytest.raises(crypto.SecretUnreadable, match="CONSOLE_ENCRYPTION_KEYS"):
        crypto.decrypt(token)


@pytest.mark.django_db
def test_rotation_moves_every_secret_to_the_first_key(settings):
    settings.CONSOLE_ENCRYPTION_KEYS = [OLD]
    connection = ScpConnection(name="seoul", base_url="https://x.example", access_key="AK")
    connection.set_secret_key("the-secret-key")
    connection.save()

    settings.CONSOLE_ENCRYPTION_KEYS = [NEW, OLD]  # new key first, old one still readable
    call_command("rotate_encryption_keys")

    settings.CONSOLE_ENCRYPTION_KEYS = [NEW]  # the old key can go now
    connection.refresh_from_db()
    assert connection.get_secret_key() == "the-secret-key"
