"""The edit form and the host alias rows: every rule says what is allowed, junk never crashes."""

from __future__ import annotations

import pytest

from console.dataflow.forms.host_aliases import host_alias_formset
from console.dataflow.forms.service import ServiceEditForm
from console.dataflow.models import Service
from console.scp import HostAlias
from tests.dataflow.pages import INVALID_EDITS, edit_data

pytestmark = pytest.mark.django_db

CONFIG = {
    "account_id": "salesadmin",
    "description": "Orders from the ERP into the warehouse",
    "domain": "sales",
    "node_selector": "nodepool=dataflow",
    "host_alias_enabled": True,
    "host_aliases": [
        {"hostname": "erp-db.corp.internal", "ip": "10.10.1.21"},
        {"hostname": "dwh.corp.internal", "ip": "10.10.1.40"},
    ],
    "workloads": {
        "nifi": {"cpu": 4000, "memory": 8192, "replica": 2, "version": "1.27.1"},
        "nifi_registry": {"cpu": 1000, "memory": 2048, "replica": 1, "version": "1.27.1"},
        "zookeeper": {"cpu": 1000, "memory": 2048, "replica": 3, "version": "3.9.2"},
    },
}
OFFERED = {"nifi": ["1.27.1"], "nifi_registry": ["1.27.1"], "zookeeper": ["3.9.2"]}


@pytest.fixture
def service() -> Service:
    return Service.objects.create(
        scp_id="97ff18b6f6ac2a24966f313464a60728",
        name="sales-etl",
        config=CONFIG,
        offered_versions=OFFERED,
    )


def bind(data: dict[str, str], service: Service):
    form = ServiceEditForm(data, service=service)
    formset = host_alias_formset(data=data)
    return form, formset


def all_messages(form, formset) -> str:
    messages = [str(e) for errors in form.errors.values() for e in errors]
    for row_errors in formset.errors:
        messages += [str(e) for errors in row_errors.values() for e in errors]
    messages += [str(e) for e in formset.non_form_errors()]
    return " | ".join(messages)


def test_the_form_as_the_page_fills_it_is_valid_and_asks_for_the_same_config(service):
    form, formset = bind(edit_data(service), service)

    assert form.is_valid(), form.errors
    assert formset.is_valid(), (formset.errors, formset.non_form_errors())
    desired = form.desired_config(formset.aliases()).to_dict()
    assert desired == CONFIG
    assert form.cleaned_data["account_password"] == ""


def test_initial_values_come_from_the_config_without_any_password(service):
    initial = ServiceEditForm.initial_from({**CONFIG, "account_password": "x"}, revision=7)

    assert initial["base_revision"] == 7
    assert initial["nifi_memory"] == 8192
    assert initial["zookeeper_version"] == "3.9.2"
    assert "account_password" not in initial


@pytest.mark.parametrize(
    ("changes", "message"),
    [pytest.param(changes, message, id=case) for case, changes, message in INVALID_EDITS],
)
def test_each_rule_refuses_with_a_message_saying_what_is_allowed(service, changes, message):
    form, formset = bind(edit_data(service, **changes), service)

    valid = form.is_valid() and formset.is_valid()

    assert not valid
    assert message in all_messages(form, formset)


@pytest.mark.parametrize(
    ("password", "missing"),
    [
        pytest.param("ÄÖÜabc12!", "an upper-case letter", id="non-ascii-upper-case"),
        pytest.param("ABCäöü12!", "a lower-case letter", id="non-ascii-lower-case"),
        pytest.param("Abcdefg٣!", "a digit", id="arabic-indic-digit"),
    ],
)
def test_password_classes_are_counted_as_scp_counts_them(service, password, missing):
    # SCP takes A-Z, a-z and 0-9 only; other scripts' letters and digits do not count.
    form, _ = bind(edit_data(service, account_password=password), service)

    assert not form.is_valid()
    assert missing in " ".join(form.errors["account_password"])


def test_a_valid_password_with_all_four_classes_is_accepted(service):
    form, _ = bind(edit_data(service, account_password="N3w!Secret-pw"), service)

    assert form.is_valid(), form.errors
    assert form.cleaned_data["account_password"] == "N3w!Secret-pw"


def test_exactly_20_aliases_are_accepted(service):
    rows = [{"hostname": f"h{n}.corp.internal", "ip": f"10.0.1.{n}"} for n in range(20)]
    formset = host_alias_formset(data=edit_data(service, aliases=rows))

    assert formset.is_valid(), formset.non_form_errors()
    assert len(formset.aliases()) == 20


def test_deleted_rows_do_not_count_and_are_left_out(service):
    rows = [{"hostname": f"h{n}.corp.internal", "ip": f"10.0.1.{n}"} for n in range(20)]
    rows += [{"hostname": "gone.corp.internal", "ip": "10.0.2.1", "DELETE": True}]
    formset = host_alias_formset(data=edit_data(service, aliases=rows))

    assert formset.is_valid(), formset.non_form_errors()
    assert HostAlias("gone.corp.internal", "10.0.2.1") not in formset.aliases()


def test_a_deleted_row_may_be_invalid(service):
    rows = [
        {"hostname": "db.corp.internal", "ip": "10.0.0.5"},
        {"hostname": "NOT VALID", "ip": "nope", "DELETE": True},
    ]
    formset = host_alias_formset(data=edit_data(service, aliases=rows))

    assert formset.is_valid()
    assert formset.aliases() == (HostAlias("db.corp.internal", "10.0.0.5"),)


def test_the_same_hostname_twice_on_the_same_ip_asks_to_keep_one_row(service):
    rows = [
        {"hostname": "db.corp.internal", "ip": "10.0.0.5"},
        {"hostname": "db.corp.internal", "ip": "10.0.0.5"},
    ]
    formset = host_alias_formset(data=edit_data(service, aliases=rows))

    assert not formset.is_valid()
    assert "'db.corp.internal' is listed twice; keep one row." in formset.non_form_errors()


def test_an_ipv6_alias_is_accepted(service):
    rows = [{"hostname": "schema-registry.stream.internal", "ip": "fd00:20::1:5"}]
    formset = host_alias_formset(data=edit_data(service, aliases=rows))

    assert formset.is_valid()


@pytest.mark.parametrize("total", ["-1", "-9999"])
def test_a_negative_row_count_is_refused_rather_than_read_as_no_rows(service, total):
    formset = host_alias_formset(data=edit_data(service, **{"aliases-TOTAL_FORMS": total}))

    assert not formset.is_valid()
    assert "reload the page" in " ".join(formset.non_form_errors())


def test_a_missing_management_form_is_refused(service):
    data = edit_data(service)
    for key in [k for k in data if k.startswith("aliases-")]:
        del data[key]
    formset = host_alias_formset(data=data)

    assert not formset.is_valid()
    assert formset.non_form_errors()


def test_an_older_version_the_service_runs_stays_choosable(service):
    service.config = {
        **CONFIG,
        "workloads": {**CONFIG["workloads"], "nifi": {**CONFIG["workloads"]["nifi"]}},
    }
    service.config["workloads"]["nifi"]["version"] = "1.25.0"
    form = ServiceEditForm(service=service)

    assert [c for c, _ in form.fields["nifi_version"].choices] == ["1.25.0", "1.27.1"]


def test_without_offered_versions_a_typed_version_is_checked_for_its_shape(service):
    data = edit_data(service, nifi_version="1.28 beta")
    service.offered_versions = {}
    service.config = {**CONFIG, "workloads": None}
    form, _ = bind(data, service)

    assert not form.is_valid()
    assert form.errors["nifi_version"] == ["Write a version such as 1.27.1."]


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"base_revision": "abc"}, id="base-revision-not-a-number"),
        pytest.param({"base_revision": "0"}, id="base-revision-zero"),
        pytest.param({"base_revision": None}, id="base-revision-missing"),
        pytest.param({"nifi_cpu": "lots"}, id="cpu-not-a-number"),
        pytest.param({"nifi_cpu": "9" * 5000}, id="cpu-of-5000-digits"),
        pytest.param({"nifi_memory": "1e3"}, id="memory-in-exponent-form"),
        pytest.param(
            {"aliases": [{"hostname": "데이터.corp.internal", "ip": "10.0.0.5"}]},
            id="unicode-hostname",
        ),
        pytest.param({"domain": "도메인"}, id="unicode-domain"),
        pytest.param({"description": "x\x00y"}, id="null-character"),
        pytest.param({"account_id": None, "domain": None}, id="missing-fields"),
        pytest.param({"aliases-TOTAL_FORMS": "many"}, id="row-count-not-a-number"),
    ],
)
def test_junk_is_a_form_error_not_an_exception(service, changes):
    form, formset = bind(edit_data(service, **changes), service)

    assert not (form.is_valid() and formset.is_valid())
    assert all_messages(form, formset)


def test_node_selector_typed_with_spaces_goes_out_as_scp_expects_it(service):
    data = edit_data(service)
    data["node_selector"] = " nodepool = dataflow , zone=a "
    form, _ = bind(data, service)

    assert form.is_valid(), form.errors
    assert form.cleaned_data["node_selector"] == "nodepool=dataflow,zone=a"
