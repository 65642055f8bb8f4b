"""manage.py rotate_encryption_keys: re-encrypt every stored secret under the first key."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils.translation import ngettext

from console.dataflow.connections import crypto
from console.dataflow.models import ChangeRequest, ScpConnection


class Command(BaseCommand):
    help = (
        "Re-encrypt stored secrets with the first key of CONSOLE_ENCRYPTION_KEYS, "
        "so that older keys can be dropped afterwards."
    )

    def handle(self, *args, **options) -> None:
        rotated = 0
        with transaction.atomic():
            for connection in ScpConnection.objects.exclude(secret_key_encrypted=""):
                connection.secret_key_encrypted = crypto.rotate(connection.secret_key_encrypted)
                connection.save(update_fields=["secret_key_encrypted"])
                rotated += 1
            for connection in ScpConnection.objects.exclude(webhook_url_encrypted=""):
                connection.webhook_url_encrypted = crypto.rotate(connection.webhook_url_encrypted)
                connection.save(update_fields=["webhook_url_encrypted"])
                rotated += 1
            for change in ChangeRequest.objects.exclude(account_password_encrypted=""):
                change.account_password_encrypted = crypto.rotate(change.account_password_encrypted)
                change.save(update_fields=["account_password_encrypted"])
                rotated += 1
        self.stdout.write(
            ngettext(
                "Re-encrypted %(count)d secret under the first key.",
                "Re-encrypted %(count)d secrets under the first key.",
                rotated,
            )
            % {"count": rotated}
        )
