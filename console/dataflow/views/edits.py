"""The editing pages: an admin's edit form and support's host alias page, up to the review."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from console.dataflow.changes.configdiff import COMPONENT_LABELS, config_apply
from console.dataflow.changes.drafts import Draft, draft_load, revision_config
from console.dataflow.changes.hostsfile import hosts_in_pods, hosts_text, kept_off
from console.dataflow.changes.proposals import draft_propose
from console.dataflow.changes.steps import BUSY_STATES
from console.dataflow.changes.validators import HOST_ALIASES_MAX
from console.dataflow.forms.host_aliases import (
    BaseHostAliasFormSet,
    HostAliasesForm,
    host_alias_formset,
)
from console.dataflow.forms.service import ServiceEditForm
from console.dataflow.models import ChangeRequest, Service
from console.dataflow.views.access import service_for_user

GONE = gettext_lazy(
    "SCP no longer lists this service, so it cannot be changed from here; its history stays. "
    "A refresh from SCP brings it back if it reappears."
)
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


def _draft_asked(request: HttpRequest, service: Service) -> Draft | None:
    """The draft named by `?draft=` ("Edit again" from a review), or None."""
    if draft_id := request.GET.get("draft"):
        return draft_load(request.session, draft_id, service_id=service.pk)
    return None


def _draft_on_current_config(service: Service, draft: Draft) -> dict:
    """The draft's edits, on top of the newer configuration when SCP's moved since the draft.

    "Edit again" after a stale review must not bring back the values SCP has since changed.
    """
    if draft.base_revision == service.config_revision:
        return draft.desired_config
    return config_apply(service.config, draft.base_config, draft.desired_config)


def _to_review(draft: Draft) -> HttpResponse:
    """The review page of a proposed edit's draft."""
    return redirect("dataflow:change-review", pk=draft.service_id, draft_id=draft.id)


# --- The edit form (admins) ---------------------------------------------------------------


@sensitive_post_parameters("account_password")
@require_http_methods(["GET", "POST"])
def service_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """The edit form; the person's edits become a draft and go to the review page."""
    service = service_for_user(request, pk, "edit_service")
    if service.is_gone:
        messages.error(request, GONE)
        return redirect(service)
    if request.method == "POST":
        return _edit_post(request, service)
    form, formset = _edit_forms_opened(request, service)
    return _edit_page(request, service, form, formset)


def _edit_post(request: HttpRequest, service: Service) -> HttpResponse:
    """The posted edit: to its review, or the form again with what stopped it."""
    opened_revision, opened_config = _opened_on(service, request.POST.get("base_revision"))
    form = ServiceEditForm(request.POST, service=service, held=opened_config)
    formset = host_alias_formset(data=request.POST, held=opened_config or service.config)
    if not (form.is_valid() and formset.is_valid()):
        return _edit_page(request, service, form, formset)
    if opened_config is None:
        form.add_error(None, BASE_MISSING % {"revision": opened_revision})
        return _edit_page(request, service, form, formset)
    # Only the fields the person changed count: the rest follows the newest config.
    proposal = draft_propose(
        request.session,
        service=service,
        kind=ChangeRequest.Kind.FULL,
        opened_revision=form.cleaned_data["base_revision"],
        opened_config=opened_config,
        desired=form.desired_config(formset.aliases()).to_dict(),
        new_password=form.cleaned_data["account_password"] or None,
    )
    if proposal.draft is not None:
        return _to_review(proposal.draft)
    if proposal.meanwhile is None:
        form.add_error(None, _("Nothing changed: edit at least one field to continue."))
        return _edit_page(request, service, form, formset)
    messages.info(
        request, _("Nothing to change: the newer configuration already holds your edits.")
    )
    form, formset = _edit_forms_newest(service)
    return _edit_page(request, service, form, formset, meanwhile=proposal.meanwhile)


def _edit_forms_opened(
    request: HttpRequest, service: Service
) -> tuple[ServiceEditForm, BaseHostAliasFormSet]:
    """The form on the newest configuration, or on a draft's edits moved onto it."""
    config, draft = service.config, _draft_asked(request, service)
    if draft is not None:
        config = _draft_on_current_config(service, draft)
        if draft.password_changed:
            messages.info(request, _("Your draft set a new password; type it again to keep it."))
    form = ServiceEditForm(
        initial={
            **ServiceEditForm.initial_from(config, revision=service.config_revision),
            "host_alias_keep_off": kept_off(service.config, config),
        },
        service=service,
    )
    formset = host_alias_formset(aliases=config.get("host_aliases") or [], held=service.config)
    return form, formset


def _edit_forms_newest(service: Service) -> tuple[ServiceEditForm, BaseHostAliasFormSet]:
    """The form filled from the newest configuration, as if opened now."""
    form = ServiceEditForm(
        initial=ServiceEditForm.initial_from(service.config, revision=service.config_revision),
        service=service,
    )
    formset = host_alias_formset(
        aliases=service.config.get("host_aliases") or [], held=service.config
    )
    return form, formset


def _edit_page(
    request: HttpRequest,
    service: Service,
    form: ServiceEditForm,
    formset: BaseHostAliasFormSet,
    *,
    meanwhile: dict | None = None,
) -> HttpResponse:
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


# --- The host alias page (support) --------------------------------------------------------


@require_http_methods(["GET", "POST"])
def service_host_aliases(request: HttpRequest, pk: int) -> HttpResponse:
    """Support's page: paste or edit the host alias list, with a ticket and a reason."""
    service = service_for_user(request, pk, "edit_host_aliases")
    if service.is_gone:
        messages.error(request, GONE)
        return redirect(service)
    if request.method == "POST":
        return _host_aliases_post(request, service)
    return _host_aliases_page(request, service, _host_aliases_form_opened(request, service))


def _host_aliases_post(request: HttpRequest, service: Service) -> HttpResponse:
    """The posted list: to its review, or the page again with what stopped it."""
    opened_revision, opened_config = _opened_on(service, request.POST.get("base_revision"))
    form = HostAliasesForm(request.POST, held=opened_config or service.config)
    if not form.is_valid():
        return _host_aliases_page(request, service, form)
    if opened_config is None:
        form.add_error(None, BASE_MISSING % {"revision": opened_revision})
        return _host_aliases_page(request, service, form)
    # The pasted list against the one opened: added, removed, changed host names.
    proposal = draft_propose(
        request.session,
        service=service,
        kind=ChangeRequest.Kind.HOST_ALIASES,
        opened_revision=form.cleaned_data["base_revision"],
        opened_config=opened_config,
        desired=form.desired_config(opened_config),
        ticket=form.cleaned_data["ticket"],
        reason=form.cleaned_data["reason"],
    )
    if proposal.draft is not None:
        return _to_review(proposal.draft)
    if proposal.meanwhile is None:
        form.add_error(None, _("Nothing changed: the host aliases are already so."))
    else:
        form.add_error(
            None,
            _(
                "Nothing to change: the newer configuration already holds this "
                "list. Reload the page to see it."
            ),
        )
    return _host_aliases_page(request, service, form, meanwhile=proposal.meanwhile)


def _host_aliases_form_opened(request: HttpRequest, service: Service) -> HostAliasesForm:
    """The list on the newest configuration, or a draft's list (ticket, reason) moved onto it."""
    config, initial = service.config, {}
    draft = _draft_asked(request, service)
    if draft is not None:
        config = _draft_on_current_config(service, draft)
        initial = {"ticket": draft.ticket, "reason": draft.reason}
    return HostAliasesForm(
        initial={
            "base_revision": service.config_revision,
            "host_alias_enabled": config.get("host_alias_enabled", False),
            "host_alias_keep_off": kept_off(service.config, config),
            "hosts": hosts_text(config.get("host_aliases") or []),
            **initial,
        },
        held=service.config,
    )


def _host_aliases_page(
    request: HttpRequest, service: Service, form: HostAliasesForm, *, meanwhile: dict | None = None
) -> HttpResponse:
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
