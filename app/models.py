"""Every table, imported in one place for Alembic and the mapper configuration."""

from app.abm.models import AccessToken, Activity, ActivityDevice, ApiAccount, ServerSetting
from app.account_driven.models import AccountDrivenEnrollmentProfile
from app.activation_lock.models import ActivationLock
from app.churn.models import ChurnSchedule
from app.clock.models import EmulatorClock
from app.core.db import Base
from app.device_setup.models import DeviceCA, DeviceSetup
from app.devices.models import AuditEvent, Device, DeviceAssignment, DeviceEvent, EmulatorSecret
from app.faults.models import FaultScript
from app.journal.models import RequestJournal
from app.orgs.models import MdmServer, Org
from app.profiles.models import AssignmentAttempt, AssignmentCooldown, Profile
from app.session.models import AuthSession, OAuthNonce
from app.tokens.models import OAuthToken
from app.traffic.models import TrafficBucket

__all__ = [
    "AccessToken",
    "AccountDrivenEnrollmentProfile",
    "ActivationLock",
    "Activity",
    "ActivityDevice",
    "ApiAccount",
    "AssignmentAttempt",
    "AssignmentCooldown",
    "AuditEvent",
    "AuthSession",
    "Base",
    "ChurnSchedule",
    "Device",
    "DeviceAssignment",
    "DeviceCA",
    "DeviceEvent",
    "DeviceSetup",
    "EmulatorClock",
    "EmulatorSecret",
    "FaultScript",
    "MdmServer",
    "OAuthNonce",
    "OAuthToken",
    "Org",
    "Profile",
    "RequestJournal",
    "ServerSetting",
    "TrafficBucket",
]
