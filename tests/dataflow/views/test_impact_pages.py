"""The impact preview on the pages: the review, its acknowledgement, and the approver's page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from console.dataflow.models import ChangeRequest, Service
from tests.dataflow.helpers import puts, submit_edit
from tests.dataflow.pages import drafts_in_session, edit_data, page_text, row_counts, visible_text

pytestmark = pytest.mark.django_db

RESTART_ALL = "Every NiFi node restarts at once: the flows stop for the length of the rollout."
OFFLOAD = "1 NiFi node is removed: data queued on it is lost unless it is offloaded first."
REFUSED = "Nothing was sent: tick this box to confirm you have read what the change will do."


@pytest.fixture
def as_admin(client, admin_user) -> Client:
    client.force_login(admin_user)
    return client


def post_edit(client: Client, service: Service, **changes) -> str:
    """Post a valid edit and return the review page it leads to."""
    response = client.post(
        reverse("dataflow:service-edit", args=[service.pk]), edit_data(service, **changes)
    )
    assert response.status_code == 302, page_text(response)
    return response.url


def impact_codes(response) -> list[str]:
    return re.findall(r'data-testid="impact-item" data-code="([^"]+)"', response.content.decode())


def test_the_review_of_a_version_change_says_every_node_restarts_and_why(as_admin, imported):
    review = as_admin.get(post_edit(as_admin, imported["ml-features"], nifi_version="1.27.1"))

    text = visible_text(review)
    assert "What this change will do" in text
    assert impact_codes(review) == ["version_restart_all"]
    assert RESTART_ALL in text
    assert "NiFi 1.25.0 → 1.27.1. NiFi 1.x cannot run nodes of different versions" in text
    assert "NiFi docs" in text
    assert 'data-testid="acknowledge"' not in review.content.decode()  # nothing to tick
    # The card stands above the confirm button.
    html = review.content.decode()
    assert html.index('data-testid="impact"') < html.index('data-testid="confirm"')


def test_a_change_that_touches_no_running_part_shows_no_card(as_admin, imported):
    review = as_admin.get(post_edit(as_admin, imported["sales-etl"], description="words"))

    assert 'data-testid="impact"' not in review.content.decode()


def test_fewer_nifi_replicas_need_the_box_ticked_and_nothing_is_submitted_without_it(
    as_admin, imported, scp
):
    sales = imported["sales-etl"]  # 2 NiFi nodes
    review = post_edit(as_admin, sales, nifi_replica=1)
    page = as_admin.get(review)
    assert impact_codes(page) == ["nifi_offload"]
    assert OFFLOAD in visible_text(page)
    assert "I have offloaded the NiFi node being removed" in visible_text(page)
    before = row_counts()

    response = as_admin.post(review, {"reason": "fewer nodes"})

    assert response.status_code == 200
    assert REFUSED in page_text(response)
    assert row_counts() == before
    assert puts(scp, sales) == []
    assert len(drafts_in_session(as_admin)) == 1  # the review is still there to tick and confirm

    response = as_admin.post(review, {"reason": "fewer nodes", "acknowledge_nifi_offload": "on"})

    [change] = ChangeRequest.objects.all()
    assert response.status_code == 302 and response.url == change.get_absolute_url()
    assert [e["field"] for e in change.diff] == ["workloads.nifi.replica"]


def test_support_reads_the_restart_line_on_a_host_alias_review(client, imported, support_user):
    service = imported["sales-etl"]
    client.force_login(support_user)
    form = client.get(reverse("dataflow:service-host-aliases", args=[service.pk]))

    response = client.post(
        reverse("dataflow:service-host-aliases", args=[service.pk]),
        {
            "base_revision": service.config_revision,
            "host_alias_enabled": "on",
            "hosts": form.context["form"].initial["hosts"] + "10.30.0.9 ldap.corp.internal\n",
            "ticket": "SUP-1",
            "reason": "LDAP moved",
        },
        follow=True,
    )

    assert impact_codes(response) == ["hosts_restart"]
    assert "The pods restart to pick up the new /etc/hosts." in visible_text(response)
    assert "Kubernetes behaviour" in visible_text(response)


def _past_changes(service: Service, author, minutes: list[int]) -> None:
    """Changes of `service` that ended Succeeded, each after `minutes`."""
    for took in minutes:
        change = submit_edit(service, author, lambda c, t=took: c.update(description=f"took {t}"))
        end = timezone.now()
        ChangeRequest.objects.filter(pk=change.pk).update(
            status=ChangeRequest.Status.SUCCEEDED,
            created_at=end - timedelta(minutes=took),
            finished_at=end,
        )


def test_the_review_says_how_long_past_changes_of_the_service_took(as_admin, imported, admin_user):
    sales = imported["sales-etl"]
    _past_changes(sales, admin_user, [4, 6, 20])

    review = as_admin.get(post_edit(as_admin, sales, nifi_memory=16384))

    text = visible_text(review)
    assert impact_codes(review) == ["pods_restart", "duration"]
    assert (
        "It will likely take about 6 min 0 s; 9 in 10 past changes took at most 20 min 0 s." in text
    )
    assert "of 3 past changes of this service" in text
    assert "our history" in text


def test_the_approver_reads_the_same_consequences(
    client, settings, imported, admin_user, lead_user, enqueued
):
    settings.SCP_NEEDS_APPROVAL = True

    def fewer_nodes(config):
        config["workloads"]["nifi"]["replica"] = 1

    waiting = submit_edit(imported["sales-etl"], admin_user, fewer_nodes)
    client.force_login(lead_user)

    page = client.get(reverse("dataflow:change-decide", args=[waiting.pk]))

    assert page.status_code == 200
    assert impact_codes(page) == ["nifi_offload"]
    assert OFFLOAD in visible_text(page)
    assert 'data-testid="acknowledge"' not in page.content.decode()
