"""A person makes and revokes their API tokens on their own page; the secret is shown once."""

from __future__ import annotations

import pytest
from django.test import Client

from console.dataflow.models import ApiToken
from console.dataflow.people.tokens import token_create


@pytest.fixture
def signed_in(lead_user) -> Client:
    client = Client()
    client.force_login(lead_user)
    return client


def test_a_new_token_is_shown_once_and_then_only_by_its_prefix(signed_in, lead_user):
    response = signed_in.post("/me/tokens/", {"name": "nightly export", "days": 30})

    assert response.status_code == 200
    token = ApiToken.objects.get(user=lead_user)
    secret = response.context["new_secret"]
    assert secret.startswith(token.prefix)
    assert secret in response.content.decode()
    assert response["Cache-Control"] == "private, no-store"
    page = signed_in.get("/me/").content.decode()
    assert secret not in page
    assert token.prefix in page and "nightly export" in page
    assert "Made now" in page and "never used" in page and "expires on" in page


def test_the_new_token_opens_the_api(signed_in, lead_user):
    secret = signed_in.post("/me/tokens/", {"name": "ci", "days": 1}).context["new_secret"]
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api.get("/api/history/").status_code == 200


def test_a_token_without_a_name_or_with_too_many_days_is_not_made(signed_in):
    assert signed_in.post("/me/tokens/", {"name": "", "days": 30}).status_code == 400
    assert signed_in.post("/me/tokens/", {"name": "x", "days": 999}).status_code == 400
    assert not ApiToken.objects.exists()


def test_a_person_revokes_their_own_token_not_someone_elses(signed_in, lead_user, admin_user):
    mine = token_create(user=lead_user, name="mine", days=1).token
    theirs = token_create(user=admin_user, name="theirs", days=1).token

    signed_in.post(f"/me/tokens/{mine.pk}/revoke/")
    signed_in.post(f"/me/tokens/{theirs.pk}/revoke/")

    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.revoked_at is not None
    assert theirs.revoked_at is None


def test_signed_out_people_make_no_token(client, db):
    response = client.post("/me/tokens/", {"name": "x", "days": 1})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not ApiToken.objects.exists()


def test_a_superuser_revokes_tokens_in_django_admin_without_seeing_their_hash(
    client, lead_user, django_user_model
):
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.com"))
    admin_client = client
    made = token_create(user=lead_user, name="lost laptop", days=30)

    page = admin_client.get(f"/django-admin/dataflow/apitoken/{made.token.pk}/change/")
    assert page.status_code == 200
    assert made.token.key_hash not in page.content.decode()
    admin_client.post(
        "/django-admin/dataflow/apitoken/",
        {"action": "revoke", "_selected_action": [made.token.pk]},
    )

    made.token.refresh_from_db()
    assert made.token.revoked_at is not None
