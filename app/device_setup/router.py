"""Control API: the CA the simulated devices' identities come from.

Switching a device on and erasing it are dep_emulator.device_mdm's routes: they span the MDM too.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from ..core.db import DbSession
from . import ca

router = APIRouter(tags=["device setup"])


@router.get(
    "/device-ca",
    response_class=Response,
    responses={200: {"content": {"application/x-pem-file": {}}}},
)
async def device_ca(db: DbSession) -> Response:
    """The CA that issues simulated devices' identities (PEM): trust it to verify machine-info signatures."""
    return Response(await ca.ca_certificate_pem(db), media_type="application/x-pem-file")
