"""Configuration as code: a service's configuration as YAML, planned and applied from a file."""

from __future__ import annotations

import io

import pytest
import yaml
from django.core.management import CommandError, call_command

from console.dataflow.models import ApiPlan, ChangeRequest

FIELDS = [
    "account_id",
    "description",
    "domain",
    "node_selector",
    "host_alias_enabled",
    "host_aliases",
    "workloads",
]


def _export(service) -> str:
    out = io.StringIO()
    call_command("export_config", service.name, stdout=out)
    return out.getvalue()


def test_the_api_serves_the_configuration_as_yaml_in_a_fixed_order(clients, imported):
    service = imported["sales-etl"]
    response = clients["lead"].get(f"/api/services/{service.pk}/config")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/yaml"
    document = yaml.safe_load(response.content)
    assert list(document["config"]) == FIELDS
    assert document["config"] == service.config
    assert document["revision"] == service.config_revision
    assert "password" not in response.content.decode().lower()
    assert response.content.decode() == _export(service)
    assert clients["no role"].get(f"/api/services/{service.pk}/config").status_code == 403


def test_plan_config_shows_what_the_file_changes_and_sends_nothing(
    imported, admin_user, tmp_path, scp
):
    service = imported["sales-etl"]
    document = yaml.safe_load(_export(service))
    document["config"]["description"] = "from a file"
    path = tmp_path / "sales-etl.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    out = io.StringIO()

    call_command("plan_config", str(path), "--as", admin_user.username, stdout=out)

    assert "description:" in out.getvalue() and "from a file" in out.getvalue()
    assert not ChangeRequest.objects.exists() and not ApiPlan.objects.exists()
    assert not scp.applied_puts(service.scp_id)


def test_an_unchanged_file_has_nothing_to_change(imported, admin_user, tmp_path):
    path = tmp_path / "same.yaml"
    path.write_text(_export(imported["sales-etl"]))
    out = io.StringIO()
    call_command("plan_config", str(path), "--as", admin_user.username, stdout=out)
    assert "Nothing to change" in out.getvalue()


@pytest.mark.parametrize(
    ("edit", "said"),
    [
        (lambda d: d["config"].update(domain="Not A Domain!"), "domain"),
        (lambda d: d["config"].update(colour="blue"), "colour"),
        (lambda d: d.update(format="something else"), "format"),
    ],
)
def test_a_file_the_edit_page_would_refuse_is_not_planned(
    imported, admin_user, tmp_path, edit, said
):
    document = yaml.safe_load(_export(imported["sales-etl"]))
    edit(document)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(CommandError, match=said):
        call_command("plan_config", str(path), "--as", admin_user.username)


def test_a_team_lead_cannot_apply_a_file(imported, lead_user, tmp_path):
    document = yaml.safe_load(_export(imported["sales-etl"]))
    document["config"]["description"] = "lead"
    path = tmp_path / "lead.yaml"
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(CommandError):
        call_command(
            "apply_config", str(path), "--as", lead_user.username, "--reason", "x", "--yes"
        )
    assert not ChangeRequest.objects.exists()


def test_apply_config_needs_yes_and_a_reason(imported, admin_user, tmp_path):
    path = tmp_path / "f.yaml"
    path.write_text(_export(imported["sales-etl"]))
    with pytest.raises(CommandError, match="--yes"):
        call_command("apply_config", str(path), "--as", admin_user.username, "--reason", "x")
    with pytest.raises(CommandError, match="--reason"):
        call_command("apply_config", str(path), "--as", admin_user.username, "--yes")


def test_a_file_wants_its_values_even_those_scp_changed_since_the_export(
    imported, admin_user, tmp_path
):
    service = imported["sales-etl"]
    path = tmp_path / "old.yaml"
    path.write_text(_export(service))
    service.config = {**service.config, "description": "changed in SCP since"}
    service.config_revision += 1
    service.save()
    out = io.StringIO()

    call_command("plan_config", str(path), "--as", admin_user.username, stdout=out)

    assert "description:" in out.getvalue() and "changed in SCP since" in out.getvalue()


def test_applying_a_file_the_service_holds_changes_nothing_and_exits_0(
    imported, admin_user, tmp_path
):
    path = tmp_path / "same.yaml"
    path.write_text(_export(imported["sales-etl"]))
    out = io.StringIO()
    call_command(
        "apply_config", str(path), "--as", admin_user.username, "--reason", "x", "--yes", stdout=out
    )
    assert "Nothing to change" in out.getvalue()
    assert not ChangeRequest.objects.exists()
