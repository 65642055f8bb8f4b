"""manage.py seed_demo: demo users (development only), their passwords printed once."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from console.dataflow.demo import DEMO_USERS, demo_users_create


class Command(BaseCommand):
    help = "Create the demo users admin, lead and support (only when DEBUG is on)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--reset-passwords", action="store_true", help="give every demo user a new password"
        )

    def handle(self, *args, reset_passwords: bool = False, **options) -> None:
        if not settings.DEBUG:
            raise CommandError(_("Demo users are for development only; DEBUG is off."))
        passwords = demo_users_create(reset_passwords=reset_passwords)
        self.stdout.write(_("Demo logins (development only):"))
        for username, password in passwords.items():
            role = DEMO_USERS[username][0]
            if password:
                self.stdout.write(f"  {username:8} {password:20} {role}")
            else:
                self.stdout.write(f"  {username:8} {_('(unchanged)'):20} {role}")
        if not all(passwords.values()):
            self.stdout.write(
                _(
                    "Passwords are printed once, when a user is created; "
                    "`make reset-demo-passwords` gives new ones."
                )
            )
