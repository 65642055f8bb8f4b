"""Support's host alias page: a pasted hosts file, its preview, and nothing but host aliases."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from console.dataflow.changes.hostsfile import hosts_parse, hosts_render, hosts_text
from console.dataflow.changes.plan import change_plan
from console.dataflow.changes.submit import ChangeRefused, change_submit
from console.dataflow.models import ChangeRequest
from console.scp import HostAlias, ServiceConfig

Status = ChangeRequest.Status


def test_hosts_lines_parse_with_comments_blank_lines_and_several_names():
    text = (
        "# our databases\n10.0.0.5  db.internal db-ro.internal\n\n2001:db8::1 v6.internal # ipv6\n"
    )
    assert hosts_parse(text) == (
        HostAlias("db.internal", "10.0.0.5"),
        HostAlias("db-ro.internal", "10.0.0.5"),
        HostAlias("v6.internal", "2001:db8::1"),
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("10.0.0.300 db.internal", "Line 1: '10.0.0.300' is not an IPv4 or IPv6 address."),
        ("10.0.0.5", "Line 1: write at least one host name after 10.0.0.5."),
        ("10.0.0.5 DB.internal", "use lower case only"),
        ("10.0.0.5 *.internal", "wildcards are not allowed"),
        ("10.0.0.5 db.internal.", "remove the trailing dot"),
        ("10.0.0.5 db.internal\n10.0.0.6 db.internal", "Line 2: 'db.internal' already points at"),
        ("\n".join(f"10.0.1.{i} h{i}.internal" for i in range(21)), "at most 20 host aliases"),
    ],
)
def test_each_bad_line_is_named_with_what_is_allowed(text, message):
    with pytest.raises(ValidationError) as caught:
        hosts_parse(text)
    assert any(message in m for m in caught.value.messages), caught.value.messages


def test_render_groups_names_by_ip_like_kubernetes():
    aliases = [
        {"hostname": "a.internal", "ip": "10.0.0.1"},
        {"hostname": "b.internal", "ip": "10.0.0.2"},
        {"hostname": "c.internal", "ip": "10.0.0.1"},
    ]
    assert hosts_render(aliases) == (
        "# Entries added by HostAliases.\n10.0.0.1\ta.internal c.internal\n10.0.0.2\tb.internal\n"
    )
    assert set(hosts_parse(hosts_text(aliases))) == {
        HostAlias(a["hostname"], a["ip"]) for a in aliases
    }
    assert hosts_render([]) == ""


@pytest.mark.django_db
def test_a_host_alias_change_cannot_carry_anything_else(scp, imported, support_user, enqueued):
    service = imported["sales-etl"]
    desired = ServiceConfig.from_dict({**service.config, "domain": "elsewhere"})
    plan = change_plan(
        service=service,
        desired=desired,
        password_changed=False,
        kind=ChangeRequest.Kind.HOST_ALIASES,
    )
    with pytest.raises(ChangeRefused):
        change_submit(plan=plan, author=support_user, reason="sneaky", ticket="SUP-1")
    assert not ChangeRequest.objects.exists()


@pytest.mark.django_db
def test_support_pastes_aliases_previews_and_confirms(
    client, scp, imported, support_user, enqueued
):
    service = imported["sales-etl"]
    client.force_login(support_user)
    page = client.get(f"/services/{service.pk}/host-aliases/")
    assert page.status_code == 200
    assert "10.10.1.21" in page.content.decode()  # the current list, as hosts lines

    hosts = page.context["form"].initial["hosts"] + "10.30.0.9 ldap.corp.internal\n"
    response = client.post(
        f"/services/{service.pk}/host-aliases/",
        {
            "base_revision": service.config_revision,
            "host_alias_enabled": "on",
            "hosts": hosts,
            "ticket": "SUP-1234",
            "reason": "LDAP moved",
        },
        follow=True,
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-field="host_aliases.ldap.corp.internal"' in html
    assert html.count('data-testid="diff-row"') == 1
    assert "10.30.0.9\tldap.corp.internal" in html  # the /etc/hosts preview
    assert "SUP-1234" in html

    confirm = client.post(response.request["PATH_INFO"], {"reason": "LDAP moved"})
    assert confirm.status_code == 302
    change = ChangeRequest.objects.get()
    assert change.kind == ChangeRequest.Kind.HOST_ALIASES
    assert change.ticket == "SUP-1234"
    assert [e["field"] for e in change.diff] == ["host_aliases.ldap.corp.internal"]


@pytest.mark.django_db
def test_a_bad_paste_shows_every_bad_line_and_writes_nothing(client, scp, imported, support_user):
    service = imported["sales-etl"]
    client.force_login(support_user)
    response = client.post(
        f"/services/{service.pk}/host-aliases/",
        {
            "base_revision": service.config_revision,
            "hosts": "10.0.0.1 OK.internal\nnot-an-ip host.internal\n",
            "ticket": "SUP-1",
            "reason": "fix",
        },
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Line 1: Not a valid host name (use lower case only)" in html
    assert "Line 2: &#x27;not-an-ip&#x27; is not an IPv4 or IPv6 address." in html
    assert not ChangeRequest.objects.exists()
    assert not client.session.get("change_drafts")


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["lead_user", "outsider"])
def test_only_support_and_admins_open_the_host_alias_page(client, scp, imported, who, request):
    client.force_login(request.getfixturevalue(who))
    service = imported["sales-etl"]
    assert client.get(f"/services/{service.pk}/host-aliases/").status_code == 403
    response = client.post(
        f"/services/{service.pk}/host-aliases/",
        {"base_revision": service.config_revision, "hosts": "", "ticket": "x", "reason": "y"},
    )
    assert response.status_code == 403
    assert not ChangeRequest.objects.exists()


@pytest.mark.django_db
def test_support_cannot_open_the_full_edit_or_its_review(client, scp, imported, support_user):
    client.force_login(support_user)
    service = imported["sales-etl"]
    assert client.get(f"/services/{service.pk}/edit/").status_code == 403
