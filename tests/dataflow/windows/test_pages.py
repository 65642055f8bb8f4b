"""What people see of maintenance windows: the service page's next window, the change page's
"Scheduled: goes at …", send now (admins, with a reason), and the admin site (superusers)."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.urls import reverse

from console.dataflow.models import ChangeRequest, MaintenanceWindow, Preference
from tests.dataflow.helpers import add_alias, submit_edit
from tests.dataflow.views.test_views import post_edit

pytestmark = pytest.mark.django_db(transaction=True)
Status = ChangeRequest.Status
SEOUL = ZoneInfo("Asia/Seoul")
MONDAY_NOON = datetime(2026, 12, 7, 12, 0, tzinfo=SEOUL)


@pytest.fixture
def tuesday_nights(db):
    MaintenanceWindow.objects.create(
        connection_name="default",
        weekday=1,
        starts_at=time(22),
        ends_at=time(2),
        time_zone="Asia/Seoul",
    )


@pytest.fixture
def monday():
    with time_machine.travel(MONDAY_NOON, tick=False) as traveller:
        yield traveller


@pytest.fixture
def in_seoul(admin_user, client):
    """Alice reads the console in Seoul time, signed in."""
    Preference.objects.create(user=admin_user, time_zone="Asia/Seoul")
    client.force_login(admin_user)
    return client


def test_the_service_page_shows_the_next_window_in_the_readers_time_zone(
    monday, tuesday_nights, scp, imported, in_seoul
):
    service = imported["sales-etl"]
    page = in_seoul.get(reverse("dataflow:service-detail", args=[service.pk])).content.decode()
    assert 'data-testid="maintenance-window"' in page
    assert "Next maintenance window: 2026-12-08 22:00 KST" in page


def test_inside_a_window_the_service_page_says_until_when(
    monday, tuesday_nights, scp, imported, admin_user, in_seoul
):
    monday.move_to(datetime(2026, 12, 8, 23, 0, tzinfo=SEOUL))
    in_seoul.force_login(admin_user)  # a day later: signed in again
    service = imported["sales-etl"]
    page = in_seoul.get(reverse("dataflow:service-detail", args=[service.pk])).content.decode()
    assert (
        "Inside a maintenance window: a confirmed change is sent at once, until "
        "2026-12-09 02:00 KST." in page
    )


def test_without_windows_the_service_page_says_nothing_of_them(scp, imported, in_seoul):
    service = imported["sales-etl"]
    page = in_seoul.get(reverse("dataflow:service-detail", args=[service.pk])).content.decode()
    assert 'data-testid="maintenance-window"' not in page


def test_the_change_page_says_when_a_scheduled_change_goes(
    monday, tuesday_nights, scp, imported, admin_user, in_seoul, enqueued
):
    change = submit_edit(imported["sales-etl"], admin_user, add_alias)
    page = in_seoul.get(change.get_absolute_url()).content.decode()
    assert "Scheduled: goes at 2026-12-08 22:00 KST, the next maintenance window." in page
    assert 'data-testid="send-now-form"' in page
    assert 'data-testid="cancel-change"' in page


def test_the_review_page_says_the_change_will_wait_for_the_window(
    monday, tuesday_nights, scp, imported, in_seoul
):
    service = imported["sales-etl"]
    review = post_edit(in_seoul, service, description="in the window")
    page = in_seoul.get(review).content.decode()
    assert 'data-testid="window-note"' in page
    assert "sent no earlier than 2026-12-08 22:00 KST, the next window." in page


def test_without_windows_the_review_page_says_nothing_of_them(scp, imported, in_seoul):
    review = post_edit(in_seoul, imported["sales-etl"], description="at once")
    assert 'data-testid="window-note"' not in in_seoul.get(review).content.decode()


def test_support_cannot_send_a_scheduled_change_now(
    monday, tuesday_nights, scp, imported, admin_user, support_user, client, enqueued
):
    change = submit_edit(imported["sales-etl"], admin_user, add_alias)
    client.force_login(support_user)
    response = client.post(reverse("dataflow:change-send-now", args=[change.pk]), {"reason": "x"})
    assert response.status_code == 403
    change.refresh_from_db()
    assert change.status == Status.SCHEDULED


def test_send_now_without_a_reason_sends_nothing(
    monday, tuesday_nights, scp, imported, admin_user, in_seoul, enqueued
):
    change = submit_edit(imported["sales-etl"], admin_user, add_alias)
    response = in_seoul.post(
        reverse("dataflow:change-send-now", args=[change.pk]), {"reason": " "}, follow=True
    )
    assert "Say why the change cannot wait for the maintenance window." in response.content.decode()
    change.refresh_from_db()
    assert change.status == Status.SCHEDULED
    assert enqueued == []


def test_an_admin_sends_it_now_and_the_reason_is_on_its_timeline(
    monday, tuesday_nights, scp, imported, admin_user, in_seoul, enqueued
):
    change = submit_edit(imported["sales-etl"], admin_user, add_alias)
    response = in_seoul.post(
        reverse("dataflow:change-send-now", args=[change.pk]), {"reason": "emergency"}, follow=True
    )
    page = response.content.decode()
    assert f"Change #{change.pk} goes now." in page
    assert "Sent now by alice, outside the maintenance windows: emergency" in page
    change.refresh_from_db()
    assert change.status == Status.QUEUED


def test_only_superusers_manage_windows_in_the_admin_site(client, admin_user):
    add = reverse("admin:dataflow_maintenancewindow_add")
    admin_user.is_staff = True
    admin_user.save()
    client.force_login(admin_user)
    assert client.get(add).status_code == 403
    root = get_user_model().objects.create_superuser("root", "root@example.com", "pw-root-123")
    client.force_login(root)
    assert client.get(add).status_code == 200
    response = client.post(
        add,
        {
            "connection_name": "nowhere",
            "weekday": "1",
            "starts_at": "22:00",
            "ends_at": "02:00",
            "time_zone": "Asia/Seoul",
        },
    )
    assert response.status_code == 200  # the form again, with its error
    assert "No SCP connection is named &#x27;nowhere&#x27;." in response.content.decode()
    assert not MaintenanceWindow.objects.exists()
