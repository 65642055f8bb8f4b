"""The OpenAPI schema generates without a warning; the docs page keeps the strict CSP."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from tests.api.conftest import client_for


def test_the_schema_validates_without_warnings(tmp_path, db):
    # --fail-on-warn turns every warning of drf-spectacular into a failure of the command.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yml"))
    text = (tmp_path / "s.yml").read_text()
    for address in ("/api/plans/{id}/confirm", "/api/changes/{id}/", "/api/history/"):
        assert address in text


def test_the_schema_is_served_to_a_token_not_to_anyone(admin_user):
    assert APIClient().get("/api/schema/").status_code == 401
    assert client_for(admin_user).get("/api/schema/").status_code == 200


@pytest.fixture
def signed_in(lead_user) -> Client:
    client = Client()
    client.force_login(lead_user)
    return client


def test_the_docs_page_loads_only_local_files_under_the_strict_policy(signed_in):
    response = signed_in.get("/api/docs/")

    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe" not in policy and "http" not in policy
    page = response.content.decode()
    assert "<style" not in page and " style=" not in page
    scripts = re.findall(r"<script([^>]*)>", page)
    assert scripts and all('src="/' in attributes for attributes in scripts)
    for link in re.findall(r'(?:src|href)="([^"]+)"', page):
        assert link.startswith("/"), link
        if link.startswith("/static/"):
            assert signed_in.get(link).status_code == 200, link
    script = signed_in.get("/api/docs/?script=")
    assert script.status_code == 200
    assert "javascript" in script["Content-Type"]


def test_the_docs_page_asks_signed_out_people_to_sign_in(client, db):
    response = client.get("/api/docs/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_session_works_for_reading_and_needs_csrf_for_writing(lead_user, imported):
    client = Client(enforce_csrf_checks=True)
    client.force_login(lead_user)
    assert client.get("/api/services/").status_code == 200
    service = imported["sales-etl"]
    response = client.post(
        "/api/plans/",
        {"service": service.pk, "desired": {"description": "x"}, "reason": "r"},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
