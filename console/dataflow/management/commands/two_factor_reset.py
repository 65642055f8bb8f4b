"""`manage.py two_factor_reset USERNAME`: remove a person's authenticator app (a lost phone).

They set up a new one at their next password sign-in (TWO_FACTOR_LOCAL); a session that already
passed its one-time password is signed out, as it may be the one that lost the phone.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.core.management.base import BaseCommand, CommandError
from django_otp.plugins.otp_totp.models import TOTPDevice


class Command(BaseCommand):
    help = "Remove a person's one-time password devices; they set up a new one at next sign-in."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")

    def handle(self, *args, username: str, **options) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No person with the username {username!r}.")
        removed, _ = TOTPDevice.objects.filter(user=user).delete()
        signed_out = 0
        for session in Session.objects.iterator():
            if str(session.get_decoded().get("_auth_user_id")) == str(user.pk):
                session.delete()
                signed_out += 1
        self.stdout.write(
            f"Removed {removed} authenticator app(s) of {username}; signed out {signed_out} "
            "session(s). They set up a new app at their next sign-in."
        )
