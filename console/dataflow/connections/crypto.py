"""Encryption of secrets at rest (SCP secret keys, NiFi account passwords) with MultiFernet.

The first key of CONSOLE_ENCRYPTION_KEYS encrypts; every key decrypts, so keys can rotate:
put the new key first, run `manage.py rotate_encryption_keys`, then drop the old key.
"""

from __future__ import annotations

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.utils.translation import gettext as _


class SecretUnreadable(Exception):
    """A stored secret cannot be decrypted with any configured key."""


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def _current() -> MultiFernet:
    return _fernet(tuple(settings.CONSOLE_ENCRYPTION_KEYS))


def encrypt(plain: str) -> str:
    """The Fernet token of `plain` under the first key; "" stays "" (no secret stored)."""
    if not plain:
        return ""
    return _current().encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    """The clear text of a token made by `encrypt`; raises SecretUnreadable for a foreign key."""
    if not token:
        return ""
    try:
        return _current().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable(
            _("A stored secret cannot be decrypted: is its key still in CONSOLE_ENCRYPTION_KEYS?")
        ) from None


def rotate(token: str) -> str:
    """The same secret re-encrypted under the first key."""
    if not token:
        return ""
    try:
        return _current().rotate(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable(
            _("A stored secret cannot be decrypted with any configured key.")
        ) from None
