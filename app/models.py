"""Every table, imported in one place for Alembic and the mapper configuration."""

from app.abm.models import AccessToken, Activity, ActivityDevice, ApiAccount, ServerSetting
from app.clock.models import EmulatorClock
from app.core.db import Base
from app.devices.models import Device, DeviceAssignment, DeviceEvent, EmulatorSecret
from app.faults.models import FaultScript
from app.journal.models import RequestJournal
from app.orgs.models import MdmServer, Org
from app.profiles.models import Profile
from app.session.models import AuthSession, OAuthNonce
from app.tokens.models import OAuthToken
from app.traffic.models import TrafficBucket

__all__ = [
    "AccessToken",
    "Activity",
    "ActivityDevice",
    "ApiAccount",
    "AuthSession",
    "Base",
    "Device",
    "DeviceAssignment",
    "DeviceEvent",
    "EmulatorClock",
    "EmulatorSecret",
    "FaultScript",
    "MdmServer",
    "OAuthNonce",
    "OAuthToken",
    "Org",
    "Profile",
    "RequestJournal",
    "TrafficBucket",
    "ServerSetting",
]
