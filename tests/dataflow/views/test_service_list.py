"""The service list for a fleet: search, filters, sorting and pages in the URL, and its cost."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from console.dataflow.models import ChangeRequest, Service
from tests.dataflow.pages import page_text

pytestmark = pytest.mark.django_db
LIST = reverse("dataflow:service-list")


def _services(count: int, *, start: int = 0) -> None:
    Service.objects.bulk_create(
        Service(
            scp_id=uuid.uuid4().hex,
            name=f"svc-{i:04d}",
            state="ERROR" if i % 10 == 3 else "RUNNING",
            cluster_name=f"k8s-{i % 3}",
            data_flow_name="flow-blue" if i % 2 else "flow-green",
            connection_name="busan" if i % 5 == 0 else "default",
        )
        for i in range(start, start + count)
    )


def _names(response) -> list[str]:
    return [s.name for s in response.context["services"]]


def test_the_list_shows_fifty_a_page_with_links_to_the_others(client, lead_user):
    _services(120)
    client.force_login(lead_user)

    first = client.get(LIST)
    third = client.get(LIST, {"page": 3})

    assert first.content.decode().count('data-testid="service-row"') == 50
    assert "1\u201350 of 120 services" in page_text(first)
    assert "page=2" in first.content.decode()
    assert _names(third) == [f"svc-{i:04d}" for i in range(100, 120)]


def test_search_matches_name_cluster_or_data_flow(client, lead_user):
    _services(30)
    client.force_login(lead_user)

    assert _names(client.get(LIST, {"q": "svc-001"})) == [f"svc-{i:04d}" for i in range(10, 20)]
    assert len(_names(client.get(LIST, {"q": "K8S-2"}))) == 10
    assert len(_names(client.get(LIST, {"q": "flow-blue"}))) == 15


def test_filters_combine_and_stay_in_the_page_links(client, lead_user):
    _services(300)
    client.force_login(lead_user)

    response = client.get(LIST, {"state": "RUNNING", "cluster": "k8s-1", "connection": "default"})

    names = _names(response)
    assert names and len(names) == 50
    rows = Service.objects.filter(name__in=names)
    assert {(s.state, s.cluster_name, s.connection_name) for s in rows} == {
        ("RUNNING", "k8s-1", "default")
    }
    html = response.content.decode()
    assert response.context["page"].paginator.count == 70, html[html.find("service-count") :][:200]
    assert "state=RUNNING&amp;cluster=k8s-1&amp;connection=default&page=2" in html


def test_sorting_by_state_name_and_last_change(client, lead_user, admin_user):
    _services(12)
    recent = Service.objects.get(name="svc-0007")
    ChangeRequest.objects.create(
        service=recent,
        author=admin_user,
        author_name="admin",
        reason="r",
        base_revision=1,
        base_config={},
        desired_config={},
        status="succeeded",
    )
    client.force_login(lead_user)

    assert _names(client.get(LIST, {"sort": "-name"}))[0] == "svc-0011"
    assert _names(client.get(LIST, {"sort": "state"}))[0] == "svc-0003"  # ERROR first
    assert _names(client.get(LIST, {"sort": "-last_change"}))[0] == "svc-0007"
    assert _names(client.get(LIST, {"sort": "last_change"}))[-1] == "svc-0007"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"state": "EXPLODED"}, "Unknown state 'EXPLODED'"),
        ({"cluster": "nowhere"}, "Unknown cluster 'nowhere'"),
        ({"connection": "x"}, "Unknown connection 'x'"),
        ({"sort": "price"}, "Unknown sort 'price'"),
        ({"page": "two"}, "The page must be a whole number."),
        ({"page": "0"}, "The page must be 1 or more."),
        ({"q": "x" * 300}, "at most 200 characters"),
    ],
)
def test_a_bad_query_value_is_explained_and_the_rest_still_applies(
    client, lead_user, query, message
):
    _services(5)
    client.force_login(lead_user)

    response = client.get(LIST, query)

    assert response.status_code == 200
    assert message in page_text(response)
    assert 'data-testid="filter-errors"' in response.content.decode()


def test_a_page_past_the_end_shows_the_last_one(client, lead_user):
    _services(60)
    client.force_login(lead_user)

    assert len(_names(client.get(LIST, {"page": 99}))) == 10


def test_the_live_refresh_keeps_the_filters(client, lead_user, admin_user):
    from console.dataflow.models import SyncRun

    _services(10)
    SyncRun.objects.create()
    client.force_login(lead_user)

    fragment = client.get(LIST, {"state": "ERROR"}, headers={"HX-Request": "true"})

    html = fragment.content.decode()
    assert "<html" not in html
    assert 'hx-get="/?state=ERROR"' in html
    assert html.count('data-testid="service-row"') == 1


def _queries(client, **params) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(LIST, params)
        assert response.status_code == 200
    return len(captured.captured_queries)


def test_the_list_runs_the_same_number_of_queries_at_20_and_200_services(
    client, lead_user, admin_user
):
    client.force_login(lead_user)
    _services(20)
    for service in Service.objects.all():
        ChangeRequest.objects.create(
            service=service,
            author=admin_user,
            author_name="admin",
            reason="r",
            base_revision=1,
            base_config={},
            desired_config={},
            status="succeeded",
        )
    client.get(LIST)  # the first page of a session stores the person's preferences in it
    small = _queries(client), _queries(client, q="svc", sort="-last_change", state="RUNNING")
    _services(180, start=20)
    large = _queries(client), _queries(client, q="svc", sort="-last_change", state="RUNNING")

    assert small == large
    assert large[0] <= 12  # session, user, permissions, filters, count, rows, sync, nav badges


def test_the_filters_offer_each_cluster_and_connection_once_in_order(client, lead_user):
    _services(40)
    Service.objects.create(scp_id="no-cluster", name="bare", cluster_name="")
    client.force_login(lead_user)
    form = client.get(LIST).context["form"]
    assert [value for value, _label in form.fields["cluster"].choices] == [
        "",
        "k8s-0",
        "k8s-1",
        "k8s-2",
    ]
    assert [value for value, _label in form.fields["connection"].choices] == [
        "",
        "busan",
        "default",
    ]


def test_a_bad_filter_value_marks_its_field_for_the_eye_and_screen_readers(client, lead_user):
    _services(3)
    client.force_login(lead_user)
    html = client.get(LIST, {"state": "MELTING"}).content.decode()
    assert 'class="form-select is-invalid"' in html and 'aria-invalid="true"' in html
    assert html.count("is-invalid") == 1  # only the field whose value is bad
    assert 'aria-describedby="id_q_helptext"' in html and 'id="id_q_helptext"' in html


def test_a_row_links_only_http_addresses_and_says_when_scp_stopped_listing_it(client, lead_user):
    from django.utils import timezone

    Service.objects.create(
        scp_id="s1<",
        name='odd "<b>" & co',
        cluster_name="<i>k8s</i>",
        connection_name="<x>",
        web_url_nifi="javascript:alert(1)",
        web_url_registry="https://registry.example/",
        gone_at=timezone.now(),
    )
    client.force_login(lead_user)
    response = client.get(LIST, {"state": "GONE"})
    html = response.content.decode()
    assert "javascript:" not in html and 'href="https://registry.example/"' in html
    assert 'data-testid="gone-badge"' in html and "Not in SCP's list since 20" in page_text(
        response
    )
    table = html[html.index('data-testid="service-table"') :]
    assert "<b>" not in table and "<i>k8s" not in table and "<x>" not in html and "s1<" not in html
    assert "odd &quot;&lt;b&gt;&quot; &amp; co" in table
