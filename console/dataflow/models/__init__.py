"""Rows of the console, one module per aggregate; import them from here.

connections  ScpConnection, ConnectionStatus, ScpBudget
services     Service, ConfigRevision, SyncRun
changes      the change lifecycle table, ChangeRequest, ChangeEvent, ChangeAttempt
fleet        the fleet lifecycle table, FleetChange, FleetEvent, FleetMember
people       Preference, Watch, RateLimitHit, SsoIdentity
windows      MaintenanceWindow, MaintenanceFreeze
work         WorkerBeat
api          ApiToken, ApiPlan, ApiOrigin (the JSON API)
base         the abstract decision (four eyes) and timeline event
"""

from console.dataflow.models.api import ApiOrigin, ApiPlan, ApiToken
from console.dataflow.models.base import Decided, TimelineEvent
from console.dataflow.models.changes import (
    FINAL,
    IN_FLIGHT,
    INITIAL,
    LIFECYCLE,
    STATUS_MEANINGS,
    TRACKING,
    TRANSITIONS,
    UNCONFIRMED_MEANING,
    WITH_SCP,
    ChangeAttempt,
    ChangeEvent,
    ChangeRequest,
)
from console.dataflow.models.connections import (
    DEFAULT_CONNECTION,
    ConnectionStatus,
    ScpBudget,
    ScpConnection,
)
from console.dataflow.models.fleet import (
    FLEET_FINAL,
    FLEET_INITIAL,
    FLEET_LIFECYCLE,
    FleetChange,
    FleetEvent,
    FleetMember,
)
from console.dataflow.models.people import Preference, RateLimitHit, SsoIdentity, Watch
from console.dataflow.models.services import ConfigRevision, Service, SyncRun
from console.dataflow.models.windows import MaintenanceFreeze, MaintenanceWindow
from console.dataflow.models.work import WorkerBeat

__all__ = [
    "DEFAULT_CONNECTION",
    "FINAL",
    "FLEET_FINAL",
    "FLEET_INITIAL",
    "FLEET_LIFECYCLE",
    "INITIAL",
    "IN_FLIGHT",
    "LIFECYCLE",
    "STATUS_MEANINGS",
    "TRACKING",
    "TRANSITIONS",
    "UNCONFIRMED_MEANING",
    "WITH_SCP",
    "ApiOrigin",
    "ApiPlan",
    "ApiToken",
    "ChangeAttempt",
    "ChangeEvent",
    "ChangeRequest",
    "ConfigRevision",
    "ConnectionStatus",
    "Decided",
    "FleetChange",
    "FleetEvent",
    "FleetMember",
    "MaintenanceFreeze",
    "MaintenanceWindow",
    "Preference",
    "RateLimitHit",
    "ScpBudget",
    "ScpConnection",
    "Service",
    "SsoIdentity",
    "SyncRun",
    "TimelineEvent",
    "Watch",
    "WorkerBeat",
]
