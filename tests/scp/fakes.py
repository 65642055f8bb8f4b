"""A stand-in for requests.Session that records prepared requests and replays canned answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import requests

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> Any:
    """A JSON example of SCP's, as copied from the API reference."""
    return json.loads((FIXTURES / name).read_text())


def fixture_text(name: str) -> str:
    """A JSON example of SCP's as the raw text SCP would send."""
    return (FIXTURES / name).read_text()


def response(status: int, body: Any = None, *, text: str | None = None) -> requests.Response:
    """A response with this status and a JSON body (or this exact text)."""
    answer = requests.Response()
    answer.status_code = status
    payload = text if text is not None else ("" if body is None else json.dumps(body))
    answer._content = payload.encode()
    answer.encoding = "utf-8"
    answer.headers["Content-Type"] = "application/json"
    return answer


class FakeSession(requests.Session):
    """Answers `send` from a queue of responses or exceptions; keeps what was sent."""

    def __init__(self, *answers: requests.Response | Exception) -> None:
        super().__init__()
        self.trust_env = False
        self.answers = list(answers)
        self.sent: list[requests.PreparedRequest] = []
        self.send_kwargs: list[dict[str, Any]] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        """Record the request and hand back the next canned answer."""
        self.sent.append(request)
        self.send_kwargs.append(kwargs)
        if not self.answers:
            raise AssertionError("the client sent more requests than the test expected")
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        answer.request = request
        answer.url = request.url or ""
        return answer


class Clock:
    """A clock that moves forward by `step` seconds each time it is read."""

    def __init__(self, start: float = 1605290625.682, step: float = 0.0) -> None:
        self.now = start
        self.step = step

    def __call__(self) -> float:
        """The current fake time in seconds."""
        value = self.now
        self.now += self.step
        return value


class Sleeps(list):
    """Records the delays the client asked to sleep, without sleeping."""

    def __call__(self, seconds: float) -> None:
        """Note the delay."""
        self.append(seconds)


def full_detail(**overrides: Any) -> dict[str, Any]:
    """A detail answer with every field filled, in the quirky forms SCP uses."""
    detail = {
        "account": {"account_id": "nifiadmin", "account_password": "S3cret!pass"},
        "account_id": "nifiadmin",
        "cluster_id": "cluster-01",
        "cluster_name": "dataflow-prod",
        "cluster_permission": {},
        "cluster_request_failed": "false",
        "created_dt": "2026-02-11T06:41:25.347Z",
        "data_flow_id": "df-1",
        "data_flow_name": "Apache NiFi",
        "data_flow_service_id": "dfs-0001",
        "data_flow_service_name": "orders",
        "description": "order pipeline",
        "domain": "orders",
        "host_alias": {
            "enabled": "true",
            "host_alias_list": [
                {"hostname": "db.internal", "ip": "10.0.0.5"},
                {"hostname": "cache.internal", "ip": "10.0.0.6"},
            ],
        },
        "host_file_registry": "",
        "hosts_file": "10.0.0.5 db.internal",
        "http_port": "8080",
        "https_port": 8443,
        "namespace_name": "ns-orders",
        "node_selector": "pool=dataflow",
        "service_workload": {
            "nifi": {"cpu": " 2000 ", "memory": 4096, "replica": "2", "version": "1.27.1"},
            "nifi_registry": {"cpu": 500, "memory": "1024", "replica": 1, "version": "1.27.1"},
            "zookeeper": {"cpu": "1000", "memory": "2048", "replica": "3", "version": "3.9.2"},
        },
        "state": "Running",
        "version": "1.27.1",
        "web_url_nifi": "https://nifi.example",
        "web_url_registry": "https://registry.example",
        "brand_new_field": {"ignored": True},
    }
    detail.update(overrides)
    return detail
