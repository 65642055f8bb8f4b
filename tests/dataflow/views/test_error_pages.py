"""The small pages every browser meets: the icon, and a GET on an address that takes a POST."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.conftest import PASSWORD


@pytest.mark.django_db
def test_the_favicon_is_the_consoles_icon_not_a_404():
    response = Client().get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("console/favicon.svg")
    icon = Client().get(response["Location"])
    assert icon.status_code == 200
    assert b"<svg" in b"".join(icon.streaming_content)
    page = Client().get("/accounts/login/").content.decode()
    assert 'rel="icon"' in page and "favicon.svg" in page


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "title"), [("en", "Not a page to open"), ("ko", "열 수 있는 화면이 아닙니다")]
)
def test_a_get_on_a_post_only_address_is_a_page_in_the_readers_language(
    admin_user, language, title
):
    client = Client(headers={"accept-language": language})
    client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    response = client.get("/services/refresh/")  # a button's address: POST only
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    page = response.content.decode()
    assert title in page and 'data-testid="whoami"' in page
    assert client.get("/accounts/logout/").status_code == 405  # Django's own POST-only view


@pytest.mark.django_db
def test_an_htmx_405_stays_blank(admin_user):
    client = Client()
    client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    response = client.get("/services/refresh/", headers={"HX-Request": "true"})
    assert response.status_code == 405 and response.content == b""
