"""The console's Python text in Korean and in English: forms, statuses, timelines, SCP errors."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import translation

from console.dataflow.forms.host_aliases import host_alias_formset
from console.dataflow.forms.service import ServiceEditForm
from console.dataflow.models import STATUS_MEANINGS, ChangeRequest, Service
from console.dataflow.words.scp_text import scp_error_text
from console.scp import ScpUnavailable
from console.scp.errors import error_from_response
from tests.dataflow.forms.test_forms import CONFIG, OFFERED
from tests.dataflow.helpers import raise_memory, submit_edit, wait_until_final
from tests.dataflow.pages import edit_data
from tests.notify_servers import catalogue_compile

HANGUL = re.compile(r"[\uac00-\ud7a3]")
APP_CATALOGUE = (
    Path(__file__).resolve().parents[3] / "console/dataflow/locale/ko/LC_MESSAGES/django.po"
)
Status = ChangeRequest.Status
REJECTED_KO = "SCP가 전송한 값을 거부했습니다. 값을 고친 뒤 다시 시도하세요."


@pytest.fixture(autouse=True)
def _compiled() -> None:
    catalogue_compile()


@pytest.fixture
def service(db) -> Service:
    return Service.objects.create(
        scp_id="97ff18b6f6ac2a24966f313464a60728",
        name="sales-etl",
        config=CONFIG,
        offered_versions=OFFERED,
    )


def form_messages(service: Service, language: str, **fields) -> str:
    """Every error of the edit form posted with `fields`, rendered in `language`."""
    data = edit_data(service, **fields)
    with translation.override(language):
        form = ServiceEditForm(data, service=service)
        formset = host_alias_formset(data=data, held=service.config)
        messages = [str(e) for errors in form.errors.values() for e in errors]
        for row in formset.errors:
            messages += [str(e) for errors in row.values() for e in errors]
    return " | ".join(messages)


# --- forms -------------------------------------------------------------------------------


def test_a_bad_domain_is_refused_in_korean_naming_the_value(service):
    text = form_messages(service, "ko", domain="Sales_01")

    assert "소문자, 숫자, '-'로 3~50자를 사용하세요" in text
    assert "'Sales_01'" in text


def test_an_ip_with_a_zone_id_is_refused_in_korean(service):
    aliases = [{"hostname": "db.internal.example", "ip": "fe80::1%eth0"}]

    text = form_messages(service, "ko", aliases=aliases)

    assert "영역 ID" in text and "%eth0" in text and "'fe80::1%eth0'" in text


def test_an_even_zookeeper_replica_count_is_refused_in_korean(service):
    text = form_messages(service, "ko", zookeeper_replica="4")

    assert "ZooKeeper는 쿼럼을 위해 복제본 수가 홀수(1, 3, 5 …)여야 합니다. 입력값: 4." in text


def test_the_same_form_errors_stay_english_in_english(service):
    text = " | ".join(
        (
            form_messages(service, "en", domain="Sales_01"),
            form_messages(service, "en", zookeeper_replica="4"),
            form_messages(service, "en", aliases=[{"hostname": "db.x", "ip": "fe80::1%eth0"}]),
        )
    )

    assert "Use 3 to 50 lower-case letters" in text
    assert "ZooKeeper needs an odd number of replicas for a quorum (1, 3, 5 …); got 4." in text
    assert "SCP and Kubernetes refuse zone ids such as %eth0" in text
    assert not HANGUL.search(text)


def test_form_labels_and_help_follow_the_language(service):
    with translation.override("ko"):
        form = ServiceEditForm(service=service)
        korean = [str(form.fields[n].label) for n in ("node_selector", "zookeeper_replica")]
    with translation.override("en"):
        english = [str(form.fields["node_selector"].label)]

    assert korean == ["노드 셀렉터", "ZooKeeper 복제본"]
    assert english == ["Node selector"]


# --- statuses ----------------------------------------------------------------------------


def test_every_status_and_its_meaning_read_in_korean():
    with translation.override("ko"):
        labels = {value: str(label) for value, label in Status.choices}
        meanings = {value: str(meaning) for value, meaning in STATUS_MEANINGS.items()}

    assert all(HANGUL.search(text) for text in [*labels.values(), *meanings.values()])
    assert labels[Status.AWAITING_APPROVAL] == "승인 대기"  # the templates' catalogue's word
    assert labels[Status.REJECTED] == "반려됨"
    assert meanings[Status.REJECTED].startswith("승인자가 반려했습니다.")


def test_statuses_stay_english_in_english():
    with translation.override("en"):
        labels = {value: str(label) for value, label in Status.choices}
        meaning = str(STATUS_MEANINGS[Status.QUEUED])

    assert labels[Status.DIFFERENT] == "Applied with differences"
    assert meaning == "Waiting for a worker to send it to SCP."
    assert not any(HANGUL.search(text) for text in labels.values())


# --- SCP errors --------------------------------------------------------------------------

SCP_400 = json.dumps(
    {
        "code": "ValidationError",
        "message": "nifi.memory must not exceed 262144",
        "global_request_id": "req-0f1e2d3c4b5a",
    }
)


def _rejected():
    return error_from_response(400, SCP_400, by_id=False, method="PUT")


def test_an_scp_error_reads_in_korean_keeping_scps_code_detail_and_request_id():
    error = _rejected()

    with translation.override("ko"):
        text = scp_error_text(error)

    assert text.startswith(REJECTED_KO)
    assert "ValidationError: " in text
    assert error.detail and error.detail.rstrip(".") in text
    assert text.endswith(f"(global_request_id {error.global_request_id})")
    assert error.global_request_id == "req-0f1e2d3c4b5a"


def test_the_same_scp_error_reads_in_english():
    error = _rejected()

    with translation.override("en"):
        text = scp_error_text(error)

    assert text.startswith("SCP rejected the values sent: correct them and try again.")
    assert "ValidationError: " in text and "(global_request_id req-0f1e2d3c4b5a)" in text
    assert not HANGUL.search(text)


def test_a_lost_put_answer_says_the_update_may_have_arrived_in_korean():
    error = ScpUnavailable("SCP did not answer; …", cause="no_answer")

    with translation.override("ko"):
        text = scp_error_text(error)

    assert text.startswith("변경 요청에 대한 SCP의 응답이 유실되었습니다.")


# --- the pipeline through a real worker --------------------------------------------------


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", ["ko", "en"])
def test_a_change_timeline_is_said_in_the_readers_language_whoever_made_it(
    celery_worker, scp, imported, admin_user, language
):
    with translation.override(language):
        change = submit_edit(imported["sales-etl"], admin_user, raise_memory)
    change = wait_until_final(change)

    assert change.status == Status.SUCCEEDED
    assert change.language == ("ko-KR" if language == "ko" else "en-US")  # SCP's language
    stored = {e.status: e.message for e in change.events.all()}
    assert {Status.QUEUED, Status.SUBMITTING, Status.ACCEPTED, Status.SUCCEEDED} <= set(stored)
    # What happened is stored as facts; the English text beside it is for logs.
    assert not any(HANGUL.search(message) for message in stored.values()), stored
    assert all(e.said for e in change.events.all())

    with translation.override("ko"):
        korean = {e.status: e.text for e in change.events.all()}
    assert all(HANGUL.search(text) for text in korean.values()), korean
    assert korean[Status.SUCCEEDED] == "서비스가 요청한 구성 그대로 다시 실행 중입니다."
    assert korean[Status.ACCEPTED].startswith("SCP가 변경 요청을 수락했습니다(202).")
    assert korean[Status.QUEUED] == f"{admin_user.username} 님이 대기열에 넣었습니다."

    with translation.override("en"):
        english = {e.status: e.text for e in change.events.all()}
    assert not any(HANGUL.search(text) for text in english.values()), english
    assert english[Status.SUCCEEDED] == (
        "The service runs again with exactly the requested configuration."
    )
    assert english == stored


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_change_refused_by_scp_is_said_in_korean_to_a_korean_reader_with_scps_own_words(
    celery_worker, scp, imported, admin_user
):
    service = imported["sales-etl"]
    scp.fault(guess_rules=True)  # that a version must be on offer is a guess, off by default

    def unknown_version(config):
        config["workloads"]["nifi"]["version"] = "9.9.9"

    change = submit_edit(service, admin_user, unknown_version)  # an English author
    change = wait_until_final(change)

    assert change.status == Status.FAILED
    assert change.error["code"] == "ValidationError" and change.error["status"] == 400
    assert any("9.9.9" in d for d in change.error["details"])  # SCP's own words, verbatim
    with translation.override("ko"):
        assert change.error_text == REJECTED_KO
        failed = change.events.get(status=Status.FAILED).text
    assert failed.startswith(REJECTED_KO)
    assert f"ValidationError: {change.error['detail'].rstrip('.')}" in failed
    assert failed.endswith(f"(global_request_id {change.error['global_request_id']})")
    with translation.override("en"):
        assert not HANGUL.search(change.error_text)
        assert not HANGUL.search(change.events.get(status=Status.FAILED).text)


# --- management commands -----------------------------------------------------------------


def check_scp() -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("check_scp", stdout=out)
    except SystemExit as exc:
        return int(exc.code or 0), out.getvalue()
    return 0, out.getvalue()


@pytest.mark.django_db
def test_check_scp_speaks_korean_under_a_korean_language_code(default_on_local, settings):
    settings.SCP_SECRET_KEY = "not-the-secret"
    settings.LANGUAGE_CODE = "ko"
    translation.deactivate()  # nothing active: the command speaks LANGUAGE_CODE
    try:
        status, out = check_scp()
    finally:
        translation.deactivate()

    assert status == 1
    assert out == (
        f"default  {default_on_local.url}  실패  키가 거부됨: signature mismatch (HmacValidFail)\n"
    )


@pytest.mark.django_db
def test_check_scp_names_a_deprecated_version_in_korean(default_on_local):
    with translation.override("ko"):
        status, out = check_scp()

    assert status == 0
    assert f"default  {default_on_local.url}  경고  엔드포인트 응답함 · 키 서명 정상 · " in out
    assert "data-flow 1.0 DEPRECATED, 마지막 지원일 2027-01-31, 58일 남음 " in out
    assert "(현재: data-flow 1.1)" in out


@pytest.mark.django_db
def test_check_scp_stays_english_in_english(default_on_local):
    with translation.override("en"):
        status, out = check_scp()

    assert status == 0
    assert "WARNING  endpoint answers · keys sign correctly · data-flow 1.0 DEPRECATED" in out


# --- the catalogue -----------------------------------------------------------------------


def test_the_app_catalogue_is_complete_and_has_no_fuzzy_entry():
    text = APP_CATALOGUE.read_text(encoding="utf-8")
    entries = text.split("\n\n")[1:]

    assert "#, fuzzy" not in text
    empty = [e for e in entries if re.search(r'^msgstr(\[0\])? ""\n?$', e.strip(), re.M)]
    # A msgstr "" followed by continuation lines is a long translation, not an empty one.
    empty = [e for e in empty if not re.search(r'^msgstr(\[0\])? ""\n"', e, re.M)]
    assert not empty, empty[:3]
    assert len(entries) > 400
