"""Django admin: SCP connections (secret key write-only, webhook masked), maintenance windows
and freezes (superusers), and read-only views."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy

from console.accounts import AdminSignInForm
from console.dataflow.connections.endpoints import validate_scp_url, validate_webhook_url
from console.dataflow.models import (
    DEFAULT_CONNECTION,
    ApiToken,
    ChangeRequest,
    MaintenanceFreeze,
    MaintenanceWindow,
    ScpConnection,
    Service,
)

admin.site.login_form = AdminSignInForm


class ScpConnectionForm(forms.ModelForm):
    """The secret key can be set or replaced, never read back."""

    base_url = forms.URLField(
        assume_scheme="https",
        max_length=300,
        validators=[validate_scp_url],
        help_text=gettext_lazy(
            "https:// only (plain http:// only to 127.0.0.1/localhost, for the simulator); "
            "e.g. https://data-flow.kr-west1.e.samsungsdscloud.com"
        ),
    )
    webhook_url = forms.URLField(
        assume_scheme="https",
        required=False,
        max_length=500,
        validators=[validate_webhook_url],
        widget=forms.URLInput(attrs={"autocomplete": "off"}),
        help_text=gettext_lazy(
            "Optional: receives a Slack-compatible JSON message when a change ends. "
            "https:// only (plain http:// only to this machine)."
        ),
    )
    webhook_remove = forms.BooleanField(required=False, label=gettext_lazy("Remove the webhook"))
    secret_key = forms.CharField(
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=gettext_lazy("Stored encrypted. Leave blank to keep the current secret key."),
    )

    class Meta:
        model = ScpConnection
        fields = [
            "name",
            "base_url",
            "access_key",
            "secret_key",
            "api_version",
            "language",
            "enabled",
            "needs_approval",
            "webhook_url",
            "webhook_remove",
        ]

    def __init__(self, *args, **kwargs) -> None:
        """The form; a stored webhook shows only masked, as placeholder and help text."""
        super().__init__(*args, **kwargs)
        masked = self.instance.webhook_url_masked()
        if masked:
            # The URL is its own secret: shown masked, replaced by typing a new one.
            self.fields["webhook_url"].widget.attrs["placeholder"] = masked
            self.fields["webhook_url"].help_text = gettext_lazy(
                "Stored encrypted: %(masked)s. Leave blank to keep it, type a new URL to "
                "replace it."
            ) % {"masked": masked}

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        if name == DEFAULT_CONNECTION:
            raise forms.ValidationError(
                "'default' is defined by the SCP_* environment variables; choose another name."
            )
        return name

    def clean(self):
        data = super().clean()
        if not self.instance.secret_key_encrypted and not data.get("secret_key"):
            self.add_error("secret_key", "A new connection needs its secret key.")
        return data

    def save(self, commit: bool = True) -> ScpConnection:
        connection = super().save(commit=False)
        if self.cleaned_data.get("secret_key"):
            connection.set_secret_key(self.cleaned_data["secret_key"])
        if self.cleaned_data.get("webhook_url"):
            connection.set_webhook_url(self.cleaned_data["webhook_url"])
        elif self.cleaned_data.get("webhook_remove"):
            connection.set_webhook_url("")
        if commit:
            connection.save()
        return connection


@admin.register(ScpConnection)
class ScpConnectionAdmin(admin.ModelAdmin):
    form = ScpConnectionForm
    list_display = ["name", "base_url", "access_key", "api_version", "enabled", "needs_approval"]

    def has_module_permission(self, request) -> bool:
        return request.user.is_superuser

    def get_fields(self, request, obj: ScpConnection | None = None) -> list[str]:
        """The form's fields; "Remove the webhook" only where one is stored."""
        fields = list(super().get_fields(request, obj))
        if obj is None or not obj.webhook_url_encrypted:
            fields.remove("webhook_remove")
        return fields

    has_view_permission = has_add_permission = has_change_permission = has_delete_permission = (
        lambda self, request, obj=None: request.user.is_superuser
    )


class SuperusersOnlyAdmin(admin.ModelAdmin):
    """Rows only superusers see and edit: when changes may reach SCP."""

    autocomplete_fields = ["service"]

    def has_module_permission(self, request) -> bool:
        return request.user.is_superuser

    has_view_permission = has_add_permission = has_change_permission = has_delete_permission = (
        lambda self, request, obj=None: request.user.is_superuser
    )


@admin.register(MaintenanceWindow)
class MaintenanceWindowAdmin(SuperusersOnlyAdmin):
    list_display = ["connection_name", "service", "weekday", "starts_at", "ends_at", "time_zone"]
    list_filter = ["connection_name", "weekday"]


@admin.register(MaintenanceFreeze)
class MaintenanceFreezeAdmin(SuperusersOnlyAdmin):
    list_display = ["connection_name", "service", "first_day", "last_day", "time_zone", "reason"]
    list_filter = ["connection_name"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows that only the pipeline writes."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Service)
class ServiceAdmin(ReadOnlyAdmin):
    list_display = ["name", "connection_name", "scp_id", "state", "synced_at"]
    search_fields = ["name", "scp_id"]


@admin.register(ChangeRequest)
class ChangeRequestAdmin(ReadOnlyAdmin):
    list_display = ["pk", "service", "author_name", "status", "created_at"]
    list_filter = ["status"]
    exclude = ["account_password_encrypted"]


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    """People's API tokens: who, which, last used; revoked here too (the hash is never shown)."""

    list_display = [
        "name",
        "user",
        "prefix",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["revoked_at"]
    search_fields = ["name", "prefix", "user__username"]
    exclude = ["key_hash"]
    actions = ["revoke"]

    @admin.action(description=gettext_lazy("Revoke the selected tokens"))
    def revoke(self, request, queryset) -> None:
        queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
