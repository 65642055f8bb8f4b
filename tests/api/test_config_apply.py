"""apply_config with a real worker: its exit code says how the change ended."""

from __future__ import annotations

import io

import pytest
import yaml
from django.core.management import call_command

from console.dataflow.models import ApiOrigin, ChangeRequest

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(
    ("outcome", "code", "status"),
    [
        ("succeed", 0, ChangeRequest.Status.SUCCEEDED),
        ("error", 1, ChangeRequest.Status.FAILED),
        ("partial", 2, ChangeRequest.Status.DIFFERENT),
    ],
)
def test_apply_config_exits_with_how_the_change_ended(
    scp, imported, admin_user, worker_process, tmp_path, outcome, code, status
):
    service = imported["sales-etl"]
    scp.fault(service.scp_id, update_outcome=outcome)
    out = io.StringIO()
    call_command("export_config", service.scp_id, stdout=out)
    document = yaml.safe_load(out.getvalue())
    document["config"]["workloads"]["nifi"]["memory"] *= 2
    path = tmp_path / "sales-etl.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))

    printed = io.StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command(
            "apply_config",
            str(path),
            "--as",
            admin_user.username,
            "--reason",
            "from the repository",
            "--yes",
            "--timeout",
            "60",
            stdout=printed,
        )

    assert exited.value.code == code
    change = ChangeRequest.objects.get()
    lines = printed.getvalue().splitlines()
    memory = document["config"]["workloads"]["nifi"]["memory"]
    assert lines[0] == f"workloads.nifi.memory: {memory // 2} → {memory}"
    assert lines.count(f"Change #{change.pk}: {change.get_status_display()}") == 1
    assert change.status == status
    assert ApiOrigin.objects.get(change=change).via == ApiOrigin.Via.FILE
    assert len(scp.applied_puts(service.scp_id)) == 1
