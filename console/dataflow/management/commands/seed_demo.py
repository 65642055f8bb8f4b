"""manage.py seed_demo: demo users with mail addresses and a watch (development only),
their passwords printed once."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from console.dataflow.demo import DEMO_USERS, DEMO_WATCHER, demo_users_create, demo_watch_ensure


class Command(BaseCommand):
    help = (
        "Create the demo users admin, lead and support with mail addresses, and make admin "
        "watch sales-etl, importing the local simulator's services first on a fresh database "
        "(only when DEBUG is on)."
    )

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
            role, email = DEMO_USERS[username][0], DEMO_USERS[username][3]
            if password:
                self.stdout.write(f"  {username:8} {password:20} {role:12} {email}")
            else:
                self.stdout.write(f"  {username:8} {_('(unchanged)'):20} {role:12} {email}")
        if not all(passwords.values()):
            self.stdout.write(
                _(
                    "Passwords are printed once, when a user is created; "
                    "`make reset-demo-passwords` gives new ones."
                )
            )
        self._watch_explain()

    def _watch_explain(self) -> None:
        """Make the demo watch and tell a newcomer where its mail shows."""
        service = demo_watch_ensure()
        if service is None:
            self.stdout.write(
                _(
                    "%(user)s will watch sales-etl once it is imported from the simulator: "
                    "run `manage.py seed_demo` again after the first refresh from SCP."
                )
                % {"user": DEMO_WATCHER}
            )
            return
        email = get_user_model().objects.get(username=DEMO_WATCHER).email
        if settings.EMAIL_URL:
            text = _(
                "%(user)s (%(email)s) watches %(service)s. Change %(service)s, e.g. its host "
                "aliases as support: when the change ends, the console mails its author and "
                "%(user)s through EMAIL_URL."
            )
        else:
            text = _(
                "%(user)s (%(email)s) watches %(service)s. Change %(service)s, e.g. its host "
                "aliases as support: when the change ends, the mail the console sends to its "
                "author and to %(user)s appears in the worker's log (without EMAIL_URL nothing "
                "is sent)."
            )
        self.stdout.write(text % {"user": DEMO_WATCHER, "email": email, "service": service.name})
