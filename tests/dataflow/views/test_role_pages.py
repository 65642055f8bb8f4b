"""The README's table of pages by role, the server's checks and the navigation are one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client

from console.dataflow.fleet.lifecycle import fleet_create
from tests.dataflow.helpers import raise_memory, submit_edit

README = Path(__file__).resolve().parents[3] / "README.md"
ROLES = ("Admins", "Team leads", "Support", "no role")
# The navigation's link for a page, where it has one.
NAV = {
    "Services": "nav-services",
    "Change history": "nav-history",
    "Fleet changes": "nav-fleet",
    "Approvals": "nav-approvals",
    "SCP connections": "nav-connections",
    "My watches": "nav-me",
    "Preferences": "nav-preferences",
}


def readme_pages() -> dict[str, tuple[str, dict[str, bool]]]:
    """{page: (address, {role: may open})} from the README's table."""
    text = README.read_text()
    header = "| page | address | " + " | ".join(ROLES) + " |"
    rows = text[text.index(header) :].split("\n\n", 1)[0].splitlines()[2:]
    table = {}
    for row in rows:
        page, address, *cells = (cell.strip() for cell in row.strip("|").split("|"))
        table[page] = (address.strip("`"), dict(zip(ROLES, [c == "✓" for c in cells], strict=True)))
    return table


def test_the_readme_table_is_read():
    table = readme_pages()
    assert len(table) >= 16
    assert table["Edit a service"] == (
        "/services/<id>/edit/",
        {"Admins": True, "Team leads": False, "Support": False, "no role": False},
    )


@pytest.fixture
def people(admin_user, lead_user, support_user, outsider):
    return dict(zip(ROLES, (admin_user, lead_user, support_user, outsider), strict=True))


def test_every_page_opens_for_exactly_the_roles_the_readme_names(imported, people):
    service = imported["sales-etl"]
    change = submit_edit(service, people["Admins"], raise_memory)
    fleet = fleet_create(
        status="awaiting_approval",
        message="Created",
        author_name="Admin",
        edit={"action": "remove_host", "hostname": "kafka-1.internal"},
        edit_summary="Remove kafka-1.internal",
        ticket="OPS-1",
        reason="Broker retired",
    )
    ids = {"services": service.pk, "changes": change.pk, "fleet": fleet.pk}
    differences = []
    for page, (address, allowed) in readme_pages().items():
        path = re.sub(r"/(\w+)/<id>/", lambda m: f"/{m[1]}/{ids[m[1]]}/", address)
        for role, person in people.items():
            client = Client()
            client.force_login(person)
            status = client.get(path).status_code
            if status != (200 if allowed[role] else 403):
                differences.append(f"{role} {page} {path}: {status}")
    assert differences == []


def test_the_navigation_links_exactly_the_pages_a_role_opens(people):
    table = readme_pages()
    for role, person in people.items():
        client = Client()
        client.force_login(person)
        html = client.get("/me/").content.decode()
        linked = {page for page, test_id in NAV.items() if f'data-testid="{test_id}"' in html}
        assert linked == {page for page in NAV if table[page][1][role]}, role
