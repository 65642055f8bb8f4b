"""Pages of the console: thin views that parse, call one pipeline function, and render."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from console.dataflow.changes.abandon import change_abandon, change_look
from console.dataflow.changes.approvals import approval_needed
from console.dataflow.changes.configdiff import (
    COMPONENT_LABELS,
    config_apply,
    config_diff,
)
from console.dataflow.changes.drafts import (
    Draft,
    draft_discard,
    draft_load,
    draft_rebase,
    draft_save,
    draft_update,
    edits_rebase,
    revision_config,
)
from console.dataflow.changes.hostsfile import hosts_in_pods, hosts_text, kept_off, pods_hosts
from console.dataflow.changes.lifecycle import change_actions, change_stuck, change_waiting
from console.dataflow.changes.plan import Plan, change_plan, change_precheck
from console.dataflow.changes.steps import BUSY_STATES
from console.dataflow.changes.submit import (
    ChangeInFlight,
    ChangeRefused,
    StaleEdit,
    change_cancel,
    change_submit,
)
from console.dataflow.changes.validators import HOST_ALIASES_MAX
from console.dataflow.forms.service import (
    ConfirmForm,
    HostAliasesForm,
    ServiceEditForm,
    host_alias_formset,
)
from console.dataflow.history.charts import service_chart, service_chart_headers
from console.dataflow.inventory.sync import services_sync_request
from console.dataflow.models import IN_FLIGHT, ChangeRequest, Service
from console.scp import ServiceConfig, build_update_body
from console.scp.redact import MASK

Status = ChangeRequest.Status
GONE = gettext_lazy(
    "SCP no longer lists this service, so it cannot be changed from here; its history stays. "
    "A refresh from SCP brings it back if it reappears."
)


def _get_service_for_user(request: HttpRequest, pk: int, perm: str) -> Service:
    """The service, or 403 when the person's role lacks `perm`, or 404 when it does not exist."""
    if not request.user.has_perm(f"dataflow.{perm}"):
        raise PermissionDenied(_("Your role may not do this."))
    return get_object_or_404(Service, pk=pk)


def _get_change_for_user(request: HttpRequest, pk: int) -> ChangeRequest:
    """A change the person may see (every role sees changes), or 403/404."""
    if not request.user.has_perm("dataflow.view_changerequest"):
        raise PermissionDenied(_("Your role may not see changes."))
    return get_object_or_404(ChangeRequest.objects.select_related("service", "author"), pk=pk)


# --- Services -----------------------------------------------------------------------------


@require_POST
@permission_required("dataflow.edit_service", raise_exception=True)
def sync_request(request: HttpRequest) -> HttpResponse:
    """ "Refresh from SCP" (admins): a worker reads every service; the list follows it live."""
    run = services_sync_request(requested_by=request.user)
    run.refresh_from_db()
    if run.errors:
        messages.error(request, " ".join(run.errors))
    else:
        messages.info(request, _("Refreshing the services from SCP…"))
    return redirect("dataflow:service-list")


@require_GET
@permission_required("dataflow.view_service", raise_exception=True)
def service_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A service's configuration in readable units, its links, its change in flight."""
    service = _get_service_for_user(request, pk, "view_service")
    in_flight = service.changes.filter(status__in=IN_FLIGHT).first()
    if request.htmx:
        finished = None if in_flight else service.changes.first()
        return render(
            request,
            "dataflow/partials/inflight_banner.html",
            {"service": service, "change": in_flight, "finished": finished},
        )
    config = service.config or {}
    known = config.get("workloads") or {}
    workloads = [
        {"label": label, **(known.get(component) or {})}
        for component, label in COMPONENT_LABELS.items()
    ]
    return render(
        request,
        "dataflow/service_detail.html",
        {
            "service": service,
            "config": config,
            "workloads": workloads,
            "change": in_flight,
            "recent_changes": service.changes.all()[:10],
            # The newest revisions, oldest first, for the chart of workloads over time.
            "chart": service_chart(
                list(service.revisions.select_related("change").order_by("-revision")[:30])[::-1]
            ),
            "chart_headers": service_chart_headers(),
        },
    )


# --- Edit → review → confirm --------------------------------------------------------------

BASE_MISSING = gettext_lazy(
    "The configuration this form was opened on (revision %(revision)s) is no longer on "
    "record, so your edits cannot be told apart from the values you did not touch. Nothing "
    "was kept: reload the page and make your edit again."
)


def _opened_on(service: Service, raw: object) -> tuple[int | None, dict | None]:
    """The revision a form was opened on and its configuration (None when not on record)."""
    try:
        revision = int(str(raw))
    except ValueError:
        return None, None
    return revision, revision_config(service=service, revision=revision)


def _state_notice(service: Service) -> dict[str, str] | None:
    """What happens to a change of a service that is not RUNNING, told before the edit starts."""
    state = (service.state or "").upper()
    if state == "RUNNING":
        return None
    if state == "ERROR":
        return {
            "level": "warning",
            "title": _("SCP reports this service in ERROR."),
            "text": _(
                "Your change is sent as a repair. SCP keeps reporting the earlier failure "
                "until this update finishes; the console follows the update to its end."
            ),
        }
    if state in BUSY_STATES:
        return {
            "level": "info",
            "title": _("SCP is applying another update to this service (%(state)s).")
            % {"state": state},
            "text": _(
                "SCP refuses a second update meanwhile: your change waits and is retried, "
                "and fails with that reason if SCP stays busy."
            ),
        }
    # Guess: SCP's documentation does not say what an update does to a stopped service.
    return {
        "level": "secondary",
        "title": _("SCP reports this service as %(state)s.") % {"state": state or _("unknown")},
        "text": _(
            "A guess, as SCP's documentation does not say: SCP may refuse the update or "
            "start the service to apply it. The console reports what SCP answers."
        ),
    }


@sensitive_post_parameters("account_password")
@require_http_methods(["GET", "POST"])
def service_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """The edit form; the person's edits become a draft and go to the review page."""
    service = _get_service_for_user(request, pk, "edit_service")
    if service.is_gone:
        messages.error(request, GONE)
        return redirect(service)
    meanwhile = None
    if request.method == "POST":
        opened_revision, opened_config = _opened_on(service, request.POST.get("base_revision"))
        form = ServiceEditForm(request.POST, service=service, held=opened_config)
        formset = host_alias_formset(data=request.POST, held=opened_config or service.config)
        if form.is_valid() and formset.is_valid():
            if opened_config is None:
                form.add_error(None, BASE_MISSING % {"revision": opened_revision})
            else:
                # Only the fields the person changed count: the rest follows the newest config.
                rebased = edits_rebase(
                    service=service,
                    opened_revision=form.cleaned_data["base_revision"],
                    opened_config=opened_config,
                    desired=form.desired_config(formset.aliases()).to_dict(),
                )
                new_password = form.cleaned_data["account_password"] or None
                plan = change_plan(
                    service=service,
                    desired=ServiceConfig.from_dict(rebased.desired_config),
                    password_changed=bool(new_password),
                    base_revision=rebased.base_revision,
                )
                if plan.entries:
                    return _to_review(
                        request, plan, new_password=new_password, meanwhile=rebased.meanwhile
                    )
                if rebased.meanwhile is None:
                    form.add_error(None, _("Nothing changed: edit at least one field to continue."))
                else:
                    meanwhile = rebased.meanwhile
                    messages.info(
                        request,
                        _("Nothing to change: the newer configuration already holds your edits."),
                    )
                    form = ServiceEditForm(
                        initial=ServiceEditForm.initial_from(
                            service.config, revision=service.config_revision
                        ),
                        service=service,
                    )
                    formset = host_alias_formset(
                        aliases=service.config.get("host_aliases") or [], held=service.config
                    )
    else:
        config, draft = service.config, None
        if draft_id := request.GET.get("draft"):
            draft = draft_load(request.session, draft_id, service_id=service.pk)
            if draft is not None:
                config = _draft_on_current_config(service, draft)
        form = ServiceEditForm(
            initial={
                **ServiceEditForm.initial_from(config, revision=service.config_revision),
                "host_alias_keep_off": kept_off(service.config, config),
            },
            service=service,
        )
        formset = host_alias_formset(aliases=config.get("host_aliases") or [], held=service.config)
        if draft is not None and draft.password_changed:
            messages.info(request, _("Your draft set a new password; type it again to keep it."))
    return render(
        request,
        "dataflow/service_edit.html",
        {
            "service": service,
            "form": form,
            "formset": formset,
            "meanwhile": meanwhile,
            "state_notice": _state_notice(service),
            "components": list(COMPONENT_LABELS.items()),
            "host_aliases_max": HOST_ALIASES_MAX,
        },
    )


def _to_review(
    request: HttpRequest,
    plan: Plan,
    *,
    new_password: str | None = None,
    ticket: str = "",
    reason: str = "",
    meanwhile: dict | None = None,
) -> HttpResponse:
    """Keep a plan as a draft in the session and go to its review page."""
    draft = draft_save(
        request.session,
        service_id=plan.service_id,
        kind=plan.kind,
        base_revision=plan.base_revision,
        base_config=plan.base_config,
        desired_config=plan.desired_config,
        new_password=new_password,
        ticket=ticket,
        reason=reason,
        meanwhile=meanwhile,
    )
    return redirect("dataflow:change-review", pk=plan.service_id, draft_id=draft.id)


def _draft_on_current_config(service: Service, draft: Draft) -> dict:
    """The draft's edits, on top of the newer configuration when SCP's moved since the draft.

    "Edit again" after a stale review must not bring back the values SCP has since changed.
    """
    if draft.base_revision == service.config_revision:
        return draft.desired_config
    return config_apply(service.config, draft.base_config, draft.desired_config)


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


@sensitive_post_parameters("account_password")
@require_http_methods(["GET", "POST"])
def change_review(request: HttpRequest, pk: int, draft_id: str) -> HttpResponse:
    """Plan before apply: the person's edits, SCP's pre-check, a reason, and confirm."""
    if not (
        request.user.has_perm("dataflow.edit_service")
        or request.user.has_perm("dataflow.edit_host_aliases")
    ):
        raise PermissionDenied(_("Your role may not change services."))
    service = get_object_or_404(Service, pk=pk)
    draft = _draft_or_redirect(request, service, draft_id)
    if draft is None:
        return redirect(_edit_url_name(request), pk=service.pk)
    form_url = _draft_form_url(service, draft)
    if draft.kind == ChangeRequest.Kind.FULL:
        _get_service_for_user(request, pk, "edit_service")
    else:
        _get_service_for_user(request, pk, "edit_host_aliases")
    # The configuration moved since the draft was made: the edits move onto the newest one.
    rebased_now = draft.base_revision != service.config_revision
    draft = draft_rebase(request.session, draft, service=service)
    # Bound on every POST, even an empty one, so that a missing reason is reported.
    form = ConfirmForm(
        request.POST if request.method == "POST" else None, initial={"reason": draft.reason}
    )
    if request.method == "POST" and form.is_valid() and not rebased_now:
        draft.precheck = draft.precheck or _precheck(request, service, draft)
        if not draft.precheck["ok"]:
            form.add_error(None, _("SCP's pre-check failed; change the workloads first."))
        else:
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
                service.refresh_from_db()
                draft = draft_rebase(request.session, draft, service=service)
                rebased_now = True
            except ChangeInFlight as exc:
                form.add_error(None, str(exc))
            except ChangeRefused as exc:
                form.add_error(None, str(exc))
            else:
                draft_discard(request.session, draft.id)
                messages.success(request, _confirmed_as(change))
                return redirect(change)
    plan = _review_plan(service, draft)
    if draft.precheck is None:
        draft.precheck = _precheck(request, service, draft, plan=plan)
    # Only the person's edits: the draft's desired config against the one it sits on.
    entries = config_diff(
        draft.base_config, draft.desired_config, password_changed=draft.password_changed
    )
    return render(
        request,
        "dataflow/change_review.html",
        {
            "service": service,
            "draft": draft,
            "entries": entries,
            "counts": plan.counts,
            "precheck": draft.precheck,
            "form": form,
            "meanwhile": draft.meanwhile,
            "nothing_sent": request.method == "POST" and rebased_now,
            "in_flight": service.changes.filter(status__in=IN_FLIGHT).first(),
            "form_url": form_url,
            "pods_hosts": pods_hosts(desired=draft.desired_config, entries=entries),
            "needs_approval": approval_needed(connection_name=service.connection_name),
        },
    )


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


@require_http_methods(["GET", "POST"])
def service_host_aliases(request: HttpRequest, pk: int) -> HttpResponse:
    """Support's page: paste or edit the host alias list, with a ticket and a reason."""
    service = _get_service_for_user(request, pk, "edit_host_aliases")
    if service.is_gone:
        messages.error(request, GONE)
        return redirect(service)
    meanwhile = None
    if request.method == "POST":
        opened_revision, opened_config = _opened_on(service, request.POST.get("base_revision"))
        form = HostAliasesForm(request.POST, held=opened_config or service.config)
        if form.is_valid():
            if opened_config is None:
                form.add_error(None, BASE_MISSING % {"revision": opened_revision})
            else:
                # The pasted list against the one opened: added, removed, changed host names.
                rebased = edits_rebase(
                    service=service,
                    opened_revision=form.cleaned_data["base_revision"],
                    opened_config=opened_config,
                    desired=form.desired_config(opened_config),
                )
                plan = change_plan(
                    service=service,
                    desired=ServiceConfig.from_dict(rebased.desired_config),
                    password_changed=False,
                    base_revision=rebased.base_revision,
                    kind=ChangeRequest.Kind.HOST_ALIASES,
                )
                if plan.entries:
                    return _to_review(
                        request,
                        plan,
                        ticket=form.cleaned_data["ticket"],
                        reason=form.cleaned_data["reason"],
                        meanwhile=rebased.meanwhile,
                    )
                if rebased.meanwhile is None:
                    form.add_error(None, _("Nothing changed: the host aliases are already so."))
                else:
                    meanwhile = rebased.meanwhile
                    form.add_error(
                        None,
                        _(
                            "Nothing to change: the newer configuration already holds this "
                            "list. Reload the page to see it."
                        ),
                    )
    else:
        config, initial = service.config, {}
        if draft_id := request.GET.get("draft"):
            draft = draft_load(request.session, draft_id, service_id=service.pk)
            if draft is not None:
                config = _draft_on_current_config(service, draft)
                initial = {"ticket": draft.ticket, "reason": draft.reason}
        form = HostAliasesForm(
            initial={
                "base_revision": service.config_revision,
                "host_alias_enabled": config.get("host_alias_enabled", False),
                "host_alias_keep_off": kept_off(service.config, config),
                "hosts": hosts_text(config.get("host_aliases") or []),
                **initial,
            },
            held=service.config,
        )
    return render(
        request,
        "dataflow/service_host_aliases.html",
        {
            "service": service,
            "form": form,
            "held_warnings": form.held_warnings(),
            "meanwhile": meanwhile,
            "state_notice": _state_notice(service),
            "current_hosts": hosts_in_pods(service.config or {}),
            "aliases_off": not (service.config or {}).get("host_alias_enabled"),
        },
    )


# --- Changes ------------------------------------------------------------------------------


@require_GET
def change_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One change: diff, reason, author, timeline, attempts, SCP's answer; live until final."""
    change = _get_change_for_user(request, pk)
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
    change = _get_change_for_user(request, pk)
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


@require_http_methods(["GET", "POST"])
def change_abandon_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Give up a stuck change, after the console has read SCP and shown what it holds."""
    change = _get_change_for_user(request, pk)
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
    change = _get_change_for_user(request, pk)
    perm = "edit_service" if change.kind == ChangeRequest.Kind.FULL else "edit_host_aliases"
    service = _get_service_for_user(request, change.service_id, perm)
    if not change_actions(change, request.user).retry:
        messages.warning(
            request,
            _("Change #%(number)s did not fail; there is nothing to retry.")
            % {"number": change.pk},
        )
        return redirect(change)
    # The failed change's edits, on today's configuration: nothing SCP changed since is undone.
    desired = config_apply(service.config, change.base_config, change.desired_config)
    if not config_diff(service.config, desired):
        messages.info(request, _("SCP already reports the configuration this change asked for."))
        return redirect(change)
    draft = draft_save(
        request.session,
        service_id=service.pk,
        kind=change.kind,
        base_revision=service.config_revision,
        base_config=service.config,
        desired_config=desired,
        new_password=None,
        ticket=change.ticket,
        reason=change.reason,
    )
    if change.password_changed:
        messages.info(
            request,
            _(
                "The failed change set a new password; it is not kept. "
                "Go back to the form to type it again."
            ),
        )
    return redirect("dataflow:change-review", pk=service.pk, draft_id=draft.id)
