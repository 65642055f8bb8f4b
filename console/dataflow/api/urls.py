"""The API's addresses, under /api/; the schema and its docs page beside them."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required, login_required
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from console.dataflow.api import views

app_name = "api"


def _api(view):
    """An endpoint that checks its own callers (a token or a session): 401, no sign-in redirect."""
    return login_not_required(view.as_view())


urlpatterns = [
    path("services/", _api(views.ServiceList), name="service-list"),
    path("services/<int:pk>/", _api(views.ServiceDetail), name="service-detail"),
    path("services/<int:pk>/config", _api(views.ServiceConfigFile), name="service-config"),
    path("plans/", _api(views.PlanCreate), name="plan-create"),
    path("plans/<uuid:pk>/", _api(views.PlanDetail), name="plan-detail"),
    path("plans/<uuid:pk>/confirm", _api(views.PlanConfirm), name="plan-confirm"),
    path("changes/<int:pk>/", _api(views.ChangeDetail), name="change-detail"),
    path("changes/<int:pk>/cancel", _api(views.ChangeCancel), name="change-cancel"),
    path("changes/<int:pk>/retry", _api(views.ChangeRetry), name="change-retry"),
    path("changes/<int:pk>/abandon", _api(views.ChangeAbandon), name="change-abandon"),
    path("changes/<int:pk>/approve", _api(views.ChangeApprove), name="change-approve"),
    path("changes/<int:pk>/reject", _api(views.ChangeReject), name="change-reject"),
    path("history/", _api(views.History), name="history"),
    path("schema/", _api(SpectacularAPIView), name="schema"),
    # The docs page is for people signed in to the console: others go to the sign-in page
    # (REST framework's views opt out of the site-wide sign-in redirect; this one opts back in).
    path(
        "docs/",
        login_required(
            SpectacularSwaggerSplitView.as_view(
                url_name="api:schema", template_name="api/swagger_ui.html"
            )
        ),
        name="docs",
    ),
]
