"""The API's endpoints: thin, as the pages are; each checks the person's role like its page."""

from __future__ import annotations

from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from console.dataflow.api import serializers as s
from console.dataflow.api.configfile import config_export
from console.dataflow.api.plans import (
    PlanUsed,
    desired_check,
    plan_confirm,
    plan_create,
    plan_from_change,
    plan_kind,
    plan_needs_approval,
)
from console.dataflow.changes.abandon import change_abandon, change_look
from console.dataflow.changes.approvals import ApprovalRefused, approver_check
from console.dataflow.changes.approve import change_approve, change_reject
from console.dataflow.changes.lifecycle import change_actions
from console.dataflow.changes.replan import ApprovalUnchecked
from console.dataflow.changes.submit import ChangeInFlight, ChangeRefused, StaleEdit, change_cancel
from console.dataflow.forms.history import HistoryFilterForm
from console.dataflow.history.queries import history_rows
from console.dataflow.models import ApiPlan, ApiToken, ChangeRequest, Service
from console.dataflow.people.access import change_for, service_for


def _token(request: Request) -> ApiToken | None:
    return request.auth if isinstance(request.auth, ApiToken) else None


def _plan_answer(request: Request, plan: ApiPlan, *, code=status.HTTP_201_CREATED) -> Response:
    context = {"request": request, "needs_approval": plan_needs_approval(plan)}
    return Response(s.PlanOut(plan, context=context).data, status=code)


def _change_answer(request: Request, change: ChangeRequest, code=status.HTTP_200_OK) -> Response:
    change = (
        ChangeRequest.objects.select_related("service", "api_origin")
        .prefetch_related("events", "tries")
        .get(pk=change.pk)
    )
    return Response(s.ChangeOut(change, context={"request": request}).data, status=code)


def _conflict(detail: str, **facts) -> Response:
    return Response({"detail": detail, **facts}, status=status.HTTP_409_CONFLICT)


CONFLICT = OpenApiResponse(s.ProblemOut, description="refused as things stand")


# --- Services -----------------------------------------------------------------------------


class ServiceList(GenericAPIView):
    serializer_class = s.ServiceSummaryOut

    @extend_schema(
        parameters=[OpenApiParameter("q", str, description="name or SCP id contains")],
        responses=s.ServiceSummaryOut(many=True),
    )
    def get(self, request: Request) -> Response:
        """Services, by name; `?q=` narrows them to names or SCP ids containing it."""
        if not request.user.has_perm("dataflow.view_service"):
            raise PermissionDenied(_("Your role may not see services."))
        services = Service.objects.order_by("name", "pk")
        if q := request.query_params.get("q", "").strip():
            services = services.filter(Q(name__icontains=q) | Q(scp_id__icontains=q))
        page = self.paginate_queryset(services)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class ServiceDetail(GenericAPIView):
    serializer_class = s.ServiceOut

    def get(self, request: Request, pk: int) -> Response:
        """One service: its configuration (never a password) and its links."""
        service = service_for(request.user, pk, "view_service")
        return Response(self.get_serializer(service).data)


class ServiceConfigFile(GenericAPIView):
    @extend_schema(responses={(200, "application/yaml"): s.ConfigFileOut})
    def get(self, request: Request, pk: int) -> HttpResponse:
        """The service's configuration as YAML, fields in a fixed order, never a password."""
        service = service_for(request.user, pk, "view_service")
        return HttpResponse(config_export(service), content_type="application/yaml")


# --- Plans --------------------------------------------------------------------------------


class PlanCreate(GenericAPIView):
    serializer_class = s.PlanInput

    @extend_schema(request=s.PlanInput, responses={201: s.PlanOut})
    def post(self, request: Request) -> Response:
        """Plan an edit: the diff, SCP's pre-check and held-value warnings; nothing is sent."""
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        desired = body.validated_data["desired"]
        kind = plan_kind(request.user, desired)
        service = service_for(
            request.user,
            body.validated_data["service"],
            "edit_service" if kind == ChangeRequest.Kind.FULL else "edit_host_aliases",
        )
        checked = desired_check(service, desired)
        plan = plan_create(
            user=request.user,
            token=_token(request),
            service=service,
            kind=kind,
            desired=checked.config,
            reason=body.validated_data["reason"],
            ticket=body.validated_data["ticket"],
            warnings=checked.warnings,
        )
        return _plan_answer(request, plan)


def _own_plan(request: Request, pk) -> ApiPlan:
    """A plan the person made themselves (anyone else's is not found)."""
    return get_object_or_404(ApiPlan.objects.select_related("service"), pk=pk, user=request.user)


class PlanDetail(GenericAPIView):
    serializer_class = s.PlanOut

    def get(self, request: Request, pk) -> Response:
        """A plan the person made, and the change it became once confirmed."""
        return _plan_answer(request, _own_plan(request, pk), code=status.HTTP_200_OK)


class PlanConfirm(GenericAPIView):
    serializer_class = s.ChangeOut

    @extend_schema(request=None, responses={201: s.ChangeOut, 409: CONFLICT, 400: CONFLICT})
    def post(self, request: Request, pk) -> Response:
        """Confirm a plan: the change the review page's confirm would make, sent exactly once.

        409 when SCP's configuration moved since the plan (plan again), another change of the
        service is in flight, or the plan was confirmed already.
        """
        plan = _own_plan(request, pk)
        perm = "edit_service" if plan.kind == ChangeRequest.Kind.FULL else "edit_host_aliases"
        service_for(request.user, plan.service_id, perm)
        try:
            change = plan_confirm(plan=plan, user=request.user)
        except StaleEdit as exc:
            return _conflict(str(exc), current_revision=exc.service.config_revision)
        except ChangeInFlight as exc:
            return _conflict(str(exc), change=exc.change.pk if exc.change else None)
        except PlanUsed as exc:
            return _conflict(str(exc), change=exc.change_id)
        except ChangeRefused as exc:
            raise ValidationError({"non_field_errors": [str(exc)]}) from None
        return _change_answer(request, change, code=status.HTTP_201_CREATED)


# --- Changes ------------------------------------------------------------------------------


class ChangeDetail(GenericAPIView):
    serializer_class = s.ChangeOut

    def get(self, request: Request, pk: int) -> Response:
        """A change: status, timeline in the request's language, attempts, links."""
        return _change_answer(request, change_for(request.user, pk))


class ChangeCancel(GenericAPIView):
    serializer_class = s.ChangeOut

    @extend_schema(request=None, responses={200: s.ChangeOut, 409: CONFLICT})
    def post(self, request: Request, pk: int) -> Response:
        """Withdraw a queued change (admins, or its author); 409 once a worker has it."""
        change = change_for(request.user, pk)
        if not request.user.has_perm("dataflow.edit_service") and (
            change.author_id != request.user.pk
        ):
            raise PermissionDenied(_("Only admins and the change's author may cancel it."))
        if not change_cancel(change=change, by=request.user):
            return _conflict(
                _("Change #%(number)s is already on its way and cannot be cancelled.")
                % {"number": change.pk}
            )
        return _change_answer(request, change)


class ChangeRetry(GenericAPIView):
    serializer_class = s.PlanOut

    @extend_schema(request=None, responses={201: s.PlanOut, 409: CONFLICT})
    def post(self, request: Request, pk: int) -> Response:
        """A new plan of what a failed change asked for, on today's configuration."""
        change = change_for(request.user, pk)
        perm = "edit_service" if change.kind == ChangeRequest.Kind.FULL else "edit_host_aliases"
        service_for(request.user, change.service_id, perm)
        if not change_actions(change, request.user).retry:
            return _conflict(
                _("Change #%(number)s did not fail; there is nothing to retry.")
                % {"number": change.pk}
            )
        plan = plan_from_change(user=request.user, token=_token(request), change=change)
        if plan is None:
            return _conflict(_("SCP already reports the configuration this change asked for."))
        return _plan_answer(request, plan)


class ChangeAbandon(GenericAPIView):
    serializer_class = s.ChangeOut

    @extend_schema(request=None, responses={200: s.ChangeOut, 409: CONFLICT})
    def post(self, request: Request, pk: int) -> Response:
        """Give up a stuck change (admins) after reading SCP; 409 when it is not stuck."""
        change = change_for(request.user, pk)
        if not request.user.has_perm("dataflow.edit_service"):
            raise PermissionDenied(_("Only admins may abandon a change."))
        if not change_actions(change, request.user).abandon:
            return _conflict(
                _("Change #%(number)s is not stuck; there is nothing to abandon.")
                % {"number": change.pk}
            )
        look = change_look(change=change)
        if not look.ok:
            return _conflict(look.error)
        if not change_abandon(change=change, by=request.user, look=look):
            return _conflict(
                _("Change #%(number)s moved on meanwhile; nothing done.") % {"number": change.pk}
            )
        return _change_answer(request, change)


def _waiting_for(request: Request, pk: int) -> ChangeRequest:
    """A change the person may decide on (an approver, not its author), or 403/404."""
    change = change_for(request.user, pk)
    try:
        approver_check(user=request.user, author_id=change.author_id)
    except ApprovalRefused as exc:
        raise PermissionDenied(str(exc)) from None
    return change


def _no_longer_waits(change: ChangeRequest) -> Response:
    return _conflict(_("Change #%(number)s no longer awaits approval.") % {"number": change.pk})


class ChangeApprove(GenericAPIView):
    serializer_class = s.ApproveInput

    @extend_schema(
        request=s.ApproveInput, responses={200: s.ChangeOut, 409: CONFLICT, 503: CONFLICT}
    )
    def post(self, request: Request, pk: int) -> Response:
        """Approve a waiting change (approvers, never its author), re-planned on what SCP holds
        now; 409 when SCP holds other values for its fields (say `override`) or it was decided."""
        change = _waiting_for(request, pk)
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            approved = change_approve(
                change=change,
                by=request.user,
                comment=body.validated_data["comment"],
                override=body.validated_data["override"],
                seen_revision=body.validated_data["revision"],
            )
        except ApprovalUnchecked as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        except ApprovalRefused as exc:  # SCP holds other values, or moved since `revision`
            current = Service.objects.values_list("config_revision", flat=True)
            return _conflict(str(exc), current_revision=current.get(pk=change.service_id))
        return _change_answer(request, change) if approved else _no_longer_waits(change)


class ChangeReject(GenericAPIView):
    serializer_class = s.RejectInput

    @extend_schema(request=s.RejectInput, responses={200: s.ChangeOut, 409: CONFLICT})
    def post(self, request: Request, pk: int) -> Response:
        """Reject a waiting change with a comment (approvers, never its author); never sent."""
        change = _waiting_for(request, pk)
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        if not change_reject(
            change=change, by=request.user, comment=body.validated_data["comment"]
        ):
            return _no_longer_waits(change)
        return _change_answer(request, change)


# --- History ------------------------------------------------------------------------------


class History(GenericAPIView):
    serializer_class = s.ChangeSummaryOut

    @extend_schema(parameters=[s.HistoryFilterInput], responses=s.ChangeSummaryOut(many=True))
    def get(self, request: Request) -> Response:
        """Every change across services, newest first, with the history page's filters."""
        if not request.user.has_perm("dataflow.review_history"):
            raise PermissionDenied(_("Your role may not read the change history."))
        form = HistoryFilterForm(request.query_params)
        if not form.is_valid():
            raise ValidationError(form.errors)
        page = self.paginate_queryset(history_rows(form.cleaned_data))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)
