"""Every page in Korean shows no English UI text, and in English no Korean, data aside.

One set of rows makes every section of every page show (changes in each final status, an
approval waiting, fleet changes, revisions, watches, a connection check); it is made while the
language under test is active, so stored text (timeline events) is in that language too. The
check reads what a person reads: the visible text and the title/aria-label/placeholder/alt
attributes, without the values that are data (names, ids, hosts, numbers, codes, the console's
monospaced values) and without the words SCP itself keeps in English.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import timedelta
from zoneinfo import available_timezones

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from console.dataflow.changes.approve import change_approve, change_reject
from console.dataflow.changes.lifecycle import change_move
from console.dataflow.connections.scpcheck import connections_check
from console.dataflow.fleet.actions import fleet_submit
from console.dataflow.fleet.plan import FleetEdit, fleet_preview
from console.dataflow.fleet.waves import fleet_advance
from console.dataflow.models import (
    ChangeAttempt,
    ChangeRequest,
    ConfigRevision,
    Service,
    Watch,
)
from tests.dataflow.helpers import add_alias, raise_memory, submit_edit
from tests.dataflow.pages import edit_data
from tests.notify_servers import catalogue_compile

pytestmark = pytest.mark.django_db
Status = ChangeRequest.Status

# Words SCP's Korean console and documentation keep in English, and units and codes.
KEPT_IN_ENGLISH = [
    "NiFi Registry",
    "NiFi",
    "ZooKeeper",
    "Data Flow",
    "OpenAPI",
    "Kubernetes",
    "Django",
    "Axes \u203a Access attempts",  # Django admin's menu, in English
    "global_request_id",
    "SCP",
    "CPU",
    "vCPU",
    "MiB",
    "GiB",
    "HTTP",
    "CSV",
    "JSON",
    "URL",
    "API",
    "PUT",
    "GET",
    "UTC",
    "KST",
    "hosts",  # the /etc/hosts file's name, as in "hosts 파일"
    # SCP's service states, shown as SCP reports them.
    "RUNNING",
    "UPDATING",
    "EDITING",
    "CREATING",
    "STARTING",
    "RESTARTING",
    "STOPPING",
    "STOPPED",
    "TERMINATING",
    "DELETING",
    "ERROR",
    "ACTIVE",
    # SCP's API version statuses, shown as SCP's version list names them.
    "CURRENT",
    "SUPPORTED",
    "DEPRECATED",
    # The language switch names each language in that language.
    "English",
]
HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]")
ENGLISH_WORD = re.compile(r"[A-Za-z]{3,}")
# Elements whose content is data or code, not words of the console: hosts files, JSON answers,
# code names, and every value the console sets in its monospaced style.
DATA_ELEMENTS = re.compile(
    r"<(pre|code|script|style)\b[^>]*>.*?</\1>"
    r"|<(span|td|div|dd)\b[^>]*class=\"[^\"]*\bmono\b[^\"]*\"[^>]*>[^<]*</\2>",
    re.S,
)
ATTRIBUTES = re.compile(r'\b(?:title|aria-label|placeholder|alt)="([^"]*)"')
TAG = re.compile(r"<[^>]+>")
# A token holding a digit or the punctuation of ids, hosts, versions, dates and addresses.
DATA_TOKEN = re.compile(r"\S*[0-9_./:@=#%&?\\-]\S*")


@dataclass
class World:
    """The rows behind the pages, the pages to read, and the data values to leave aside."""

    pages: list[tuple[str, str, Client]] = field(default_factory=list)
    data: set[str] = field(default_factory=set)


def reader(html_text: str) -> str:
    """What a person reads on the page: visible text plus the attributes a browser shows."""
    body = DATA_ELEMENTS.sub(" ", html_text)
    attributes = " ".join(ATTRIBUTES.findall(body))
    text = TAG.sub(" ", body)
    return " ".join(html.unescape(f"{text} {attributes}").split())


def without_data(text: str, data: set[str]) -> str:
    """The text without data values, kept-English terms and tokens that are ids or numbers."""
    for value in sorted(data, key=len, reverse=True):
        if value and len(value) > 1:
            text = re.sub(rf"(?<!\w){re.escape(value)}(?!\w)", " ", text)
    for term in KEPT_IN_ENGLISH:
        text = re.sub(rf"(?<![A-Za-z]){re.escape(term)}(?![A-Za-z])", " ", text)
    return " ".join(DATA_TOKEN.sub(" ", text).split())


def _client(user=None, language: str = "ko") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    if user is not None:
        client.force_login(user)
    return client


def _finish(change: ChangeRequest, to: str, **fields) -> ChangeRequest:
    """Walk a queued change to `to`, as the pipeline would, with its stored messages."""
    change_move(change.pk, frm=Status.QUEUED, to=Status.SUBMITTING, message="t")
    change_move(change.pk, frm=Status.SUBMITTING, to=Status.ACCEPTED, message="t")
    if to != Status.ACCEPTED:
        change_move(change.pk, frm=Status.ACCEPTED, to=to, message="t", **fields)
    change.refresh_from_db()
    return change


def _world(language, imported, admin_user, lead_user, support_user, settings, monkeypatch):
    """Rows that make every section show, made while `language` is active."""
    for module in ("actions", "waves"):
        monkeypatch.setattr(
            f"console.dataflow.fleet.{module}.fleet_advance_dispatch", lambda pk: None
        )
    world = World()
    services = list(Service.objects.order_by("name"))
    for s in services:
        config = s.config
        world.data |= {
            s.name,
            s.scp_id,
            s.cluster_name,
            s.data_flow_name,
            s.namespace_name,
            config.get("description") or "",
            config.get("account_id") or "",
            config.get("domain") or "",
            config.get("node_selector") or "",
        }
        world.data |= {a["hostname"] for a in config.get("host_aliases", [])}
    for person in (admin_user, lead_user, support_user):
        world.data |= {person.username, person.get_full_name(), person.first_name}
    reason, ticket, comment = "PLAN-1", "OPS-42", "LGTM-1"
    world.data |= {reason, ticket, comment}
    sales, others = imported["sales-etl"], [s for s in services if s.name != "sales-etl"]

    with translation.override(language):
        succeeded = _finish(
            submit_edit(sales, admin_user, raise_memory, reason=reason),
            Status.SUCCEEDED,
            scp_answer={"resource_id": sales.scp_id, "state": "UPDATING"},
        )
        ChangeAttempt.objects.create(
            change=succeeded,
            number=1,
            put_sent=True,
            outcome=ChangeAttempt.Outcome.ACCEPTED,
            http_status=202,
            global_request_id="req-0001",
        )
        old = ConfigRevision.objects.filter(service=sales).order_by("revision").last()
        ConfigRevision.objects.create(
            service=sales,
            revision=old.revision + 1,
            config=succeeded.desired_config,
            change=succeeded,
        )
        Service.objects.filter(pk=sales.pk).update(
            config=succeeded.desired_config, config_revision=old.revision + 1
        )
        failed = _finish(
            submit_edit(others[0], admin_user, add_alias, reason=reason),
            Status.FAILED,
            error={
                "code": "ValidationError",
                "status": 400,
                "message": "PLAN-1",
                "details": ["PLAN-1"],
                "global_request_id": "req-0002",
            },
        )
        different = _finish(
            submit_edit(others[1], admin_user, raise_memory, reason=reason),
            Status.DIFFERENT,
        )
        ChangeRequest.objects.filter(pk=different.pk).update(differences=different.diff)
        stuck = _finish(
            submit_edit(others[2], admin_user, add_alias, reason=reason), Status.ACCEPTED
        )
        ChangeRequest.objects.filter(pk=stuck.pk).update(
            accepted_at=timezone.now() - timedelta(hours=2)
        )
        # Four eyes: one change waits for the lead, one was rejected, one approved.
        settings.SCP_NEEDS_APPROVAL = True
        waiting = submit_edit(others[3], admin_user, add_alias, reason=reason)
        rejected = submit_edit(sales, admin_user, add_alias, reason=reason)
        change_reject(change=rejected, by=lead_user, comment=comment)
        edit = FleetEdit(action="add_lines", lines=(("fleet-new.internal", "10.9.9.9"),))
        waiting_fleet = fleet_submit(
            preview=fleet_preview(services=services, edit=edit),
            author=admin_user,
            ticket=ticket,
            reason=reason,
            wave_size=2,
        )
        settings.SCP_NEEDS_APPROVAL = False
        running_fleet = fleet_submit(
            preview=fleet_preview(services=services, edit=edit),
            author=support_user,
            ticket=ticket,
            reason=reason,
            wave_size=2,
        )
        fleet_advance(fleet_id=running_fleet.pk)
        approved = submit_edit(others[0], admin_user, raise_memory, reason=reason)
        if approved.status == Status.AWAITING_APPROVAL:
            change_approve(change=approved, by=lead_user, comment=comment)
        connections_check(names=["default"])
    Watch.objects.create(user=admin_user, service=sales)
    world.data |= {"fleet-new.internal", "10.9.9.9", "req-0001", "req-0002", "default"}
    # Time zone names (IANA) are data: the preferences list every one.
    world.data |= {zone for zone in available_timezones() if "/" not in zone}

    admin, lead, support = (
        _client(admin_user, language),
        _client(lead_user, language),
        _client(support_user, language),
    )
    # The review page needs an edit draft in the session.
    review = admin.post(
        reverse("dataflow:service-edit", args=[sales.pk]),
        edit_data(
            sales, description="PLAN-1", aliases=[{"hostname": "x.internal", "ip": "10.1.1.1"}]
        ),
    )
    assert review.status_code == 302, review.content.decode()[:2000]
    world.data |= {"x.internal"}
    # A fleet preview: the form posted with the preview button.
    fleet_form = {
        "action": "add_lines",
        "lines": "10.9.9.8 preview.internal",
        "wave_size": "2",
        "preview": "",
    }
    world.data |= {"preview.internal"}

    pk = sales.pk
    world.pages = [
        ("sign-in", reverse("login"), _client(None, language)),
        ("service-list", reverse("dataflow:service-list"), admin),
        ("service-list-empty", reverse("dataflow:service-list") + "?q=zzzz", admin),
        ("service-detail", reverse("dataflow:service-detail", args=[pk]), admin),
        ("service-detail-busy", reverse("dataflow:service-detail", args=[others[2].pk]), admin),
        ("service-edit", reverse("dataflow:service-edit", args=[pk]), admin),
        ("service-host-aliases", reverse("dataflow:service-host-aliases", args=[pk]), support),
        ("change-review", review["Location"], admin),
        ("change-succeeded", reverse("dataflow:change-detail", args=[succeeded.pk]), admin),
        ("change-failed", reverse("dataflow:change-detail", args=[failed.pk]), admin),
        ("change-different", reverse("dataflow:change-detail", args=[different.pk]), admin),
        ("change-stuck", reverse("dataflow:change-detail", args=[stuck.pk]), admin),
        ("change-waiting", reverse("dataflow:change-detail", args=[waiting.pk]), admin),
        ("change-rejected", reverse("dataflow:change-detail", args=[rejected.pk]), admin),
        ("change-approved", reverse("dataflow:change-detail", args=[approved.pk]), admin),
        ("change-abandon", reverse("dataflow:change-abandon", args=[stuck.pk]), admin),
        ("history", reverse("dataflow:history"), admin),
        ("history-empty", reverse("dataflow:history") + "?q=zzzz", admin),
        ("service-revisions", reverse("dataflow:service-revisions", args=[pk]), admin),
        ("service-compare", reverse("dataflow:service-compare", args=[pk]), admin),
        ("preferences", reverse("dataflow:preferences"), admin),
        ("fleet-list", reverse("dataflow:fleet-list"), admin),
        ("fleet-new", reverse("dataflow:fleet-new"), support),
        ("fleet-detail-waiting", reverse("dataflow:fleet-detail", args=[waiting_fleet.pk]), lead),
        ("fleet-detail-running", reverse("dataflow:fleet-detail", args=[running_fleet.pk]), admin),
        ("approvals", reverse("dataflow:approvals"), lead),
        ("change-decide", reverse("dataflow:change-decide", args=[waiting.pk]), lead),
        ("me", reverse("dataflow:me"), admin),
        ("me-empty", reverse("dataflow:me"), lead),
        ("connections", reverse("dataflow:connections"), admin),
        ("not-found", "/services/999999/", admin),
        ("not-allowed", reverse("dataflow:service-edit", args=[pk]), support),
        ("fleet-preview", (reverse("dataflow:fleet-new"), fleet_form), support),
    ]
    return world


def _read(world: World) -> dict[str, str]:
    """Every page's readable text, data aside."""
    texts = {}
    for name, target, client in world.pages:
        response = client.post(*target) if isinstance(target, tuple) else client.get(target)
        assert response.status_code in (200, 403, 404), (name, response.status_code)
        texts[name] = without_data(reader(response.content.decode()), world.data)
    return texts


@pytest.fixture
def korean(db):
    catalogue_compile()


def test_every_page_in_korean_has_no_english_ui_text_left(
    korean, imported, admin_user, lead_user, support_user, settings, monkeypatch
):
    world = _world("ko", imported, admin_user, lead_user, support_user, settings, monkeypatch)
    leftovers = {}
    for name, text in _read(world).items():
        assert HANGUL.search(text), f"{name} shows no Korean at all"
        words = ENGLISH_WORD.findall(text)
        if words:
            # The sentences, so a reader finds the string to translate.
            leftovers[name] = sorted(
                {
                    m.group(0).strip()
                    for m in re.finditer(r"[^\uac00-\ud7a3]*[A-Za-z]{3,}[^\uac00-\ud7a3]*", text)
                }
            )
    assert not leftovers, "English left on Korean pages:\n" + "\n".join(
        f"{name}: {chunks}" for name, chunks in leftovers.items()
    )


def test_every_page_in_english_has_no_korean(
    imported, admin_user, lead_user, support_user, settings, monkeypatch
):
    world = _world("en", imported, admin_user, lead_user, support_user, settings, monkeypatch)
    world.data.add("한국어")  # the language switch names Korean in Korean
    korean_left = {
        name: HANGUL.findall(text) for name, text in _read(world).items() if HANGUL.search(text)
    }
    assert not korean_left, korean_left


def test_the_reader_leaves_data_and_kept_terms_aside():
    page = (
        '<h1 title="Edit">서비스 <span class="mono">nifi-1.27.1</span></h1>'
        "<pre>10.0.0.5 db.corp.internal</pre><p>sales-etl NiFi CPU 2 GiB RUNNING</p>"
    )
    assert without_data(reader(page), {"sales-etl"}) == "서비스 Edit"


def test_the_shipped_compiled_catalogues_match_their_sources(tmp_path):
    """The .mo files are tracked (a deployment needs no GNU gettext): each must be what msgfmt
    makes of its .po today, message for message."""
    import gettext
    import shutil
    import subprocess
    from pathlib import Path

    msgfmt = shutil.which("msgfmt")
    assert msgfmt, "GNU gettext's msgfmt is needed to check the catalogues (make test installs it)"
    root = Path(__file__).resolve().parent.parent
    sources = [root / "locale", root / "console" / "dataflow" / "locale"]
    for po in (path for folder in sources for path in folder.rglob("django.po")):
        fresh = tmp_path / f"{po.parent.parent.parent.parent.name}.mo"
        subprocess.run([msgfmt, "--check", "-o", str(fresh), str(po)], check=True)
        shipped = po.with_suffix(".mo")
        assert shipped.exists(), f"{shipped} is missing: run make compilemessages"
        with fresh.open("rb") as made, shipped.open("rb") as kept:
            expected = gettext.GNUTranslations(made)._catalog
            actual = gettext.GNUTranslations(kept)._catalog
        assert actual == expected, f"{shipped} is older than {po.name}: run make compilemessages"
