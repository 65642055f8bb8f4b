"""The three roles of the console: group names (a public contract) and what each may do."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group, Permission

ADMINS = "Admins"
TEAM_LEADS = "Team leads"
SUPPORT = "Support"

# Codenames (app "dataflow") each group is given by migration 0002.
GROUP_PERMISSIONS: dict[str, list[str]] = {
    ADMINS: [
        "view_service",
        "edit_service",
        "edit_host_aliases",
        "view_changerequest",
        "review_history",
        "approve_change",
    ],
    TEAM_LEADS: ["view_service", "view_changerequest", "review_history", "approve_change"],
    # Migration 0019 gives Support the history too.
    SUPPORT: ["view_service", "view_changerequest", "review_history", "edit_host_aliases"],
}


@dataclass(frozen=True)
class Abilities:
    """What the signed-in person may use; drives the navigation and the action buttons."""

    role: str
    edit_service: bool
    edit_host_aliases: bool
    review_history: bool
    django_admin: bool
    approve_change: bool = False
    read_changes: bool = False
    read_services: bool = False


def abilities_for(user: AbstractBaseUser | AnonymousUser) -> Abilities:
    """The role name shown beside the user's name and the abilities behind it."""
    if not user.is_authenticated:
        return Abilities("", False, False, False, False)
    if user.is_superuser:
        role = "Superuser"
    else:
        names = set(user.groups.values_list("name", flat=True))
        role = next((n for n in (ADMINS, TEAM_LEADS, SUPPORT) if n in names), "No role")
    return Abilities(
        role=role,
        edit_service=user.has_perm("dataflow.edit_service"),
        edit_host_aliases=user.has_perm("dataflow.edit_host_aliases"),
        review_history=user.has_perm("dataflow.review_history"),
        django_admin=user.is_staff,
        approve_change=user.has_perm("dataflow.approve_change"),
        read_changes=user.has_perm("dataflow.view_changerequest"),
        read_services=user.has_perm("dataflow.view_service"),
    )


def role_groups_ensure() -> None:
    """Create the three groups with their permissions if they are missing (idempotent)."""
    for name, codenames in GROUP_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(
            Permission.objects.filter(content_type__app_label="dataflow", codename__in=codenames)
        )
