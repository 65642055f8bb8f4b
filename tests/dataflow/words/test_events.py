"""Events stored as facts and said in the reader's language (console.dataflow.words.events)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import translation

from console.dataflow.changes.submit import change_cancel
from console.dataflow.models import ChangeEvent, ChangeRequest
from console.dataflow.words.events import said, said_english, said_join, said_n, said_text
from tests.conftest import PASSWORD
from tests.dataflow.helpers import raise_memory, submit_edit

Status = ChangeRequest.Status


def test_a_sentence_is_said_in_the_active_language_with_nested_parts_and_plurals():
    sentence = said_join(
        said("Cancelled by %(name)s.", name="alice"),
        said(
            "Gave up waiting: SCP stopped answering (%(error)s).",
            error=said("SCP did not answer in time: try again in a few minutes."),
        ),
    )
    with translation.override("ko"):
        korean = said_text(sentence)
    assert korean.startswith("alice 님이 취소했습니다. ")
    assert "SCP가" in korean and "(" in korean
    assert said_english(sentence) == (
        "Cancelled by alice. Gave up waiting: SCP stopped answering (SCP did not answer in time: "
        "try again in a few minutes.)."
    )
    worker_lost = said_n(
        "The worker stopped while sending, %(count)d time; nothing was sent.",
        "The worker stopped while sending, %(count)d times; nothing was sent.",
        "count",
        count=2,
    )
    assert (
        said_english(worker_lost) == "The worker stopped while sending, 2 times; nothing was sent."
    )
    with translation.override("ko"):
        assert "2" in said_text(worker_lost) and said_text(worker_lost) != said_english(worker_lost)


def test_plain_text_and_unknown_templates_are_shown_as_they_are():
    assert said_text("stored before events were facts") == "stored before events were facts"
    assert said_text(None) == ""
    # A template no catalogue knows (a wording changed since) is still said, in English.
    with translation.override("ko"):
        assert said_text(said("No such sentence %(n)s.", n=3)) == "No such sentence 3."
    # Parameters that do not fit the template never break a page.
    assert said_text(said("Cancelled by %(name)s.")) == "Cancelled by %(name)s."


@pytest.mark.django_db
def test_a_korean_lead_reads_an_english_admins_timeline_in_korean(
    scp, imported, admin_user, lead_user
):
    with translation.override("en"):
        change = submit_edit(imported["sales-etl"], admin_user, raise_memory)
        assert change_cancel(change=change, by=admin_user)
    stored = list(change.events.values_list("message", flat=True))
    assert stored == ["Queued by alice.", "Cancelled by alice."]

    lead = Client(headers={"accept-language": "ko"})
    lead.post("/accounts/login/", {"username": "leo", "password": PASSWORD})
    page = lead.get(f"/changes/{change.pk}/").content.decode()
    assert "alice 님이 대기열에 넣었습니다." in page
    assert "alice 님이 취소했습니다." in page
    assert "Queued by alice." not in page

    admin = Client(headers={"accept-language": "en"})
    admin.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    page = admin.get(f"/changes/{change.pk}/").content.decode()
    assert "Queued by alice." in page and "Cancelled by alice." in page


@pytest.mark.django_db
def test_an_event_from_before_events_were_facts_is_shown_as_stored(
    scp, imported, admin_user, lead_user
):
    change = submit_edit(imported["sales-etl"], admin_user, raise_memory)
    ChangeEvent.objects.filter(change=change).update(said=None, message="support 님이 확정했습니다")
    lead = Client(headers={"accept-language": "en"})
    lead.post("/accounts/login/", {"username": "leo", "password": PASSWORD})
    assert "support 님이 확정했습니다" in lead.get(f"/changes/{change.pk}/").content.decode()


def test_a_precheck_verdict_is_stored_as_facts_and_read_in_the_readers_language():
    from django.utils import translation

    from console.dataflow.changes.plan import Precheck
    from console.dataflow.templatetags.console_tags import in_words
    from console.dataflow.words.events import said

    with translation.override("en"):
        stored = Precheck(
            True, True, said("SCP's pre-check confirms the cluster can take these workloads.")
        ).to_dict()
    assert stored["message"] == "SCP's pre-check confirms the cluster can take these workloads."
    with translation.override("ko"):
        korean = in_words(stored)
    assert korean and "SCP's pre-check" not in korean
    # A verdict stored as text before the facts were is shown as it was stored.
    assert in_words({"message": "as stored"}) == "as stored"
