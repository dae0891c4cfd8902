"""The control API's AppleCare+ contract: Apple's `AppleCareCoverage` attributes under Apple's names
(the Business API shows them as given), with defaults for what a test does not care about."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

Status = Literal["ACTIVE", "INACTIVE"]
PaymentType = Literal["ABE_SUBSCRIPTION", "PAID_UP_FRONT", "SUBSCRIPTION", "NONE"]


class AppleCareIn(BaseModel):
    """An AppleCare+ contract to add to a device (its `agreementNumber` is its id on the device)."""

    model_config = ConfigDict(extra="forbid")

    agreementNumber: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
    status: Status = "ACTIVE"
    paymentType: PaymentType = "PAID_UP_FRONT"
    description: Annotated[str, Field(min_length=1, max_length=200)] = "AppleCare+"
    startDateTime: AwareDatetime | None = Field(
        default=None, description="Default: now, on the emulator clock."
    )
    endDateTime: AwareDatetime | None = None
    isRenewable: bool = False
    isCanceled: bool = False
    contractCancelDateTime: AwareDatetime | None = None


class AppleCareOut(BaseModel):
    agreementNumber: str
    status: Status
    paymentType: PaymentType
    description: str
    startDateTime: datetime
    endDateTime: datetime | None
    isRenewable: bool
    isCanceled: bool
    contractCancelDateTime: datetime | None


class AppleCareList(BaseModel):
    contracts: list[AppleCareOut]
