"""Pages of fleet changes and approvals: thin views that parse, call one service, and render."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from console.dataflow.changes.approvals import (
    ApprovalRefused,
    approvals_pending_for,
    approver_check,
)
from console.dataflow.changes.approve import change_approve, change_reject, change_withdraw
from console.dataflow.changes.hostsfile import pods_hosts
from console.dataflow.changes.impact import durations_past, impact_preview
from console.dataflow.changes.replan import (
    ApprovalUnchecked,
    approval_read,
    approval_replan,
    change_send_back,
)
from console.dataflow.changes.submit import ChangeRefused
from console.dataflow.fleet.actions import (
    fleet_approve,
    fleet_cancel,
    fleet_reject,
    fleet_resume,
    fleet_submit,
)
from console.dataflow.fleet.lifecycle import fleet_actions, fleet_may_run, fleet_may_steer
from console.dataflow.fleet.plan import Preview, fleet_preview, services_select
from console.dataflow.fleet.windows import fleet_window_wait
from console.dataflow.forms.fleet import (
    ChangeDecisionForm,
    DecisionForm,
    FleetConfirmForm,
    FleetForm,
)
from console.dataflow.models import ChangeRequest, FleetChange, FleetMember, Service

APPROVE_PERM = "dataflow.approve_change"


def _fleet_runner(request: HttpRequest) -> None:
    """403 unless the person may run fleet changes of host aliases (Support, Admins)."""
    if not fleet_may_run(request.user):
        raise PermissionDenied(_("Only support staff and admins may run fleet changes."))


def _get_fleet_for_user(request: HttpRequest, pk: int) -> FleetChange:
    """A fleet change the person may see (every role sees changes), or 403/404."""
    if not request.user.has_perm("dataflow.view_changerequest"):
        raise PermissionDenied(_("Your role may not see changes."))
    return get_object_or_404(FleetChange, pk=pk)


def _get_fleet_to_steer(request: HttpRequest, pk: int) -> FleetChange:
    """A fleet change the person may cancel or resume (its author, or an admin), or 403/404."""
    _fleet_runner(request)
    fleet = _get_fleet_for_user(request, pk)
    if not fleet_may_steer(request.user, fleet):
        raise PermissionDenied(
            _("Only the author of a fleet change or an admin may cancel or resume it.")
        )
    return fleet


def _get_change_for_user(request: HttpRequest, pk: int) -> ChangeRequest:
    """A change the person may see (every role sees changes), or 403/404."""
    if not request.user.has_perm("dataflow.view_changerequest"):
        raise PermissionDenied(_("Your role may not see changes."))
    return get_object_or_404(ChangeRequest.objects.select_related("service"), pk=pk)


def _approver_only(request: HttpRequest, author_id: int | None) -> None:
    """403 unless the person may decide on this author's change (an approver, not its author)."""
    try:
        approver_check(user=request.user, author_id=author_id)
    except ApprovalRefused as exc:
        raise PermissionDenied(str(exc)) from None


# --- Fleet changes ------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def fleet_new(request: HttpRequest) -> HttpResponse:
    """Pick services and an edit; preview every service's diff; confirm with ticket and reason."""
    _fleet_runner(request)
    if request.method != "POST":
        return _fleet_new_page(request, FleetForm(initial=_fleet_filters_carried(request)))
    form = FleetForm(request.POST)
    if not form.is_valid():
        return _fleet_new_page(request, form)
    preview = fleet_preview(services=services_select(**form.selection()), edit=form.edit())
    if "confirm" not in request.POST:
        return _fleet_new_page(
            request, form, preview=preview, confirm=_confirm_form_fresh(request, preview)
        )
    return _fleet_confirm(request, form, preview)


def _fleet_confirm(request: HttpRequest, form: FleetForm, preview: Preview) -> HttpResponse:
    """Submit the previewed fleet change: to its page, or back to the preview saying why not."""
    confirm = FleetConfirmForm(request.POST)
    if not confirm.is_valid():
        return _fleet_new_page(request, form, preview=preview, confirm=confirm)
    if confirm.cleaned_data["token"] != preview.token:
        # A service changed (or joined, or left) since preview.
        fresh = _confirm_form_fresh(request, preview)
        return _fleet_new_page(request, form, preview=preview, confirm=fresh, moved=True)
    try:
        fleet = fleet_submit(
            preview=preview,
            author=request.user,
            ticket=confirm.cleaned_data["ticket"],
            reason=confirm.cleaned_data["reason"],
            wave_size=form.cleaned_data["wave_size"],
        )
    except ChangeRefused as exc:
        confirm.add_error(None, str(exc))
        return _fleet_new_page(request, form, preview=preview, confirm=confirm)
    messages.success(request, _("Fleet change #%(number)s is confirmed.") % {"number": fleet.pk})
    return redirect(fleet)


def _fleet_filters_carried(request: HttpRequest) -> dict[str, str]:
    """The service list's filters carry over ("q" is its name search)."""
    initial = {k: v for k, v in request.GET.items() if k in FleetForm.base_fields}
    if request.GET.get("q") and "name" not in initial:
        initial["name"] = request.GET["q"]
    return initial


def _confirm_form_fresh(request: HttpRequest, preview: Preview) -> FleetConfirmForm:
    """The confirm form for this preview, keeping the ticket and reason already written."""
    return FleetConfirmForm(
        initial={
            "token": preview.token,
            "ticket": request.POST.get("ticket", ""),
            "reason": request.POST.get("reason", ""),
        }
    )


def _fleet_new_page(
    request: HttpRequest,
    form: FleetForm,
    *,
    preview: Preview | None = None,
    confirm: FleetConfirmForm | None = None,
    moved: bool = False,
) -> HttpResponse:
    """The fleet change form, with its preview and confirm once there is one."""
    return render(
        request,
        "dataflow/fleet_new.html",
        {"form": form, "preview": preview, "confirm": confirm, "moved": moved},
    )


@require_GET
def fleet_list(request: HttpRequest) -> HttpResponse:
    """Every fleet change, newest first."""
    if not request.user.has_perm("dataflow.view_changerequest"):
        raise PermissionDenied(_("Your role may not see changes."))
    return render(request, "dataflow/fleet_list.html", {"fleets": FleetChange.objects.all()[:200]})


def _fleet_context(request: HttpRequest, fleet: FleetChange) -> dict:
    """What the fleet page and its live fragment show."""
    members = list(fleet.members.select_related("service", "change"))
    running = [m for m in members if m.state != m.State.EXCLUDED]
    return {
        "fleet": fleet,
        "live": _fleet_live(fleet, running),
        "members": running,
        "excluded": [m for m in members if m.state == m.State.EXCLUDED],
        "counts": _member_counts(running),
        "actions": fleet_actions(fleet, request.user),
        "events": fleet.events.all(),
        "decision_form": DecisionForm(),
        "window_wait": fleet_window_wait(fleet),
    }


def _member_counts(members: list[FleetMember]) -> dict[str, int]:
    """How many members are in each status: their change's, or their own before one."""
    counts: dict[str, int] = {}
    for member in members:
        key = member.change.get_status_display() if member.change else member.get_state_display()
        counts[key] = counts.get(key, 0) + 1
    return counts


def _fleet_live(fleet: FleetChange, members: list[FleetMember]) -> bool:
    """True while the page should refresh itself."""
    # A stopped fleet changes only when a person acts, unless changes of it are still under
    # way: the page stops refreshing then, so its buttons never move under the pointer.
    under_way = any(m.change is not None and not m.change.is_final for m in members)
    return not fleet.is_final and (fleet.status != FleetChange.Status.STOPPED or under_way)


@require_GET
def fleet_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A fleet change's progress per service, live until it is final."""
    fleet = _get_fleet_for_user(request, pk)
    template = "dataflow/partials/fleet_live.html" if request.htmx else "dataflow/fleet_detail.html"
    return render(request, template, _fleet_context(request, fleet))


@require_POST
def fleet_resume_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Go on after the fleet change stopped at a failure."""
    fleet = _get_fleet_to_steer(request, pk)
    if fleet_resume(fleet=fleet, by=request.user):
        messages.success(
            request,
            _("Fleet change #%(number)s goes on with the next wave.") % {"number": fleet.pk},
        )
    else:
        messages.warning(
            request,
            _("Fleet change #%(number)s is not stopped; nothing done.") % {"number": fleet.pk},
        )
    return redirect(fleet)


@require_POST
def fleet_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Stop a fleet change for good; services not started are never sent."""
    fleet = _get_fleet_to_steer(request, pk)
    if fleet_cancel(fleet=fleet, by=request.user):
        messages.success(
            request, _("Fleet change #%(number)s is cancelled.") % {"number": fleet.pk}
        )
    else:
        messages.warning(
            request,
            _("Fleet change #%(number)s has ended already; nothing done.") % {"number": fleet.pk},
        )
    return redirect(fleet)


@require_POST
def fleet_decide_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Approve or reject a whole fleet change (approvers other than its author)."""
    fleet = _get_fleet_for_user(request, pk)
    _approver_only(request, fleet.author_id)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        context = _fleet_context(request, fleet)
        context["decision_form"] = form
        return render(request, "dataflow/fleet_detail.html", context, status=400)
    comment = form.cleaned_data["comment"]
    if form.cleaned_data["decision"] == "approve":
        done = fleet_approve(fleet=fleet, by=request.user, comment=comment)
    else:
        done = fleet_reject(fleet=fleet, by=request.user, comment=comment)
    if done:
        if form.cleaned_data["decision"] == "approve":
            messages.success(
                request, _("Fleet change #%(number)s: approved.") % {"number": fleet.pk}
            )
        else:
            messages.success(
                request, _("Fleet change #%(number)s: rejected.") % {"number": fleet.pk}
            )
    else:
        messages.warning(
            request, _("Fleet change #%(number)s no longer awaits approval.") % {"number": fleet.pk}
        )
    return redirect(fleet)


# --- Approvals ----------------------------------------------------------------------------


@require_GET
def approvals(request: HttpRequest) -> HttpResponse:
    """What awaits this person's approval: changes and fleet changes of other authors."""
    if not request.user.has_perm(APPROVE_PERM):
        raise PermissionDenied(_("Only team leads and admins approve changes."))
    return render(
        request, "dataflow/approvals.html", {"pending": approvals_pending_for(request.user)}
    )


@require_http_methods(["GET", "POST"])
def change_decide(request: HttpRequest, pk: int) -> HttpResponse:
    """The review of a waiting change (diff, pre-check, reason, ticket) with approve / reject.

    The page reads SCP first and shows the change re-planned on what SCP holds now: fields SCP
    changed meanwhile, kept, and conflicts the approver decides explicitly.
    """
    change = _get_change_for_user(request, pk)
    _approver_only(request, change.author_id)
    form = ChangeDecisionForm(request.POST or None)
    if change.status != ChangeRequest.Status.AWAITING_APPROVAL:
        messages.info(
            request, _("Change #%(number)s does not await approval.") % {"number": change.pk}
        )
        return redirect(change)
    if request.method != "POST":
        return _decide_page(request, change, form, read_error=_approval_read_problem(change))
    if not form.is_valid():
        return _decide_page(request, change, form, status=400)
    try:
        return _decided(request, change, form.cleaned_data)
    except ApprovalUnchecked as exc:
        return _decide_page(request, change, form, status=503, read_error=str(exc))
    except ApprovalRefused as exc:  # a conflict not decided, or SCP moved since the page
        messages.warning(request, str(exc))
        form = ChangeDecisionForm(initial={"comment": form.cleaned_data["comment"]})
        return _decide_page(request, change, form, status=409)


def _approval_read_problem(change: ChangeRequest) -> str:
    """Read the service from SCP for the approver's page; why it could not be, or ""."""
    try:
        approval_read(service=change.service)
    except ApprovalUnchecked as exc:
        return str(exc)
    return ""


def _decide_page(
    request: HttpRequest,
    change: ChangeRequest,
    form: ChangeDecisionForm,
    *,
    status: int = 200,
    read_error: str = "",
) -> HttpResponse:
    """The approver's page: the change re-planned on the service as the console holds it now."""
    service = Service.objects.get(pk=change.service_id)
    replan = approval_replan(change=change, service=service)
    return render(
        request,
        "dataflow/change_decide.html",
        {
            "change": change,
            "form": form,
            "replan": replan,
            "read_error": read_error,
            "pods_hosts": pods_hosts(
                desired=replan.desired_config, entries=replan.entries or change.diff
            ),
            # What approving sends will do: the change's diff re-planned on what SCP holds now.
            "impacts": impact_preview(
                entries=replan.entries,
                config=service.config,
                durations=durations_past(service=service),
            ),
        },
        status=status,
    )


def _decided(request: HttpRequest, change: ChangeRequest, data: dict) -> HttpResponse:
    """Take the approver's decision on a waiting change and say what came of it."""
    decision, comment = data["decision"], data["comment"]
    if decision in ("approve", "override"):
        done = change_approve(
            change=change,
            by=request.user,
            comment=comment,
            override=decision == "override",
            seen_revision=data.get("revision"),
        )
        said = _("Change #%(number)s is approved: it is queued for SCP.")
    elif decision == "return":
        done = change_send_back(change=change, by=request.user, comment=comment)
        said = _("Change #%(number)s is sent back to its author: it is never sent.")
    else:
        done = change_reject(change=change, by=request.user, comment=comment)
        said = _("Change #%(number)s is rejected: it is never sent.")
    if done:
        messages.success(request, said % {"number": change.pk})
    else:
        messages.warning(
            request, _("Change #%(number)s no longer awaits approval.") % {"number": change.pk}
        )
    return redirect(change)


@require_POST
def change_withdraw_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The author takes back a change that awaits approval."""
    change = _get_change_for_user(request, pk)
    if change.author_id != request.user.pk:
        raise PermissionDenied(_("Only the author may withdraw a change awaiting approval."))
    if change_withdraw(change=change, by=request.user):
        messages.success(
            request, _("Change #%(number)s is withdrawn; nothing was sent.") % {"number": change.pk}
        )
    else:
        messages.warning(
            request, _("Change #%(number)s no longer awaits approval.") % {"number": change.pk}
        )
    return redirect(change)
