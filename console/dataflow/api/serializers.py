"""The API's JSON shapes: what it accepts (checked, with field errors) and what it answers."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from console.dataflow.models import ApiPlan, ChangeRequest, Service


class StrictSerializer(serializers.Serializer):
    """A serializer that refuses fields it does not know instead of ignoring them."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: [_("This field is not one that can be changed.")] for name in unknown}
                )
        return super().to_internal_value(data)


# --- What the API accepts -----------------------------------------------------------------


class WorkloadInput(StrictSerializer):
    cpu = serializers.IntegerField(required=False, help_text="millicores")
    memory = serializers.IntegerField(required=False, help_text="MiB")
    replica = serializers.IntegerField(required=False)
    version = serializers.CharField(required=False, allow_blank=True)


class WorkloadsInput(StrictSerializer):
    nifi = WorkloadInput(required=False)
    nifi_registry = WorkloadInput(required=False)
    zookeeper = WorkloadInput(required=False)


class HostAliasShape(StrictSerializer):
    hostname = serializers.CharField()
    ip = serializers.CharField()


class DesiredInput(StrictSerializer):
    """The fields to change; those left out keep SCP's current values."""

    # Blank passes here: the edit page's rules say which fields may be empty.
    account_id = serializers.CharField(required=False, allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True)
    domain = serializers.CharField(required=False, allow_blank=True)
    node_selector = serializers.CharField(required=False, allow_blank=True)
    host_alias_enabled = serializers.BooleanField(required=False)
    host_aliases = HostAliasShape(many=True, required=False, help_text="replaces the whole list")
    workloads = WorkloadsInput(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError(_("Give at least one field to change."))
        return attrs


class PlanInput(StrictSerializer):
    service = serializers.IntegerField(help_text="the service's id in the console")
    desired = DesiredInput()
    reason = serializers.CharField(max_length=1000)
    ticket = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class ApproveInput(StrictSerializer):
    comment = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")
    override = serializers.BooleanField(
        required=False, default=False, help_text="replace values SCP changed since the confirm"
    )
    revision = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        min_value=1,
        help_text="with override: the service's configuration revision you reviewed",
    )


class RejectInput(StrictSerializer):
    comment = serializers.CharField(max_length=1000, help_text="why: the author reads it")


class HistoryFilterInput(serializers.Serializer):
    """The history page's filters (documentation only: the page's own form checks them)."""

    service = serializers.IntegerField(required=False)
    service_name = serializers.CharField(required=False)
    status = serializers.ChoiceField(choices=ChangeRequest.Status.choices, required=False)
    author = serializers.CharField(required=False)
    since = serializers.DateField(required=False)
    until = serializers.DateField(required=False)
    q = serializers.CharField(required=False, help_text="reason or ticket contains")


# --- What the API answers -----------------------------------------------------------------


class ServiceSummaryOut(serializers.ModelSerializer):
    connection = serializers.CharField(source="connection_name")
    is_gone = serializers.BooleanField()

    class Meta:
        model = Service
        fields = [
            "id",
            "scp_id",
            "name",
            "connection",
            "state",
            "version",
            "cluster_name",
            "web_url_nifi",
            "web_url_registry",
            "synced_at",
            "is_gone",
        ]


class ServiceOut(ServiceSummaryOut):
    config = serializers.JSONField(help_text="what the console manages; never a password")
    web_page = serializers.SerializerMethodField()

    class Meta(ServiceSummaryOut.Meta):
        fields = [
            *ServiceSummaryOut.Meta.fields,
            "data_flow_name",
            "namespace_name",
            "config",
            "config_revision",
            "web_page",
        ]

    def get_web_page(self, service: Service) -> str:
        return self.context["request"].build_absolute_uri(service.get_absolute_url())


class ConfigFileServiceOut(serializers.Serializer):
    name = serializers.CharField()
    connection = serializers.CharField()
    scp_id = serializers.CharField()


class ConfigFileOut(serializers.Serializer):
    """A service's configuration file (YAML), as export_config writes it."""

    format = serializers.CharField()
    service = ConfigFileServiceOut()
    revision = serializers.IntegerField()
    config = serializers.JSONField(
        help_text="the ServiceConfig fields, in this order; never a password"
    )


class PrecheckOut(serializers.Serializer):
    needed = serializers.BooleanField()
    ok = serializers.BooleanField(help_text="false only on SCP's clear no")
    verdict = serializers.ChoiceField(choices=["skipped", "yes", "no", "none", "unreachable"])
    message = serializers.CharField()


class PlanOut(serializers.ModelSerializer):
    service = serializers.IntegerField(source="service_id")
    diff = serializers.JSONField(source="entries", help_text="before → after, field by field")
    precheck = PrecheckOut()
    warnings = serializers.DictField(
        child=serializers.CharField(), help_text="held values a rule would refuse, kept as held"
    )
    needs_approval = serializers.SerializerMethodField()
    change = serializers.IntegerField(source="change_id", allow_null=True)

    class Meta:
        model = ApiPlan
        fields = [
            "id",
            "service",
            "kind",
            "base_revision",
            "diff",
            "precheck",
            "warnings",
            "needs_approval",
            "reason",
            "ticket",
            "created_at",
            "change",
        ]

    def get_needs_approval(self, plan: ApiPlan) -> bool:
        return bool(self.context.get("needs_approval"))


class EventOut(serializers.Serializer):
    at = serializers.DateTimeField()
    status = serializers.CharField()
    text = serializers.CharField(help_text="in the request's language")


class AttemptOut(serializers.Serializer):
    number = serializers.IntegerField()
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    put_sent = serializers.BooleanField()
    outcome = serializers.CharField()
    http_status = serializers.IntegerField(allow_null=True)
    global_request_id = serializers.CharField()
    detail = serializers.CharField(source="detail_text")


class ChangeSummaryOut(serializers.ModelSerializer):
    service = serializers.IntegerField(source="service_id")
    service_name = serializers.CharField(source="service.name")
    status_label = serializers.CharField(source="get_status_display")
    author = serializers.CharField(source="author_name")

    class Meta:
        model = ChangeRequest
        fields = [
            "id",
            "service",
            "service_name",
            "kind",
            "status",
            "status_label",
            "author",
            "reason",
            "ticket",
            "created_at",
            "finished_at",
            "decision",
            "decided_by_name",
        ]


class ChannelOut(serializers.Serializer):
    via = serializers.ChoiceField(
        choices=["web", "token", "session", "file"],
        help_text="web pages, the API with a token or a session, or a configuration file",
    )
    token = serializers.CharField(help_text="the token's name, when it came with one")


class ChangeOut(ChangeSummaryOut):
    diff = serializers.JSONField()
    differences = serializers.JSONField()
    error = serializers.CharField(source="error_text")
    events = EventOut(many=True)
    attempts = AttemptOut(many=True, source="tries")
    channel = serializers.SerializerMethodField()
    web_page = serializers.SerializerMethodField()

    class Meta(ChangeSummaryOut.Meta):
        fields = [
            *ChangeSummaryOut.Meta.fields,
            "submitted_at",
            "accepted_at",
            "diff",
            "differences",
            "error",
            "web_url_nifi",
            "web_url_registry",
            "events",
            "attempts",
            "channel",
            "web_page",
        ]

    @extend_schema_field(ChannelOut)
    def get_channel(self, change: ChangeRequest) -> dict[str, Any]:
        origin = getattr(change, "api_origin", None)
        if origin is None:
            return {"via": "web", "token": ""}
        return {"via": origin.via, "token": origin.token_name}

    def get_web_page(self, change: ChangeRequest) -> str:
        return self.context["request"].build_absolute_uri(change.get_absolute_url())


class ProblemOut(serializers.Serializer):
    """A refusal: what stopped it, and where things stand."""

    detail = serializers.CharField()
    current_revision = serializers.IntegerField(required=False)
    change = serializers.IntegerField(required=False, allow_null=True)
