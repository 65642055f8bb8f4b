"""URL map: Django's login/logout, Django admin, and the console's pages."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("accounts/", include("django.contrib.auth.urls")),
    path("django-admin/", admin.site.urls),
    path("", include("console.dataflow.urls")),
]
