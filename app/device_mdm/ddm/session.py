"""The DDM state a device carries through one poll, and its answer to `DeclarativeManagement` (§3.1, §3.6).

The first `DeclarativeManagement` command switches DDM on (for good: only unenrollment wipes it);
each one asks for a sync, with or without the tokens in `Data` (a `TokensResponse`, or a bare
`{"DeclarationsToken": ...}`). The device acknowledges, then syncs over the check-in channel once
the command connection is done. While awaiting configuration it answers `NotNow` when the
`while_awaiting` switch says `notnow` (macOS 14-era behaviour), else it processes the command.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

SYNC_WITHOUT_TOKEN = ""  # a sync request whose command carried no Data: fetch `tokens`
DAILY = timedelta(days=1)  # the full status report's period (§3.5), on the emulator clock


@dataclass
class DdmSession:
    enabled: bool = False
    while_awaiting: str = "process"  # the effective switch for this device
    declarations_token: str | None = None
    declarations: dict[str, Any] = field(default_factory=dict)
    status: dict[str, Any] = field(default_factory=dict)
    assets: dict[str, Any] = field(default_factory=dict)
    legacy_profiles: dict[str, Any] = field(default_factory=dict)
    reported: dict[str, Any] = field(default_factory=dict)
    last_report: dict[str, Any] | None = None
    last_report_at: Any = None
    reports_sent: int = 0
    last_sync: dict[str, Any] | None = None
    full_report_due: bool = False  # the next poll sends a full status report (the safety sync)
    # the last full report (or the first report, before any full one): the next is due a DAILY later
    last_full_report_at: datetime | None = None
    now: datetime | None = None  # the emulator's time when the poll loaded this state
    renewal_due: bool = False  # a credential asset's identity is due for renewal (ddm/credentials.py)
    full_sent: bool = False  # this poll sent a full report
    requests: list[str] = field(default_factory=list)  # tokens asked for in this poll
    changed: bool = False  # anything to save

    @property
    def wants_check_in(self) -> bool:
        """A sync was asked for, or a full report or an identity renewal is due on a device with DDM on."""
        return bool(self.requests) or (self.enabled and (self.full_report_due or self.renewal_due))


def default_while_awaiting(os_version: str) -> str:
    """26.x processes DDM while awaiting configuration; older OSes answer NotNow (§3.6)."""
    try:
        major = int(os_version.split(".")[0])
    except ValueError:
        return "process"
    return "process" if major >= 26 else "notnow"


def _token(data: Any) -> str | None:
    """The DeclarationsToken in a command's Data; None if there is none to read."""
    if isinstance(data, str):
        data = data.encode()
    if not isinstance(data, bytes):
        return None
    try:
        document = json.loads(data)
    except ValueError:
        return None
    if isinstance(document, dict) and isinstance(document.get("SyncTokens"), dict):
        document = document["SyncTokens"]
    token = document.get("DeclarationsToken") if isinstance(document, dict) else None
    return token if isinstance(token, str) and token else None


def answer(body: dict[str, Any], ddm: DdmSession, *, awaiting_configuration: bool) -> dict[str, Any]:
    """The device's answer to DeclarativeManagement; asks for a sync when it acknowledges."""
    if awaiting_configuration and ddm.while_awaiting == "notnow":
        return {"Status": "NotNow"}
    if "Data" in body and _token(body["Data"]) is None and body["Data"] not in (b"", ""):
        return {
            "Status": "Error",
            "ErrorChain": [
                {
                    "ErrorCode": 1,
                    "ErrorDomain": "RMErrorDomain",
                    "LocalizedDescription": "The synchronization tokens in Data cannot be read.",
                    "USEnglishDescription": "The synchronization tokens in Data cannot be read.",
                }
            ],
        }
    ddm.enabled = True
    ddm.changed = True
    ddm.requests.append(_token(body.get("Data")) or SYNC_WITHOUT_TOKEN)
    return {"Status": "Acknowledged"}
