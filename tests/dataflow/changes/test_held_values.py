"""Rules apply to edits: values SCP already holds pass unchanged, with a warning, not an error."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from console.dataflow.changes.hostsfile import hosts_parse
from console.dataflow.changes.plan import Precheck
from console.dataflow.changes.validators import ip_normalize
from console.dataflow.forms.host_aliases import HostAliasesForm, host_alias_formset
from console.dataflow.forms.service import ServiceEditForm
from console.dataflow.models import ChangeRequest, ConfigRevision, Service
from console.dataflow.views import review as views
from console.scp import HostAlias
from tests.dataflow.pages import diff_rows, drafts_in_session, edit_data, page_text, row_counts

pytestmark = pytest.mark.django_db

LEGACY: dict[str, Any] = {
    "account_id": "cdcadmin",
    "description": "Created by another tool",
    "domain": "cdc.legacy",
    "node_selector": "dataflow",
    "host_alias_enabled": True,
    "host_aliases": [{"hostname": "erp-db.corp.internal", "ip": "10.10.1.21"}],
    "workloads": {
        "nifi": {"cpu": 2000, "memory": 4096, "replica": 1, "version": "1.27.1"},
        "nifi_registry": {"cpu": 1000, "memory": 2048, "replica": 1, "version": "1.27.1"},
        "zookeeper": {"cpu": 1000, "memory": 2048, "replica": 3, "version": "3.9.2"},
    },
}
OFFERED = {"nifi": ["1.27.1"], "nifi_registry": ["1.27.1"], "zookeeper": ["3.9.2"]}
DOMAIN_RULE = (
    "Use 3 to 50 lower-case letters, digits and '-', not starting or ending with '-'; "
    "got 'cdc.legacy2'."
)


def url(name: str, *args) -> str:
    return reverse(f"dataflow:{name}", args=args)


def make_service(config: dict[str, Any], **fields: Any) -> Service:
    service = Service.objects.create(
        scp_id="2a9be312-5d4b-4bc8-b2ae-35100fa9241f",
        name="cdc",
        config=copy.deepcopy(config),
        offered_versions=fields.pop("offered_versions", OFFERED),
        state=fields.pop("state", "RUNNING"),
        **fields,
    )
    ConfigRevision.objects.create(service=service, revision=1, config=service.config)
    return service


@pytest.fixture
def legacy() -> Service:
    return make_service(LEGACY)


@pytest.fixture(autouse=True)
def precheck_says_yes(monkeypatch):
    """SCP's pre-check is not what these tests are about: it answers "room enough" at once."""
    monkeypatch.setattr(
        views, "change_precheck", lambda **_: Precheck(True, True, "SCP confirms the room.")
    )


@pytest.fixture
def as_admin(client: Client, admin_user) -> Client:
    client.force_login(admin_user)
    return client


def bind(service: Service, data: dict[str, str]):
    form = ServiceEditForm(data, service=service)
    formset = host_alias_formset(data=data, held=service.config)
    return form, formset


# --- The edit form ------------------------------------------------------------------------


def test_raising_nifi_memory_keeps_a_dotted_domain_and_a_bare_node_label_exactly(as_admin, legacy):
    response = as_admin.post(url("service-edit", legacy.pk), edit_data(legacy, nifi_memory=8192))

    assert response.status_code == 302, page_text(response)
    [draft] = drafts_in_session(as_admin).values()
    assert draft["desired_config"]["domain"] == "cdc.legacy"
    assert draft["desired_config"]["node_selector"] == "dataflow"
    assert draft["desired_config"]["workloads"]["nifi"]["memory"] == 8192
    assert set(diff_rows(as_admin.get(response.url))) == {"workloads.nifi.memory"}


def test_editing_the_held_domain_meets_todays_rule(as_admin, legacy):
    before = row_counts()

    response = as_admin.post(
        url("service-edit", legacy.pk), edit_data(legacy, domain="cdc.legacy2", nifi_memory=8192)
    )

    assert response.status_code == 200
    assert DOMAIN_RULE in page_text(response)
    assert drafts_in_session(as_admin) == {}
    assert row_counts() == before


def test_editing_the_held_node_label_meets_kubernetes_rule(legacy):
    form, _ = bind(legacy, edit_data(legacy, node_selector="dataflow2"))

    assert not form.is_valid()
    assert "Write the node label as key=value" in str(form.errors["node_selector"])


def test_the_page_warns_next_to_each_held_value_the_rules_would_refuse(as_admin, legacy):
    response = as_admin.get(url("service-edit", legacy.pk))

    html = response.content.decode()
    text = page_text(response)
    assert (
        "SCP holds 'cdc.legacy', which the user guide's rules would refuse; "
        "it is kept as it is unless you change it"
    ) in text
    assert "SCP holds 'dataflow', which Kubernetes' rules would refuse" in text
    warned = set(re.findall(r'data-testid="held-warning" data-field="([^"]+)"', html))
    assert warned == {"domain", "node_selector"}
    assert 'class="invalid-feedback"' not in html


def test_a_held_node_selector_is_not_rewritten_when_unchanged(as_admin):
    service = make_service({**LEGACY, "node_selector": "nodepool = dataflow , zone=a"})
    form, _ = bind(service, edit_data(service, nifi_memory=8192))

    assert form.is_valid(), form.errors
    assert form.cleaned_data["node_selector"] == "nodepool = dataflow , zone=a"


def test_an_edited_node_selector_is_still_tidied_for_scp(legacy):
    form, _ = bind(legacy, edit_data(legacy, node_selector=" nodepool = dataflow , zone=a "))

    assert form.is_valid(), form.errors
    assert form.cleaned_data["node_selector"] == "nodepool=dataflow,zone=a"


OUT_OF_RULES: dict[str, Any] = {
    **LEGACY,
    "account_id": "adm",
    "description": "d" * 170,
    "node_selector": "",
    "workloads": {
        "nifi": {"cpu": 50, "memory": 1000, "replica": 12, "version": "1.27.1"},
        "nifi_registry": {"cpu": 1000, "memory": 100, "replica": 1, "version": "1.26.0"},
        "zookeeper": {"cpu": 1000, "memory": 2048, "replica": 2, "version": "3.9.2"},
    },
}


def test_every_held_value_outside_the_rules_passes_when_another_field_changes(as_admin):
    service = make_service(OUT_OF_RULES)

    response = as_admin.post(
        url("service-edit", service.pk), edit_data(service, zookeeper_cpu=1500)
    )

    assert response.status_code == 302, page_text(response)
    [draft] = drafts_in_session(as_admin).values()
    assert draft["desired_config"] == {
        **OUT_OF_RULES,
        "workloads": {
            **OUT_OF_RULES["workloads"],
            "zookeeper": {**OUT_OF_RULES["workloads"]["zookeeper"], "cpu": 1500},
        },
    }


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("account_id", "adm2", "Use 6 to 30 characters; got 4."),
        ("description", "e" * 170, "at most 150 characters"),
        ("nifi_cpu", "60", "greater than or equal to 100"),
        ("nifi_replica", "11", "less than or equal to 10"),
        ("zookeeper_replica", "4", "ZooKeeper needs an odd number of replicas"),
        ("node_selector", "dataflow", "Write the node label as key=value"),
    ],
)
def test_a_changed_value_meets_the_rules_even_where_scp_held_a_bad_one(field, value, message):
    service = make_service(OUT_OF_RULES)
    form, _ = bind(service, edit_data(service, **{field: value}))

    assert not form.is_valid()
    assert message in " ".join(form.errors[field])


def test_the_browser_is_not_asked_to_refuse_a_held_number(as_admin):
    service = make_service(OUT_OF_RULES)

    html = as_admin.get(url("service-edit", service.pk)).content.decode()

    tag = re.search(r'<input[^>]*name="nifi_memory"[^>]*>', html).group(0)
    assert 'step="any"' in tag
    ok = re.search(r'<input[^>]*name="zookeeper_memory"[^>]*>', html).group(0)
    assert 'step="128"' in ok


def test_a_held_version_the_data_flow_no_longer_offers_stays_choosable():
    service = make_service(OUT_OF_RULES)
    form, _ = bind(service, edit_data(service))

    assert form.is_valid(), form.errors
    assert form.cleaned_data["nifi_registry_version"] == "1.26.0"


# --- Host alias rows ----------------------------------------------------------------------

HELD_BAD_ROW = {"hostname": "ERP_DB.corp.internal", "ip": "::ffff:a00:1"}


def test_an_unchanged_held_row_passes_as_held_and_a_new_row_is_checked():
    service = make_service({**LEGACY, "host_aliases": [HELD_BAD_ROW]})
    rows = [HELD_BAD_ROW, {"hostname": "ldap.corp.internal", "ip": "10.30.0.9"}]

    formset = host_alias_formset(data=edit_data(service, aliases=rows), held=service.config)

    assert formset.is_valid(), formset.errors
    assert formset.aliases() == (
        HostAlias("ERP_DB.corp.internal", "::ffff:a00:1"),
        HostAlias("ldap.corp.internal", "10.30.0.9"),
    )


def test_an_edited_held_row_is_checked():
    service = make_service({**LEGACY, "host_aliases": [HELD_BAD_ROW]})
    rows = [{**HELD_BAD_ROW, "ip": "10.0.0.2"}]

    formset = host_alias_formset(data=edit_data(service, aliases=rows), held=service.config)

    assert not formset.is_valid()
    assert "use lower case only" in str(formset.errors)


def test_a_held_row_shows_its_warning_on_the_page(as_admin):
    service = make_service({**LEGACY, "host_aliases": [HELD_BAD_ROW]})

    response = as_admin.get(url("service-edit", service.pk))

    assert "SCP holds 'ERP_DB.corp.internal', which Kubernetes' rules would refuse" in page_text(
        response
    )


def test_more_held_rows_than_scp_allows_pass_but_adding_one_is_refused():
    held = [{"hostname": f"h{i}.corp.internal", "ip": f"10.0.0.{i}"} for i in range(22)]
    service = make_service({**LEGACY, "host_aliases": held})

    same = host_alias_formset(data=edit_data(service, aliases=held), held=service.config)
    more = host_alias_formset(
        data=edit_data(service, aliases=[*held, {"hostname": "x.corp.internal", "ip": "10.1.0.1"}]),
        held=service.config,
    )

    assert same.is_valid(), same.non_form_errors()
    assert not more.is_valid()
    assert "SCP allows at most 20 host aliases" in " ".join(more.non_form_errors())


def test_a_held_hostname_on_two_ips_is_not_this_edits_to_refuse():
    held = [
        {"hostname": "db.corp.internal", "ip": "10.0.0.1"},
        {"hostname": "db.corp.internal", "ip": "10.0.0.2"},
    ]
    service = make_service({**LEGACY, "host_aliases": held})

    formset = host_alias_formset(data=edit_data(service, aliases=held), held=service.config)

    assert formset.is_valid(), formset.non_form_errors()


# --- The support page's paste -------------------------------------------------------------


def test_a_pasted_held_pair_passes_as_written_and_a_new_bad_one_is_refused():
    held = frozenset({("ERP_DB.corp.internal", "::ffff:a00:1")})

    assert hosts_parse("::ffff:a00:1 ERP_DB.corp.internal\n", held=held) == (
        HostAlias("ERP_DB.corp.internal", "::ffff:a00:1"),
    )
    with pytest.raises(ValidationError) as caught:
        hosts_parse("::ffff:a00:1 ERP_DB.corp.internal OTHER.corp.internal\n", held=held)
    assert "Line 1: Not a valid host name (use lower case only); got 'OTHER.corp.internal'." in (
        caught.value.messages
    )


def test_the_support_page_warns_about_held_aliases_and_lets_them_through(client, support_user):
    service = make_service({**LEGACY, "host_aliases": [HELD_BAD_ROW]})
    client.force_login(support_user)

    page = client.get(url("service-host-aliases", service.pk))
    assert "SCP holds 'ERP_DB.corp.internal' at ::ffff:a00:1" in page_text(page)

    hosts = page.context["form"].initial["hosts"] + "10.30.0.9 ldap.corp.internal\n"
    response = client.post(
        url("service-host-aliases", service.pk),
        {"base_revision": 1, "hosts": hosts, "ticket": "SUP-1", "reason": "LDAP"},
    )

    assert response.status_code == 302, page_text(response)
    [draft] = drafts_in_session(client).values()
    assert draft["desired_config"]["host_aliases"] == [
        HELD_BAD_ROW,
        {"hostname": "ldap.corp.internal", "ip": "10.30.0.9"},
    ]


def test_the_hosts_form_without_a_held_list_checks_every_line():
    form = HostAliasesForm(
        {
            "base_revision": 1,
            "hosts": "::ffff:a00:1 ERP_DB.corp.internal",
            "ticket": "S",
            "reason": "r",
        }
    )

    assert not form.is_valid()
    assert "use lower case only" in str(form.errors["hosts"])


# --- One IP parser ------------------------------------------------------------------------

ZONE = "SCP and Kubernetes refuse zone ids such as %eth0; write the address without it"


@pytest.mark.parametrize(
    ("written", "normalised"),
    [
        ("10.0.0.1", "10.0.0.1"),
        (" 10.0.0.1 ", "10.0.0.1"),
        ("::ffff:10.0.0.1", "::ffff:10.0.0.1"),
        ("::FFFF:a00:1", "::ffff:10.0.0.1"),
        ("0:0:0:0:0:ffff:10.0.0.1", "::ffff:10.0.0.1"),
        ("FD00:20:0:0:0:0:1:5", "fd00:20::1:5"),
    ],
)
def test_both_host_alias_forms_normalise_an_address_the_same_way(written, normalised):
    service = make_service(LEGACY)
    rows = [{"hostname": "db.corp.internal", "ip": written}]
    formset = host_alias_formset(data=edit_data(service, aliases=rows), held=service.config)

    assert ip_normalize(written) == normalised
    assert formset.is_valid(), formset.errors
    assert formset.aliases() == (HostAlias("db.corp.internal", normalised),)
    assert hosts_parse(f"{written.strip()} db.corp.internal") == formset.aliases()


@pytest.mark.parametrize("written", ["fe80::1%eth0", "10.0.0.1%eth0"])
def test_both_host_alias_forms_refuse_a_zone_id(written):
    service = make_service(LEGACY)
    rows = [{"hostname": "db.corp.internal", "ip": written}]
    formset = host_alias_formset(data=edit_data(service, aliases=rows), held=service.config)

    assert not formset.is_valid()
    assert ZONE in str(formset.errors)
    with pytest.raises(ValidationError) as caught:
        hosts_parse(f"{written} db.corp.internal")
    assert any(ZONE in m and m.startswith("Line 1:") for m in caught.value.messages)


@pytest.mark.parametrize("junk", ["", "10.0.0.300", "010.0.0.1", "::g", "1:2:3", "a" * 200])
def test_an_address_that_is_not_one_is_refused_by_the_parser(junk):
    with pytest.raises(ValidationError):
        ip_normalize(junk)


# --- The state of the service, told before the edit ---------------------------------------


@pytest.mark.parametrize(
    ("state", "says"),
    [
        ("ERROR", "sent as a repair. SCP keeps reporting the earlier failure until this update"),
        ("UPDATING", "refuses a second update meanwhile: your change waits and is retried"),
        ("EDITING", "fails with that reason if SCP stays busy"),
        ("STOPPED", "A guess, as SCP's documentation does not say: SCP may refuse the update"),
        ("", "The console reports what SCP answers."),
    ],
)
@pytest.mark.parametrize("page", ["service-edit", "service-host-aliases"])
def test_a_service_that_is_not_running_says_what_will_happen(as_admin, state, says, page):
    service = make_service(LEGACY, state=state)

    response = as_admin.get(url(page, service.pk))

    assert 'data-testid="state-notice"' in response.content.decode()
    assert says in page_text(response)


@pytest.mark.parametrize("page", ["service-edit", "service-host-aliases"])
def test_a_running_service_says_nothing_extra(as_admin, legacy, page):
    response = as_admin.get(url(page, legacy.pk))

    assert 'data-testid="state-notice"' not in response.content.decode()


# --- Sensitive parameters -----------------------------------------------------------------


def test_the_edit_page_marks_the_password_as_sensitive(as_admin, legacy):
    response = as_admin.post(
        url("service-edit", legacy.pk), edit_data(legacy, account_password="N3w!Secret-pw")
    )

    assert response.status_code == 302
    assert response.wsgi_request.sensitive_post_parameters == ("account_password",)


def test_the_review_marks_the_password_as_sensitive(as_admin, legacy):
    review = as_admin.post(url("service-edit", legacy.pk), edit_data(legacy, nifi_cpu=3000)).url

    response = as_admin.post(review, {"reason": ""})

    assert response.status_code == 200
    assert response.wsgi_request.sensitive_post_parameters == ("account_password",)
    assert ChangeRequest.objects.count() == 0
