"""Every table, imported in one place for Alembic and the mapper configuration."""

from .abm.models import AccessToken, Activity, ActivityDevice, ApiAccount, ServerSetting
from .account_driven.models import AccountDrivenEnrollmentProfile
from .activation_lock.models import ActivationLock
from .apple_care.models import AppleCareContract
from .attestation.models import AttestationCA, DeviceAttestation
from .blueprints.models import Blueprint, BlueprintMember, Configuration
from .builtin_mdm.models import BuiltinEnrollment, BuiltinService, LockStatus
from .churn.models import ChurnSchedule
from .clock.models import EmulatorClock
from .content.models import OrgApp, OrgPackage
from .core.db import Base
from .core.signing_key import EmulatorSecret
from .device_mdm.ddm.models import DeviceDdm
from .device_mdm.models import DeviceEnrollment, DeviceWebView, MdmExchange
from .device_setup.models import DeviceCA, DeviceSetup
from .devices.models import AuditEvent, Device, DeviceAssignment, DeviceEvent
from .faults.models import FaultScript
from .journal.models import RequestJournal
from .orgs.models import MdmServer, Org
from .people.models import OrgUnit, OrgUser, UserGroup, UserGroupMember, UserRole
from .profiles.models import AssignmentAttempt, AssignmentCooldown, Profile
from .session.models import AuthSession, OAuthNonce
from .tokens.models import OAuthToken
from .traffic.models import TrafficBucket

__all__ = [
    "AccessToken",
    "AccountDrivenEnrollmentProfile",
    "ActivationLock",
    "AppleCareContract",
    "Activity",
    "AttestationCA",
    "ActivityDevice",
    "ApiAccount",
    "AssignmentAttempt",
    "AssignmentCooldown",
    "AuditEvent",
    "AuthSession",
    "Base",
    "Blueprint",
    "BlueprintMember",
    "BuiltinEnrollment",
    "BuiltinService",
    "ChurnSchedule",
    "Configuration",
    "Device",
    "DeviceAssignment",
    "DeviceAttestation",
    "DeviceCA",
    "DeviceDdm",
    "DeviceEnrollment",
    "DeviceEvent",
    "DeviceSetup",
    "DeviceWebView",
    "EmulatorClock",
    "EmulatorSecret",
    "FaultScript",
    "LockStatus",
    "MdmExchange",
    "MdmServer",
    "OAuthNonce",
    "OAuthToken",
    "Org",
    "OrgApp",
    "OrgPackage",
    "OrgUnit",
    "OrgUser",
    "Profile",
    "RequestJournal",
    "ServerSetting",
    "TrafficBucket",
    "UserGroup",
    "UserGroupMember",
    "UserRole",
]
