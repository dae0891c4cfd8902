"""The cloud configuration a device downloads from Apple in Setup Assistant (spec §9.1, §15).

Keys are the ones Apple's device side uses (as `profiles show -type enrollment` prints them on
a Mac), built from the stored profile and the org. `IsMDMUnremovable` is the inverse of the
profile's `is_mdm_removable`.
"""

from __future__ import annotations

from typing import Any

from ..orgs.models import Org

# profile key → device key, for values copied as they are
_COPIED = {
    "url": "ConfigurationURL",
    "configuration_web_url": "ConfigurationWebURL",
    "allow_pairing": "AllowPairing",
    "is_supervised": "IsSupervised",
    "is_mandatory": "IsMandatory",
    "await_device_configured": "AwaitDeviceConfigured",
    "auto_advance_setup": "AutoAdvanceSetup",
    "is_multi_user": "IsMultiUser",
    "is_return_to_service": "IsReturnToService",
    "do_not_use_profile_from_backup": "DoNotUseProfileFromBackup",
    "department": "OrganizationDepartment",
    "support_phone_number": "OrganizationSupportPhone",
    "support_email_address": "OrganizationSupportEmail",
    "org_magic": "OrganizationMagic",
    "language": "Language",
    "region": "Region",
    "skip_setup_items": "SkipSetup",
    "anchor_certs": "AnchorCertificates",
    "supervising_host_certs": "SupervisorHostCertificates",
}


def cloud_configuration(profile_body: dict[str, Any], org: Org) -> dict[str, Any]:
    config: dict[str, Any] = {
        "OrganizationName": org.name,
        "OrganizationAddress": org.address,
        "OrganizationEmail": org.email,
        "OrganizationPhone": org.phone,
        "IsMDMUnremovable": not profile_body.get("is_mdm_removable", True),
        "AnchorCertificates": [],
        "SupervisorHostCertificates": [],
        "SkipSetup": [],
    }
    for key, device_key in _COPIED.items():
        if key in profile_body:
            config[device_key] = profile_body[key]
    return dict(sorted(config.items()))
