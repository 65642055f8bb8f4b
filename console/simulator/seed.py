"""Demo data of the simulator: three data flows and five services, with fixed ids."""

from __future__ import annotations

from typing import Any

# Fixed ids so that demos, docs and tests can name them. Ids are opaque strings; these take the
# dashed UUID form of the API reference's examples.
PROD_DATA_FLOW_ID = "726b46e5-973a-4384-a380-f2d89cf833f1"
BATCH_DATA_FLOW_ID = "2a53b997-6fa0-40d1-8d3d-cec5d639711b"
ANALYTICS_DATA_FLOW_ID = "3ef2f21e-82bc-4df3-b4b0-6408454eed37"

SALES_ETL_ID = "97ff18b6-f6ac-4a24-966f-313464a60728"
IOT_INGEST_ID = "a1302f6e-99f4-4732-9f3e-10c5a536f1c1"
FINANCE_BATCH_ID = "ce391202-c7dd-496f-b3de-84a339e27cd6"
LOG_ARCHIVE_ID = "216e50df-30f3-4853-afe0-511bb06f8db9"
ML_FEATURES_ID = "971e4d27-24a8-4550-9b7a-8b41e12e6386"

# NiFi login passwords of the demo accounts: stored by the simulator, never returned by the API.
DEMO_PASSWORDS = {
    "nifiadmin": "Demo!Passw0rd",
    "salesadmin": "Sales#2025etl",
    "iotadmin": "Iot$Ingest2025",
    "finops01": "Fin@nce2025!",
    "archiver": "Arch1ve&Logs",
    "mlfeature": "Feat*Store99",
}

OFFERED_VERSIONS = {"nifi": "1.27.1", "nifiregistry": "1.27.1", "zookeeper": "3.9.2"}


def data_flows() -> list[dict[str, Any]]:
    """Fresh copies of the seeded data flows, each on its own cluster with a fixed capacity."""
    return [
        {
            "data_flow_id": PROD_DATA_FLOW_ID,
            "data_flow_name": "dataflow-prod",
            "cluster_id": "b04f0420-cdc9-4662-95af-ef96c88aa4e9",
            "cluster_name": "k8s-prod-01",
            "versions": dict(OFFERED_VERSIONS),
            "capacity": {"cpu": 48000, "memory": 98304},
        },
        {
            "data_flow_id": BATCH_DATA_FLOW_ID,
            "data_flow_name": "dataflow-batch",
            "cluster_id": "5a1409ba-ec2b-469f-b284-8b18786aedea",
            "cluster_name": "k8s-batch-01",
            "versions": dict(OFFERED_VERSIONS),
            "capacity": {"cpu": 32000, "memory": 65536},
        },
        {
            "data_flow_id": ANALYTICS_DATA_FLOW_ID,
            "data_flow_name": "dataflow-analytics",
            "cluster_id": "ca53bc3e-ed32-4ed0-9740-93718f38f558",
            "cluster_name": "k8s-analytics-01",
            "versions": dict(OFFERED_VERSIONS),
            "capacity": {"cpu": 48000, "memory": 98304},
        },
    ]


def workload(
    nifi: tuple[int, int, int, str],
    registry: tuple[int, int, int, str],
    zookeeper: tuple[int, int, int, str],
) -> dict[str, dict[str, str]]:
    """A `service_workload` from (cpu, memory, replica, version) per component, as strings."""

    def component(values: tuple[int, int, int, str]) -> dict[str, str]:
        """One component's fields as the API's strings."""
        cpu, memory, replica, version = values
        return {"cpu": str(cpu), "memory": str(memory), "replica": str(replica), "version": version}

    return {
        "nifi": component(nifi),
        "nifi_registry": component(registry),
        "zookeeper": component(zookeeper),
    }


def service_record(
    *,
    service_id: str,
    name: str,
    data_flow_id: str,
    versions: dict[str, str],
    created_dt: str,
    created_by: str = "demo.admin",
) -> dict[str, Any]:
    """A RUNNING service with modest defaults on `data_flow_id`, running the offered `versions`."""
    return {
        "data_flow_service_id": service_id,
        "data_flow_service_name": name,
        "data_flow_id": data_flow_id,
        "state": "RUNNING",
        "created_by": created_by,
        "created_dt": created_dt,
        "modified_dt": created_dt,
        "cluster_request_failed": False,
        "namespace_name": f"dfs-{name}",
        "storage_class_name": "nfs-client",
        "ingress_class_name": "nginx",
        "image_id": f"dataflow-nifi-{versions['nifi']}",
        "instance_id": service_id[::-1],
        "http_port": 8080,
        "https_port": 8443,
        "config": {
            "account_id": "nifiadmin",
            "account_password": DEMO_PASSWORDS["nifiadmin"],
            "description": "",
            "domain": "dataflow",
            "node_selector": "nodepool=dataflow",
            "host_alias": {"enabled": "false", "host_alias_list": []},
            "service_workload": workload(
                (2000, 4096, 1, versions["nifi"]),
                (1000, 2048, 1, versions["nifiregistry"]),
                (500, 1024, 3, versions["zookeeper"]),
            ),
        },
        "pending": None,
    }


def services() -> list[dict[str, Any]]:
    """Fresh copies of the five seeded services, in five situations a demo needs."""
    offered = OFFERED_VERSIONS

    sales = service_record(
        service_id=SALES_ETL_ID,
        name="sales-etl",
        data_flow_id=PROD_DATA_FLOW_ID,
        versions=offered,
        created_dt="2025-09-03T01:12:44.518Z",
        created_by="minjun.kim",
    )
    sales["modified_dt"] = "2025-11-20T08:30:12.004Z"
    sales["config"].update(
        account_id="salesadmin",
        account_password=DEMO_PASSWORDS["salesadmin"],
        description="매출 주문 데이터 ETL (ERP → DWH)",
        domain="sales",
        host_alias={
            "enabled": "true",
            "host_alias_list": [
                {"hostname": "erp-db.corp.internal", "ip": "10.10.1.21"},
                {"hostname": "dwh.corp.internal", "ip": "10.10.1.40"},
                {"hostname": "dwh-replica.corp.internal", "ip": "10.10.1.40"},
            ],
        },
        service_workload=workload(
            (4000, 8192, 2, offered["nifi"]),
            (1000, 2048, 1, offered["nifiregistry"]),
            (1000, 2048, 3, offered["zookeeper"]),
        ),
    )

    iot = service_record(
        service_id=IOT_INGEST_ID,
        name="iot-ingest",
        data_flow_id=PROD_DATA_FLOW_ID,
        versions=offered,
        created_dt="2025-10-14T05:02:09.771Z",
        created_by="seoyeon.park",
    )
    iot["modified_dt"] = "2026-01-08T02:45:33.190Z"
    # Exactly at the user guide's limit of 20 host aliases: one more must be refused.
    gateways = [
        {"hostname": f"mqtt-gw-{n:02d}.plant.internal", "ip": f"10.20.0.{10 + n}"}
        for n in range(1, 17)
    ]
    iot["config"].update(
        account_id="iotadmin",
        account_password=DEMO_PASSWORDS["iotadmin"],
        description="Sensor telemetry from the plants into Kafka",
        domain="iot",
        node_selector="nodepool=dataflow-iot",
        host_alias={
            "enabled": "true",
            "host_alias_list": [
                *gateways,
                {"hostname": "kafka-0.stream.internal", "ip": "10.20.1.10"},
                {"hostname": "kafka-1.stream.internal", "ip": "10.20.1.11"},
                {"hostname": "kafka-2.stream.internal", "ip": "10.20.1.12"},
                {"hostname": "schema-registry.stream.internal", "ip": "fd00:20::1:5"},
            ],
        },
        service_workload=workload(
            (4000, 8192, 3, offered["nifi"]),
            (1000, 2048, 1, offered["nifiregistry"]),
            (500, 1024, 3, offered["zookeeper"]),
        ),
    )

    finance = service_record(
        service_id=FINANCE_BATCH_ID,
        name="finance-batch",
        data_flow_id=BATCH_DATA_FLOW_ID,
        versions=offered,
        created_dt="2025-07-21T23:40:05.002Z",
        created_by="jiho.lee",
    )
    finance.update(
        state="ERROR",
        cluster_request_failed=True,
        modified_dt="2026-01-29T11:15:48.630Z",
    )
    finance["config"].update(
        account_id="finops01",
        account_password=DEMO_PASSWORDS["finops01"],
        description="Nightly ledger reconciliation",
        domain="finance",
        node_selector="nodepool=batch",
        host_alias={
            "enabled": "true",
            "host_alias_list": [{"hostname": "ledger-db.fin.internal", "ip": "10.30.2.15"}],
        },
    )

    archive = service_record(
        service_id=LOG_ARCHIVE_ID,
        name="log-archive",
        data_flow_id=BATCH_DATA_FLOW_ID,
        versions=offered,
        created_dt="2025-05-02T04:20:31.245Z",
        created_by="demo.admin",
    )
    archive.update(state="STOPPED", modified_dt="2025-12-31T15:00:00.000Z")
    archive["config"].update(
        account_id="archiver",
        account_password=DEMO_PASSWORDS["archiver"],
        description="Ships application logs to object storage (paused)",
        domain="logs",
        node_selector="nodepool=batch",
        service_workload=workload(
            (1000, 2048, 1, offered["nifi"]),
            (500, 1024, 1, offered["nifiregistry"]),
            (500, 1024, 1, offered["zookeeper"]),
        ),
    )

    # Runs older releases than its data flow offers, so that an upgrade can be chosen.
    older = {"nifi": "1.25.0", "nifiregistry": "1.25.0", "zookeeper": "3.8.4"}
    features = service_record(
        service_id=ML_FEATURES_ID,
        name="ml-features",
        data_flow_id=ANALYTICS_DATA_FLOW_ID,
        versions=older,
        created_dt="2025-03-17T07:55:19.880Z",
        created_by="hyunwoo.choi",
    )
    features["modified_dt"] = "2025-08-05T09:10:27.415Z"
    features["config"].update(
        account_id="mlfeature",
        account_password=DEMO_PASSWORDS["mlfeature"],
        description="Feature pipelines for the recommendation models",
        domain="ml-platform",
        node_selector="nodepool=dataflow",
    )

    return [sales, iot, finance, archive, features]
