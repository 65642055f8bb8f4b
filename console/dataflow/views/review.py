"""The review page: the person's edits, SCP's pre-check, a reason, and the confirm button."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from console.dataflow.changes.approvals import approval_needed
from console.dataflow.changes.configdiff import config_diff
from console.dataflow.changes.drafts import (
    Draft,
    draft_discard,
    draft_load,
    draft_rebase,
    draft_update,
)
from console.dataflow.changes.hostsfile import pods_hosts
from console.dataflow.changes.impact import Impact, durations_past, impact_preview
from console.dataflow.changes.plan import Plan, change_plan, change_precheck
from console.dataflow.changes.submit import ChangeRefused, StaleEdit, change_submit
from console.dataflow.forms.service import ConfirmForm
from console.dataflow.models import IN_FLIGHT, ChangeRequest, Service
from console.dataflow.views.access import service_for_user
from console.dataflow.windows.gate import service_window_note
from console.scp import ServiceConfig


def _draft_or_redirect(request: HttpRequest, service: Service, draft_id: str) -> Draft | None:
    draft = draft_load(request.session, draft_id, service_id=service.pk)
    if draft is None:
        messages.warning(request, _("That review is no longer available; start the edit again."))
    return draft


def _review_plan(service: Service, draft: Draft) -> Plan:
    return change_plan(
        service=service,
        desired=ServiceConfig.from_dict(draft.desired_config),
        password_changed=draft.password_changed,
        base_revision=draft.base_revision,
        kind=draft.kind,
    )


def _may_review(request: HttpRequest) -> None:
    """403 unless the person's role may change services in some way."""
    if not (
        request.user.has_perm("dataflow.edit_service")
        or request.user.has_perm("dataflow.edit_host_aliases")
    ):
        raise PermissionDenied(_("Your role may not change services."))


@sensitive_post_parameters("account_password")
@require_http_methods(["GET", "POST"])
def change_review(request: HttpRequest, pk: int, draft_id: str) -> HttpResponse:
    """Plan before apply: the person's edits, SCP's pre-check, a reason, and confirm."""
    _may_review(request)
    service = get_object_or_404(Service, pk=pk)
    draft = _draft_or_redirect(request, service, draft_id)
    if draft is None:
        return redirect(_edit_url_name(request), pk=service.pk)
    form_url = _draft_form_url(service, draft)
    service_for_user(request, pk, _draft_perm(draft))
    # The configuration moved since the draft was made: the edits move onto the newest one.
    rebased_now = draft.base_revision != service.config_revision
    draft = draft_rebase(request.session, draft, service=service)
    impacts = _impacts(service, draft)
    form = _confirm_form(request, draft, impacts)
    if request.method == "POST" and form.is_valid() and not rebased_now:
        try:
            confirmed = _confirm(request, service, draft, form)
        except StaleEdit:  # SCP moved between the check above and the submit
            service.refresh_from_db()
            draft = draft_rebase(request.session, draft, service=service)
            rebased_now = True
        else:
            if confirmed is not None:
                return confirmed
    context = _review_context(request, service, draft)
    return render(
        request,
        "dataflow/change_review.html",
        {
            **context,
            "form": form,
            "impacts": impacts,
            "acknowledge": [name for name, _impact in _acknowledgements(impacts)],
            "nothing_sent": request.method == "POST" and rebased_now,
            "form_url": form_url,
        },
    )


def _draft_perm(draft: Draft) -> str:
    """The permission a draft's kind of change needs."""
    return "edit_service" if draft.kind == ChangeRequest.Kind.FULL else "edit_host_aliases"


def _confirm_form(request: HttpRequest, draft: Draft, impacts: list[Impact]) -> ConfirmForm:
    """The reason form, with a box for each consequence to acknowledge; bound on every POST,
    even an empty one, so a missing reason or an unticked box is told."""
    return ConfirmForm(
        request.POST if request.method == "POST" else None,
        initial={"reason": draft.reason},
        acknowledgements={name: impact.ack_text for name, impact in _acknowledgements(impacts)},
    )


def _acknowledgements(impacts: list[Impact]) -> list[tuple[str, Impact]]:
    """The consequences the person must acknowledge before confirming, by their box's name."""
    return [(f"acknowledge_{impact.code}", impact) for impact in impacts if impact.ack]


def _draft_entries(draft: Draft) -> list[dict]:
    """Only the person's edits: the draft's desired config against the one it sits on."""
    return config_diff(
        draft.base_config, draft.desired_config, password_changed=draft.password_changed
    )


def _impacts(service: Service, draft: Draft) -> list[Impact]:
    """What the draft's edits will do to the running flows."""
    return impact_preview(
        entries=_draft_entries(draft),
        config=draft.base_config,
        durations=durations_past(service=service),
    )


def _confirm(
    request: HttpRequest, service: Service, draft: Draft, form: ConfirmForm
) -> HttpResponse | None:
    """Submit the confirmed draft and go to the change's page; None when something stopped it.

    What stopped it is added to the form; StaleEdit (SCP moved) is the caller's to handle.
    """
    draft.precheck = draft.precheck or _precheck(request, service, draft)
    if not draft.precheck["ok"]:
        form.add_error(None, _("SCP's pre-check failed; change the workloads first."))
        return None
    try:
        change = change_submit(
            plan=_review_plan(service, draft),
            author=request.user,
            reason=form.cleaned_data["reason"],
            new_password=draft.new_password(),
            ticket=draft.ticket,
            precheck=draft.precheck,
        )
    except StaleEdit:
        raise  # a refusal too, but one the caller answers by rebasing the draft
    except ChangeRefused as exc:  # another change in flight, or refused for its reason
        form.add_error(None, str(exc))
        return None
    draft_discard(request.session, draft.id)
    messages.success(request, _confirmed_as(change))
    return redirect(change)


def _review_context(request: HttpRequest, service: Service, draft: Draft) -> dict:
    """What the review page shows of a draft: its edits, their counts, the pre-check."""
    plan = _review_plan(service, draft)
    if draft.precheck is None:
        draft.precheck = _precheck(request, service, draft, plan=plan)
    entries = _draft_entries(draft)
    return {
        "service": service,
        "draft": draft,
        "entries": entries,
        "counts": plan.counts,
        "precheck": draft.precheck,
        "meanwhile": draft.meanwhile,
        "in_flight": service.changes.filter(status__in=IN_FLIGHT).first(),
        "pods_hosts": pods_hosts(desired=draft.desired_config, entries=entries),
        "needs_approval": approval_needed(connection_name=service.connection_name),
        "window": service_window_note(service),
    }


def _confirmed_as(change: ChangeRequest) -> str:
    """The sentence that confirms a submitted change: true for as long as the page shows it
    (where the change is now, the live status says)."""
    return _("Change #%(number)s confirmed.") % {"number": change.pk}


def _precheck(
    request: HttpRequest, service: Service, draft: Draft, *, plan: Plan | None = None
) -> dict:
    """SCP's pre-check of the draft's workloads, kept with the draft."""
    draft.precheck = change_precheck(
        service=service, plan=plan or _review_plan(service, draft)
    ).to_dict()
    draft_update(request.session, draft)
    return draft.precheck


def _edit_url_name(request: HttpRequest) -> str:
    if request.user.has_perm("dataflow.edit_service"):
        return "dataflow:service-edit"
    return "dataflow:service-host-aliases"


def _draft_form_url(service: Service, draft: Draft) -> str:
    name = (
        "dataflow:service-edit"
        if draft.kind == ChangeRequest.Kind.FULL
        else "dataflow:service-host-aliases"
    )
    return f"{reverse(name, args=[service.pk])}?draft={draft.id}"
