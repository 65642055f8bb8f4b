"""A sync marks services SCP no longer lists (never deleting them) and refreshes the version."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from console.dataflow.inventory.sync import services_sync
from console.dataflow.models import ConnectionStatus, Service
from tests.dataflow.local_scp import LocalScp
from tests.dataflow.pages import visible_text

pytestmark = pytest.mark.django_db
LIST = reverse("dataflow:service-list")


def old_service(**fields) -> Service:
    values = {
        "connection_name": "default",
        "scp_id": "2a9be312-5d4b-4bc8-b2ae-35100fa9241f",
        "name": "retired-flow",
        "state": "RUNNING",
    }
    values.update(fields)
    return Service.objects.create(**values)


def test_a_service_missing_from_the_complete_list_is_marked_gone_not_deleted(scp):
    retired = old_service()

    run = services_sync()

    assert run.errors == []
    retired.refresh_from_db()
    assert retired.is_gone
    assert timezone.now() - retired.gone_at < timedelta(minutes=1)
    assert Service.objects.filter(gone_at__isnull=True).count() == 5
    assert Service.objects.count() == 6


def test_a_second_sync_keeps_the_first_gone_time(scp):
    retired = old_service(gone_at=timezone.now() - timedelta(days=3))
    first = retired.gone_at

    services_sync()

    retired.refresh_from_db()
    assert retired.gone_at == first


def test_a_service_listed_again_is_no_longer_gone(scp, imported):
    sales = imported["sales-etl"]
    Service.objects.filter(pk=sales.pk).update(gone_at=timezone.now())

    run = services_sync()

    sales.refresh_from_db()
    assert not sales.is_gone
    assert run.services_changed == 1


def test_a_failed_list_marks_nothing(scp, settings):
    retired = old_service()
    settings.SCP_SECRET_KEY = "wrong"

    run = services_sync()

    assert run.errors
    retired.refresh_from_db()
    assert not retired.is_gone


def test_services_of_another_connection_are_left_alone(scp):
    elsewhere = old_service(connection_name="busan")

    services_sync()

    elsewhere.refresh_from_db()
    assert not elsewhere.is_gone


def test_the_list_and_the_service_page_say_no_longer_in_scp(client, lead_user, scp):
    retired = old_service()
    services_sync()
    client.force_login(lead_user)

    listing = client.get(LIST).content.decode()
    assert listing.count('data-testid="gone-badge"') == 1
    assert "no longer in SCP" in listing
    detail = visible_text(client.get(reverse("dataflow:service-detail", args=[retired.pk])))
    retired.refresh_from_db()
    assert (
        "SCP no longer lists this service: it has been missing from the service list since "
        f"{timezone.localtime(retired.gone_at):%Y-%m-%d %H:%M}" in detail
    )
    sales = Service.objects.get(name="sales-etl")
    assert "no longer lists" not in visible_text(
        client.get(reverse("dataflow:service-detail", args=[sales.pk]))
    )


def test_a_sync_refreshes_the_connection_version_from_the_list(default_on_local: LocalScp):
    retired = old_service()

    run = services_sync()

    assert run.errors == []
    row = ConnectionStatus.objects.get(name="default")
    assert (row.ok, row.endpoint_ok, row.keys_ok) == (True, True, True)
    assert (row.version_status, row.version_date, row.current_version) == (
        "DEPRECATED",
        date(2027, 1, 31),
        "data-flow 1.1",
    )
    assert [seen["path"] for seen in default_on_local.seen][-1] == "/"
    retired.refresh_from_db()
    assert retired.is_gone  # the stand-in lists no service at all


def test_a_version_list_that_fails_never_fails_the_sync(default_on_local: LocalScp):
    default_on_local.routes["/"] = (500, {"errors": [{"code": "ContactAdminForAssistance"}]})
    ConnectionStatus.objects.create(
        name="default", checked_at=timezone.now(), ok=True, version_status="CURRENT"
    )

    run = services_sync()

    assert run.errors == []
    assert run.finished_at is not None
    assert ConnectionStatus.objects.get().version_status == "CURRENT"


def test_a_service_scp_no_longer_lists_cannot_be_edited(client, admin_user, support_user):
    retired = old_service(gone_at=timezone.now())

    client.force_login(admin_user)
    for url in (f"/services/{retired.pk}/edit/", f"/services/{retired.pk}/host-aliases/"):
        response = client.post(url, {"base_revision": "1"}, follow=True)
        assert "SCP no longer lists this service" in visible_text(response)
        assert response.redirect_chain[-1][0] == f"/services/{retired.pk}/"
    assert not retired.changes.exists()


def test_submitting_a_plan_for_a_service_scp_no_longer_lists_is_refused(admin_user):
    from console.dataflow.changes.plan import change_plan
    from console.dataflow.changes.submit import ChangeRefused, change_submit
    from console.scp import ServiceConfig

    retired = old_service(config={"description": "old"})
    plan = change_plan(
        service=retired,
        desired=ServiceConfig.from_dict({"description": "new"}),
        password_changed=False,
    )
    Service.objects.filter(pk=retired.pk).update(gone_at=timezone.now())

    with pytest.raises(ChangeRefused, match="no longer lists"):
        change_submit(plan=plan, author=admin_user, reason="late")
    assert not retired.changes.exists()
