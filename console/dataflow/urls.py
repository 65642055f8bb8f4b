from django.urls import path

from console.dataflow import views, views_connections, views_me

app_name = "dataflow"

urlpatterns = [
    path("", views.service_list, name="service-list"),
    path("services/refresh/", views.sync_request, name="sync-request"),
    path("services/<int:pk>/", views.service_detail, name="service-detail"),
    path("services/<int:pk>/watch/", views_me.service_watch, name="service-watch"),
    path("services/<int:pk>/edit/", views.service_edit, name="service-edit"),
    path(
        "services/<int:pk>/host-aliases/",
        views.service_host_aliases,
        name="service-host-aliases",
    ),
    path("services/<int:pk>/review/<str:draft_id>/", views.change_review, name="change-review"),
    path("changes/<int:pk>/", views.change_detail, name="change-detail"),
    path("changes/<int:pk>/cancel/", views.change_cancel_view, name="change-cancel"),
    path("changes/<int:pk>/retry/", views.change_retry_view, name="change-retry"),
    path("changes/<int:pk>/abandon/", views.change_abandon_view, name="change-abandon"),
    path("history/", views.history, name="history"),
    path("me/", views_me.me, name="me"),
    path("language/", views_me.language_switch, name="language"),
    path("connections/", views_connections.connections, name="connections"),
    path(
        "connections/check/",
        views_connections.connections_check_now,
        name="connections-check",
    ),
]
