"""A change's page and what can be done to it: cancel, abandon when stuck, retry when failed,
send now when scheduled for a maintenance window."""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from console.dataflow.changes.abandon import change_abandon, change_look
from console.dataflow.changes.approvals import ApprovalRefused
from console.dataflow.changes.lifecycle import change_actions, change_stuck, change_waiting
from console.dataflow.changes.proposals import draft_propose
from console.dataflow.changes.schedule import change_send_now
from console.dataflow.changes.submit import change_cancel
from console.dataflow.models import ChangeRequest
from console.dataflow.views.access import change_for_user, service_for_user
from console.scp import ServiceConfig, build_update_body
from console.scp.redact import MASK


@require_GET
def change_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One change: diff, reason, author, timeline, attempts, SCP's answer; live until final."""
    change = change_for_user(request, pk)
    template = (
        "dataflow/partials/change_live.html" if request.htmx else "dataflow/change_detail.html"
    )
    attempts = list(change.tries.all())
    return render(
        request,
        template,
        {
            "change": change,
            "events": change.events.all(),
            "attempts": attempts,
            "actions": change_actions(change, request.user),
            "stuck": change_stuck(change),
            "waiting": change_waiting(change, attempts[-1] if attempts else None),
            "body_sent": _body_sent(change) if any(a.put_sent for a in attempts) else "",
        },
    )


def _body_sent(change: ChangeRequest) -> str:
    """The update body of the change's last PUT as JSON, the password masked.

    The worker stores the merged configuration it sends just before each PUT, so the body
    is built again from it exactly as it went out.
    """
    body = build_update_body(ServiceConfig.from_dict(change.desired_config))
    if change.password_changed:
        body["account"]["account_password"] = MASK  # sent, never shown
    return json.dumps(body, indent=2, ensure_ascii=False)


@require_POST
def change_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Withdraw a change that no worker has taken yet."""
    change = change_for_user(request, pk)
    if not request.user.has_perm("dataflow.edit_service") and change.author_id != request.user.pk:
        raise PermissionDenied(_("Only admins and the change's author may cancel it."))
    if change_cancel(change=change, by=request.user):
        messages.success(
            request,
            _("Change #%(number)s is cancelled; nothing was sent to SCP.") % {"number": change.pk},
        )
    else:
        messages.warning(
            request,
            _("Change #%(number)s is already on its way and cannot be cancelled.")
            % {"number": change.pk},
        )
    return redirect(change)


@require_POST
def change_send_now_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Send a change scheduled for a maintenance window now, with the admin's reason."""
    change = change_for_user(request, pk)
    if not request.user.has_perm("dataflow.edit_service"):
        raise PermissionDenied(_("Only admins may send a change outside the maintenance windows."))
    try:
        sent = change_send_now(
            change=change, by=request.user, reason=request.POST.get("reason", "")
        )
    except ApprovalRefused as exc:
        messages.error(request, str(exc))
        return redirect(change)
    if sent:
        messages.success(request, _("Change #%(number)s goes now.") % {"number": change.pk})
    else:
        messages.warning(
            request,
            _("Change #%(number)s is no longer scheduled; nothing done.") % {"number": change.pk},
        )
    return redirect(change)


@require_http_methods(["GET", "POST"])
def change_abandon_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Give up a stuck change, after the console has read SCP and shown what it holds."""
    change = change_for_user(request, pk)
    if not request.user.has_perm("dataflow.edit_service"):
        raise PermissionDenied(_("Only admins may abandon a change."))
    if not change_actions(change, request.user).abandon:
        messages.info(
            request,
            _("Change #%(number)s is not stuck; there is nothing to abandon.")
            % {"number": change.pk},
        )
        return redirect(change)
    look = change_look(change=change)
    if request.method == "POST" and look.ok:
        if change_abandon(change=change, by=request.user, look=look):
            messages.success(
                request,
                _("Change #%(number)s is abandoned; the service is free for new changes.")
                % {"number": change.pk},
            )
        else:
            messages.warning(
                request,
                _("Change #%(number)s moved on meanwhile; nothing done.") % {"number": change.pk},
            )
        return redirect(change)
    return render(request, "dataflow/change_abandon.html", {"change": change, "look": look})


@require_POST
def change_retry_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Start a new review of what a failed change asked for, on today's configuration."""
    change = change_for_user(request, pk)
    perm = "edit_service" if change.kind == ChangeRequest.Kind.FULL else "edit_host_aliases"
    service = service_for_user(request, change.service_id, perm)
    if not change_actions(change, request.user).retry:
        messages.warning(
            request,
            _("Change #%(number)s did not fail; there is nothing to retry.")
            % {"number": change.pk},
        )
        return redirect(change)
    # The failed change's edits, on today's configuration: nothing SCP changed since is undone.
    proposal = draft_propose(
        request.session,
        service=service,
        kind=change.kind,
        opened_revision=change.base_revision,
        opened_config=change.base_config,
        desired=change.desired_config,
        ticket=change.ticket,
        reason=change.reason,
        tell_meanwhile=False,
    )
    if proposal.draft is None:
        messages.info(request, _("SCP already reports the configuration this change asked for."))
        return redirect(change)
    if change.password_changed:
        messages.info(
            request,
            _(
                "The failed change set a new password; it is not kept. "
                "Go back to the form to type it again."
            ),
        )
    return redirect("dataflow:change-review", pk=service.pk, draft_id=proposal.draft.id)
