"""Control API: the emulated Apple attestation CA's root, and each device's attestation switches."""

from __future__ import annotations

from fastapi import APIRouter, Response

from ..core.db import DbSession
from . import ca, service
from .schemas import AttestationIn, AttestationOut

router = APIRouter(tags=["device setup"])


@router.get(
    "/attestation-ca", response_class=Response, responses={200: {"content": {"application/x-pem-file": {}}}}
)
async def attestation_ca(db: DbSession) -> Response:
    """The emulated Apple Enterprise Attestation Root CA (PEM): an ACME server's `attestationRoots`."""
    return Response(await ca.root_pem(db), media_type="application/x-pem-file")


@router.get("/devices/{serial}/attestation", response_model=AttestationOut)
async def attestation(serial: str, db: DbSession) -> AttestationOut:
    """The device's attestation switches and cache (device-2026.md §6.5, §7)."""
    return await service.settings(db, serial=serial)


@router.put("/devices/{serial}/attestation", response_model=AttestationOut)
async def set_attestation(serial: str, body: AttestationIn, db: DbSession) -> AttestationOut:
    """Break the device's next attestations on purpose (`tamper`, or `null`: honest ones again), or
    choose what its DevicePropertiesAttestation carries (`properties`); absent keys stay as they are."""
    changes: dict[str, str | None] = {
        key: getattr(body, key) for key in ("tamper", "properties") if key in body.model_fields_set
    }
    return await service.set_switches(db, serial=serial, changes=changes)
