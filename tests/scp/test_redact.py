"""Masking of secrets in bodies and texts before they are kept anywhere."""

from __future__ import annotations

import json

from console.scp import redact, redact_text
from console.scp.redact import scrub


def test_redact_masks_every_password_and_secret_key_at_any_depth() -> None:
    body = {
        "account": {"account_id": "nifiadmin", "account_password": "S3cret!pass"},
        "items": [{"client_secret": "abc", "Secret_Key": "xyz", "name": "keep"}],
        "PASSWORD": "upper",
    }
    assert redact(body) == {
        "account": {"account_id": "nifiadmin", "account_password": "***"},
        "items": [{"client_secret": "***", "Secret_Key": "***", "name": "keep"}],
        "PASSWORD": "***",
    }


def test_redact_leaves_empty_secrets_as_they_are() -> None:
    body = {"account_password": "", "secret": None, "password_list": []}
    assert redact(body) == body


def test_redact_masks_a_whole_nested_value_under_a_secret_key() -> None:
    assert redact({"secrets": {"a": "b"}}) == {"secrets": "***"}


def test_redact_returns_a_copy_and_leaves_the_original_alone() -> None:
    body = {"account": {"account_password": "S3cret!pass"}}
    copy = redact(body)
    copy["account"]["extra"] = 1
    assert body == {"account": {"account_password": "S3cret!pass"}}


def test_redact_text_masks_json_and_keeps_it_json() -> None:
    text = json.dumps({"account": {"account_password": "S3cret!pass"}, "name": "한"})
    masked = redact_text(text)
    assert "S3cret" not in masked
    assert json.loads(masked) == {"account": {"account_password": "***"}, "name": "한"}


def test_redact_text_masks_pairs_in_text_that_is_not_json() -> None:
    text = '<html>"account_password": "S3cret!pass", password=hunter22&x=1 secret: abc}</html>'
    masked = redact_text(text)
    assert "S3cret" not in masked
    assert "hunter22" not in masked
    assert "abc" not in masked
    assert "x=1" in masked


def test_scrub_removes_known_secret_values_wherever_they_appear() -> None:
    assert scrub("detail: bad value S3cret!pass", ("S3cret!pass",)) == "detail: bad value ***"
    assert scrub("short a", ("a",)) == "short a"
