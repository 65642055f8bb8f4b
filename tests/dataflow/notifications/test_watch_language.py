"""The watch toggle, the My watches page, and the language switch that follows a person."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from console.dataflow.models import ChangeRequest, Preference, Service, Watch
from tests.notify_servers import catalogue_compile

pytestmark = pytest.mark.django_db


@pytest.fixture
def service(db) -> Service:
    return Service.objects.create(name="sales-etl", scp_id="svc-0001", state="RUNNING")


@pytest.fixture(autouse=True)
def _korean_compiled():
    catalogue_compile()


def _lang(response) -> str:
    return re.search(r'<html lang="([^"]*)"', response.content.decode()).group(1)


@pytest.mark.parametrize("role", ["admin_user", "lead_user", "support_user"])
def test_every_role_can_watch_and_stop_watching_a_service(client, request, service, role):
    user = request.getfixturevalue(role)
    client.force_login(user)
    url = reverse("dataflow:service-watch", args=[service.pk])

    response = client.post(url, {"watching": "on"})
    assert response.status_code == 302 and response["Location"] == service.get_absolute_url()
    assert Watch.objects.filter(user=user, service=service).count() == 1
    client.post(url, {"watching": "on"})  # twice is still one watch
    assert Watch.objects.filter(user=user, service=service).count() == 1
    page = client.get(service.get_absolute_url()).content.decode()
    assert 'data-testid="watch-toggle" aria-pressed="true"' in page

    client.post(url, {"watching": ""})
    assert not Watch.objects.filter(user=user, service=service).exists()
    page = client.get(service.get_absolute_url()).content.decode()
    assert 'data-testid="watch-toggle" aria-pressed="false"' in page


def test_htmx_gets_the_toggle_alone(client, admin_user, service):
    client.force_login(admin_user)
    response = client.post(
        reverse("dataflow:service-watch", args=[service.pk]),
        {"watching": "on"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith("<form")
    assert 'aria-pressed="true"' in response.content.decode()


def test_a_person_without_a_role_may_not_watch_and_nothing_is_written(client, outsider, service):
    client.force_login(outsider)
    response = client.post(reverse("dataflow:service-watch", args=[service.pk]), {"watching": "on"})
    assert response.status_code == 403
    assert not Watch.objects.exists()


def test_watching_takes_a_post_with_a_csrf_token(admin_user, service):
    url = reverse("dataflow:service-watch", args=[service.pk])
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    assert client.get(url).status_code == 405
    assert client.post(url, {"watching": "on"}).status_code == 403
    assert not Watch.objects.exists()
    page = client.get(service.get_absolute_url())
    token = page.cookies["csrftoken"].value
    assert client.post(url, {"watching": "on", "csrfmiddlewaretoken": token}).status_code == 302
    assert Watch.objects.filter(user=admin_user).count() == 1


def test_watching_a_missing_service_is_404_and_signed_out_goes_to_sign_in(client, admin_user):
    assert client.post(reverse("dataflow:service-watch", args=[999])).status_code == 302
    client.force_login(admin_user)
    assert client.post(reverse("dataflow:service-watch", args=[999])).status_code == 404


def test_my_watches_lists_each_service_with_its_state_and_last_change(
    client, lead_user, admin_user, service
):
    other = Service.objects.create(name="unwatched-etl", scp_id="svc-0002", state="RUNNING")
    Watch.objects.create(user=lead_user, service=service)
    change = ChangeRequest.objects.create(
        service=service,
        author=admin_user,
        author_name="alice",
        reason="r",
        base_revision=1,
        base_config={},
        desired_config={},
        status=ChangeRequest.Status.FAILED,
    )
    client.force_login(lead_user)

    page = client.get(reverse("dataflow:me")).content.decode()

    assert "sales-etl" in page and other.name not in page
    assert "RUNNING" in page
    assert reverse("dataflow:change-detail", args=[change.pk]) in page and "Failed" in page
    assert 'data-testid="language-preference"' in page


def test_my_watches_is_empty_at_first_and_says_how_to_start(client, support_user):
    client.force_login(support_user)
    page = client.get(reverse("dataflow:me")).content.decode()
    assert 'data-testid="no-watches"' in page


def test_the_browser_language_is_the_default(client, admin_user, service):
    client.force_login(admin_user)
    assert _lang(client.get("/")) == "en"
    korean = client.get("/", HTTP_ACCEPT_LANGUAGE="ko-KR,ko;q=0.9,en;q=0.5")
    assert _lang(korean) == "ko"
    assert "내 구독" in korean.content.decode()


def test_the_switch_sets_the_language_and_it_follows_the_person_to_a_new_sign_in(
    client, admin_user, service
):
    client.force_login(admin_user)
    response = client.post(reverse("dataflow:language"), {"language": "ko", "next": "/"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert _lang(client.get("/")) == "ko"
    assert Preference.objects.get(user=admin_user).language == "ko"

    # Another browser, English by its headers: the saved choice wins once signed in.
    elsewhere = Client(HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert _lang(elsewhere.get(reverse("login"))) == "en"
    elsewhere.force_login(admin_user)
    page = elsewhere.get(service.get_absolute_url())
    assert _lang(page) == "ko"
    assert "구독" in page.content.decode()
    assert page.cookies["django_language"].value == "ko"  # kept after signing out
    elsewhere.post(reverse("logout"))
    assert _lang(elsewhere.get(reverse("login"))) == "ko"


def test_the_login_page_has_the_switch_and_remembers_it_in_a_cookie(client):
    page = client.get(reverse("login")).content.decode()
    assert 'data-testid="language-switch"' in page
    response = client.post(
        reverse("dataflow:language"), {"language": "ko", "next": "/accounts/login/"}
    )
    assert response.status_code == 302
    assert _lang(client.get(reverse("login"))) == "ko"


def test_following_the_browser_again_clears_the_choice(client, admin_user):
    client.force_login(admin_user)
    client.post(reverse("dataflow:language"), {"language": "ko"})
    response = client.post(reverse("dataflow:language"), {"language": "", "next": "/me/"})
    assert response.status_code == 302
    assert Preference.objects.get(user=admin_user).language == ""
    assert _lang(client.get("/", HTTP_ACCEPT_LANGUAGE="en")) == "en"


def test_an_unknown_language_is_refused_and_nothing_changes(client, admin_user):
    client.force_login(admin_user)
    response = client.post(reverse("dataflow:language"), {"language": "xx"})
    assert response.status_code == 400
    assert not Preference.objects.exists()
    assert client.get(reverse("dataflow:language")).status_code == 405
