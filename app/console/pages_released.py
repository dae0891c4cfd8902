"""A released device's way back (observed F2) and its AppleCare+ contracts, on the device's page."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from ..apple_care import service as apple_care
from ..apple_care.schemas import AppleCareIn
from ..core.db import DbSession
from ..core.errors import ControlError
from ..inventory import history, released
from .pages_devices import _device_context
from .render import ConsoleRoute, redirect, render, text
from .security import read_form

router = APIRouter(route_class=ConsoleRoute)


@router.post("/devices/{serial}/add-back")
async def add_back(serial: str, request: Request, db: DbSession) -> Response:
    """Add Back to Organization: the control API's POST /emulator/v1/devices/{serial}/add-back."""
    await read_form(request)
    await released.add_back(db, serial=serial, source=history.PORTAL)
    return redirect(request, f"/console/devices/{serial}?added_back=1")


@router.post("/devices/{serial}/apple-care")
async def add_apple_care(serial: str, request: Request, db: DbSession) -> Response:
    """Add AppleCare+: the control API's POST /emulator/v1/devices/{serial}/apple-care."""
    form = await read_form(request)
    values = {k: text(form, k) for k in ("agreementNumber", "paymentType", "description", "endDateTime")}
    errors: dict[str, str] = {}
    try:
        end = (
            datetime.fromisoformat(values["endDateTime"]).replace(tzinfo=UTC)
            if values["endDateTime"]
            else None
        )
    except ValueError:
        end, errors["endDateTime"] = None, "Enter the end date as a date, e.g. 2029-01-31"
    try:
        contract = AppleCareIn(
            agreementNumber=values["agreementNumber"],
            paymentType=values["paymentType"] or "PAID_UP_FRONT",
            description=values["description"] or "AppleCare+",
            endDateTime=end,
            isRenewable=text(form, "isRenewable") == "true",
        )
    except ValidationError as exc:
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "agreementNumber"
            errors[field if field in values else "agreementNumber"] = f"{field}: {error['msg']}"
    if not errors:
        try:
            await apple_care.add_contract(db, serial=serial, contract=contract)
            return redirect(request, f"/console/devices/{serial}?apple_care=added#apple-care")
        except ControlError as exc:
            await db.rollback()
            errors["agreementNumber"] = exc.message
    context = await _device_context(db, serial)
    return render(request, "device.html", status_code=400, errors=errors, values=values, **context)


@router.post("/devices/{serial}/apple-care/{agreement_number}/remove")
async def remove_apple_care(serial: str, agreement_number: str, request: Request, db: DbSession) -> Response:
    """Remove: the control API's DELETE /emulator/v1/devices/{serial}/apple-care/{agreement_number}."""
    await read_form(request)
    await apple_care.remove_contract(db, serial=serial, agreement_number=agreement_number)
    return redirect(request, f"/console/devices/{serial}?apple_care=removed#apple-care")
