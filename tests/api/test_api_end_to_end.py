"""Through the API alone, with a real worker: a token, a plan, a confirm, and the change runs
to Succeeded with exactly one PUT at SCP and the service's links."""

from __future__ import annotations

import time

import pytest
from django.test import Client
from rest_framework.test import APIClient

IN_FLIGHT = ("awaiting_approval", "queued", "submitting", "accepted", "updating")
pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_script_with_a_token_changes_a_service_exactly_once(
    scp, imported, admin_user, worker_process
):
    page = Client()
    page.force_login(admin_user)
    secret = page.post("/me/tokens/", {"name": "deploy bot", "days": 1}).context["new_secret"]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    service = api.get("/api/services/", {"q": "sales-etl"}).json()["results"][0]
    memory = api.get(f"/api/services/{service['id']}/").json()["config"]["workloads"]["nifi"][
        "memory"
    ]

    plan = api.post(
        "/api/plans/",
        {
            "service": service["id"],
            "desired": {"workloads": {"nifi": {"memory": memory * 2}}},
            "reason": "more memory for the nightly load",
            "ticket": "OPS-21",
        },
    )
    assert plan.status_code == 201, plan.json()
    confirmed = api.post(f"/api/plans/{plan.json()['id']}/confirm")
    assert confirmed.status_code == 201, confirmed.json()

    change = confirmed.json()
    deadline = time.monotonic() + 60
    while change["status"] in IN_FLIGHT:
        assert time.monotonic() < deadline, (change["events"], worker_process.output())
        time.sleep(1.0)  # as a script polls: well inside the token's API_RATE (120 a minute)
        polled = api.get(f"/api/changes/{change['id']}/")
        assert polled.status_code == 200, polled.json()
        change = polled.json()

    assert change["status"] == "succeeded", change["events"]
    assert len(scp.applied_puts(service["scp_id"])) == 1
    assert change["web_url_nifi"] and change["web_url_registry"]
    assert change["channel"] == {"via": "token", "token": "deploy bot"}
    assert [a["put_sent"] for a in change["attempts"]] == [True]
    after = api.get(f"/api/services/{service['id']}/").json()
    assert after["config"]["workloads"]["nifi"]["memory"] == memory * 2
