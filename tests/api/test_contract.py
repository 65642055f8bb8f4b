"""The API against its own OpenAPI schema: requests generated from it (valid and not) never
get a 500, and every answer the schema describes has the shape it says."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from console.dataflow.people.tokens import token_create

RAW = json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(public=True)))
schema = schemathesis.openapi.from_dict(RAW)
schema.app = WSGIHandler()


@pytest.fixture
def connection_kept() -> Iterator[None]:
    """The app is called as a server would; the test's database connection stays open (as
    Django's test client keeps it)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def bearer(imported, admin_user, connection_kept) -> dict[str, str]:
    # The answers as a client that takes no gzip reads them: the WSGI call here does not
    # decompress (tests/api/test_api.py checks that a gzip-taking client gets the same JSON).
    return {
        "Authorization": f"Bearer {token_create(user=admin_user, name='fuzz', days=1).secret}",
        "Accept-Encoding": "identity",
    }


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_generated_requests_get_no_server_error_and_answers_match_the_schema(case, bearer):
    case.call_and_validate(headers=bearer, checks=[not_a_server_error, response_schema_conformance])
