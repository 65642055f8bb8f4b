"""Django admin: SCP connections with a write-only secret key, for superusers only."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from console.dataflow.connections.clients import connection_names, scp_client_for
from console.dataflow.models import ScpConnection
from tests.dataflow.pages import change_row, page_text

pytestmark = pytest.mark.django_db

SECRET = "s3cr3t-Key-0f-the-Batch-Region"
ADD = reverse("admin:dataflow_scpconnection_add")
LIST = reverse("admin:dataflow_scpconnection_changelist")


def change_url(connection: ScpConnection) -> str:
    return reverse("admin:dataflow_scpconnection_change", args=[connection.pk])


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw")


@pytest.fixture
def root(client, superuser):
    client.force_login(superuser)
    return client


def form_data(**changes) -> dict[str, str]:
    data = {
        "name": "batch-west",
        "base_url": "https://data-flow.kr-west1.e.samsungsdscloud.com",
        "access_key": "AK-batch-0001",
        "secret_key": SECRET,
        "api_version": "data-flow 1.0",
        "language": "en-US",
        "enabled": "on",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def connection(root) -> ScpConnection:
    response = root.post(ADD, form_data())
    assert response.status_code == 302, page_text(response)
    return ScpConnection.objects.get(name="batch-west")


def test_a_superuser_creates_a_connection_whose_secret_is_stored_encrypted(root):
    response = root.post(ADD, form_data())

    assert response.status_code == 302
    connection = ScpConnection.objects.get(name="batch-west")
    assert connection.access_key == "AK-batch-0001"
    assert connection.secret_key_encrypted
    assert SECRET not in connection.secret_key_encrypted
    assert connection.get_secret_key() == SECRET
    assert "batch-west" in connection_names()
    assert "secret" not in repr(scp_client_for("batch-west")).lower()


def test_the_change_page_never_shows_the_secret(root, connection):
    html = root.get(change_url(connection)).content.decode()

    assert SECRET not in html
    assert connection.secret_key_encrypted not in html
    tag = re.search(r'<input[^>]*name="secret_key"[^>]*>', html).group(0)
    assert 'type="password"' in tag
    assert "value=" not in tag
    assert "Leave blank to keep the current secret key." in page_text(
        root.get(change_url(connection))
    )


def test_the_list_never_shows_the_secret(root, connection):
    html = root.get(LIST).content.decode()

    assert "batch-west" in html
    assert SECRET not in html
    assert connection.secret_key_encrypted not in html


def test_leaving_the_secret_blank_keeps_it(root, connection):
    stored = connection.secret_key_encrypted

    response = root.post(change_url(connection), form_data(secret_key="", access_key="AK-2"))

    assert response.status_code == 302
    connection.refresh_from_db()
    assert connection.access_key == "AK-2"
    assert connection.secret_key_encrypted == stored
    assert connection.get_secret_key() == SECRET


def test_a_new_secret_replaces_the_old_one(root, connection):
    response = root.post(change_url(connection), form_data(secret_key="a-n3w-secret"))

    assert response.status_code == 302
    connection.refresh_from_db()
    assert connection.get_secret_key() == "a-n3w-secret"


def test_a_new_connection_needs_its_secret(root):
    response = root.post(ADD, form_data(secret_key=""))

    assert response.status_code == 200
    assert "A new connection needs its secret key." in page_text(response)
    assert not ScpConnection.objects.exists()


def test_the_name_default_is_refused(root):
    response = root.post(ADD, form_data(name="default"))

    assert response.status_code == 200
    assert (
        "'default' is defined by the SCP_* environment variables; choose another name."
        in page_text(response)
    )
    assert not ScpConnection.objects.exists()


def test_a_refused_form_does_not_echo_the_typed_secret(root):
    response = root.post(ADD, form_data(name="default"))

    assert SECRET not in response.content.decode()


def test_a_base_url_without_a_scheme_is_taken_as_https(root):
    root.post(ADD, form_data(base_url="data-flow.kr-east1.e.samsungsdscloud.com"))

    connection = ScpConnection.objects.get(name="batch-west")
    assert connection.base_url == "https://data-flow.kr-east1.e.samsungsdscloud.com"


@pytest.fixture
def staff(client, django_user_model):
    """Staff with every permission of the app, but not a superuser."""
    user = django_user_model.objects.create_user("stan", password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="dataflow"))
    client.force_login(user)
    return client


def test_staff_who_are_not_superusers_cannot_see_connections(staff, superuser):
    connection = ScpConnection(
        name="hidden", base_url="https://x.example", access_key="AK", enabled=True
    )
    connection.set_secret_key(SECRET)
    connection.save()
    before = ScpConnection.objects.count()

    index = staff.get(reverse("admin:index"))
    assert index.status_code == 200
    assert "SCP connections" not in page_text(index)
    assert staff.get(LIST).status_code == 403
    assert staff.get(ADD).status_code == 403
    assert staff.get(change_url(connection)).status_code == 403
    assert staff.post(ADD, form_data()).status_code == 403
    assert staff.post(change_url(connection), form_data(name="hidden")).status_code == 403
    delete = reverse("admin:dataflow_scpconnection_delete", args=[connection.pk])
    assert staff.post(delete, {"post": "yes"}).status_code == 403
    assert ScpConnection.objects.count() == before
    connection.refresh_from_db()
    assert connection.get_secret_key() == SECRET


def test_the_admin_view_of_a_change_never_shows_the_encrypted_password(
    root, imported, admin_user, enqueued
):
    from tests.dataflow.helpers import submit_edit

    change = submit_edit(imported["sales-etl"], admin_user, lambda c: None, password="N3w!pw-xx")
    assert change.account_password_encrypted

    response = root.get(reverse("admin:dataflow_changerequest_change", args=[change.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    assert change.account_password_encrypted not in html
    assert "N3w!pw-xx" not in html


def test_changes_and_services_are_read_only_in_the_admin(root, imported, admin_user):
    change = change_row(imported["sales-etl"], admin_user, "succeeded")

    assert root.get(reverse("admin:dataflow_changerequest_add")).status_code == 403
    response = root.post(
        reverse("admin:dataflow_changerequest_delete", args=[change.pk]), {"post": "yes"}
    )
    assert response.status_code == 403
    assert root.get(reverse("admin:dataflow_service_add")).status_code == 403


# --- The webhook URL: its own secret ------------------------------------------------------

HOOK = "https://hooks.slack.com/services/T000/B000/Xy7TokenOfTheHook"


def test_a_webhook_is_stored_encrypted_and_the_change_page_shows_it_masked(root):
    response = root.post(ADD, form_data(webhook_url=HOOK))
    assert response.status_code == 302
    connection = ScpConnection.objects.get(name="batch-west")

    html = root.get(change_url(connection)).content.decode()

    assert connection.get_webhook_url() == HOOK
    assert "Xy7TokenOfTheHook" not in connection.webhook_url_encrypted
    assert "Xy7TokenOfTheHook" not in html and "/services/T000" not in html
    assert "https://hooks.slack.com/•••" in html
    assert 'name="webhook_remove"' in html


def test_a_blank_webhook_keeps_it_a_new_one_replaces_it_and_remove_deletes_it(root):
    root.post(ADD, form_data(webhook_url=HOOK))
    connection = ScpConnection.objects.get(name="batch-west")

    root.post(change_url(connection), form_data(secret_key="", webhook_url=""))
    connection.refresh_from_db()
    assert connection.get_webhook_url() == HOOK

    root.post(change_url(connection), form_data(secret_key="", webhook_url=HOOK + "-2"))
    connection.refresh_from_db()
    assert connection.get_webhook_url() == HOOK + "-2"

    root.post(change_url(connection), form_data(secret_key="", webhook_remove="on"))
    connection.refresh_from_db()
    assert connection.webhook_url_encrypted == ""


def test_a_connection_without_a_webhook_offers_no_remove_box(root, connection):
    html = root.get(change_url(connection)).content.decode()
    assert 'name="webhook_remove"' not in html


@pytest.mark.django_db(transaction=True)
def test_the_migration_encrypts_webhooks_already_stored():
    from django.db import connection as db
    from django.db.migrations.executor import MigrationExecutor

    before, after = (
        [("dataflow", "0013_dispatch_and_beats")],
        [("dataflow", "0014_webhook_encrypted_and_rate_limits")],
    )
    executor = MigrationExecutor(db)
    executor.migrate(before)
    try:
        old = executor.loader.project_state(before).apps.get_model("dataflow", "ScpConnection")
        old.objects.create(name="lab", base_url="https://scp.example.com", webhook_url=HOOK)
        executor = MigrationExecutor(db)
        executor.migrate(after)
    finally:
        MigrationExecutor(db).migrate(MigrationExecutor(db).loader.graph.leaf_nodes())

    row = ScpConnection.objects.get(name="lab")
    assert row.webhook_url_encrypted and HOOK not in row.webhook_url_encrypted
    assert row.get_webhook_url() == HOOK
