"""Demo people for development: one user per role, created with random passwords."""

from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from console.dataflow.people.roles import ADMINS, SUPPORT, TEAM_LEADS, role_groups_ensure

DEMO_USERS = {
    "admin": (ADMINS, "Ada", "Admin"),
    "lead": (TEAM_LEADS, "Lee", "Lead"),
    "support": (SUPPORT, "Sam", "Support"),
}


def demo_users_create(*, reset_passwords: bool = False) -> dict[str, str | None]:
    """Create the missing demo users; the password of each new (or reset) user, else None."""
    role_groups_ensure()
    user_model = get_user_model()
    passwords: dict[str, str | None] = {}
    for username, (group_name, first, last) in DEMO_USERS.items():
        user, created = user_model.objects.get_or_create(
            username=username, defaults={"first_name": first, "last_name": last}
        )
        user.groups.set([Group.objects.get(name=group_name)])
        if created or reset_passwords:
            password = secrets.token_urlsafe(12)
            user.set_password(password)
            user.save()
            passwords[username] = password
        else:
            passwords[username] = None
    return passwords
