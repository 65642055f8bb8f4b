"""What plan_config and apply_config share: read the file, plan it as a person, print it."""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import CommandError
from django.http import Http404
from rest_framework.exceptions import ValidationError

from console.dataflow.api.configfile import Planned, config_plan, config_read, plan_lines


def add_arguments(parser) -> None:
    parser.add_argument("file", type=Path)
    parser.add_argument(
        "--as", dest="username", required=True, help="the person the change is made as"
    )
    parser.add_argument("--reason", default="", help="kept with the change (required to apply)")
    parser.add_argument("--ticket", default="")


def plan_file(command, *, file: Path, username: str, reason: str, ticket: str) -> Planned:
    """The file planned as `username`, printed; CommandError (exit 1) when it cannot be."""
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise CommandError(f"No active person with the username {username!r}.")
    try:
        read = config_read(file.read_text())
        planned = config_plan(
            file=read, user=user, reason=reason or "configuration file", ticket=ticket
        )
    except OSError as exc:
        raise CommandError(f"Cannot read {file}: {exc}") from None
    except ValidationError as exc:
        raise CommandError(f"{file}: {exc.detail}") from None
    except (PermissionDenied, Http404) as exc:
        raise CommandError(f"{username}: {exc}") from None
    for line in plan_lines(planned):
        command.stdout.write(line)
    return planned
