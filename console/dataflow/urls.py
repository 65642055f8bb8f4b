from django.urls import path

from console.dataflow.views import changes as views_changes
from console.dataflow.views import connections as views_connections
from console.dataflow.views import edits as views_edits
from console.dataflow.views import fleet as views_fleet
from console.dataflow.views import history as views_history
from console.dataflow.views import me as views_me
from console.dataflow.views import review as views_review
from console.dataflow.views import services as views_services

app_name = "dataflow"

urlpatterns = [
    path("", views_services.service_list, name="service-list"),
    path("services/refresh/", views_services.sync_request, name="sync-request"),
    path("services/<int:pk>/", views_services.service_detail, name="service-detail"),
    path("services/<int:pk>/watch/", views_me.service_watch, name="service-watch"),
    path("services/<int:pk>/edit/", views_edits.service_edit, name="service-edit"),
    path(
        "services/<int:pk>/host-aliases/",
        views_edits.service_host_aliases,
        name="service-host-aliases",
    ),
    path(
        "services/<int:pk>/review/<str:draft_id>/", views_review.change_review, name="change-review"
    ),
    path("changes/<int:pk>/", views_changes.change_detail, name="change-detail"),
    path("changes/<int:pk>/cancel/", views_changes.change_cancel_view, name="change-cancel"),
    path("changes/<int:pk>/send-now/", views_changes.change_send_now_view, name="change-send-now"),
    path("changes/<int:pk>/retry/", views_changes.change_retry_view, name="change-retry"),
    path("changes/<int:pk>/abandon/", views_changes.change_abandon_view, name="change-abandon"),
    path("history/", views_history.history, name="history"),
    path(
        "services/<int:pk>/revisions/",
        views_history.service_revisions,
        name="service-revisions",
    ),
    path("services/<int:pk>/compare/", views_history.service_compare, name="service-compare"),
    path("services/<int:pk>/revert/", views_history.service_revert, name="service-revert"),
    path("preferences/", views_history.preferences, name="preferences"),
    path("fleet/", views_fleet.fleet_list, name="fleet-list"),
    path("fleet/new/", views_fleet.fleet_new, name="fleet-new"),
    path("fleet/<int:pk>/", views_fleet.fleet_detail, name="fleet-detail"),
    path("fleet/<int:pk>/resume/", views_fleet.fleet_resume_view, name="fleet-resume"),
    path("fleet/<int:pk>/cancel/", views_fleet.fleet_cancel_view, name="fleet-cancel"),
    path("fleet/<int:pk>/decide/", views_fleet.fleet_decide_view, name="fleet-decide"),
    path("approvals/", views_fleet.approvals, name="approvals"),
    path("changes/<int:pk>/decide/", views_fleet.change_decide, name="change-decide"),
    path("changes/<int:pk>/withdraw/", views_fleet.change_withdraw_view, name="change-withdraw"),
    path("me/", views_me.me, name="me"),
    path("me/tokens/", views_me.api_token_create, name="api-token-create"),
    path("me/tokens/<int:pk>/revoke/", views_me.api_token_revoke, name="api-token-revoke"),
    path("language/", views_me.language_switch, name="language"),
    path("connections/", views_connections.connections, name="connections"),
    path(
        "connections/check/",
        views_connections.connections_check_now,
        name="connections-check",
    ),
]
