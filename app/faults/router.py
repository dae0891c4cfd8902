"""Control API: fault scripts (/emulator/v1/faults), in the spirit of Apple's depsim."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from ..core.db import DbSession
from . import service
from .schemas import FaultsCleared, FaultScriptIn, FaultScriptList, FaultScriptOut

router = APIRouter(prefix="/faults", tags=["faults"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=FaultScriptOut)
async def create_fault(body: FaultScriptIn, db: DbSession) -> FaultScriptOut:
    """Script the next responses of one endpoint (spec §12.4, scenario 17); oldest script first."""
    return await service.script_out(db, await service.create_script(db, data=body))


@router.get("", response_model=FaultScriptList)
async def list_faults(db: DbSession) -> FaultScriptList:
    """Every script, with what each entry has left to fire."""
    return FaultScriptList(faults=[await service.script_out(db, s) for s in await service.list_scripts(db)])


@router.get("/{fault_id}", response_model=FaultScriptOut)
async def get_fault(fault_id: str, db: DbSession) -> FaultScriptOut:
    return await service.script_out(db, await service.get_script(db, fault_id=fault_id))


@router.delete("/{fault_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_fault(fault_id: str, db: DbSession) -> Response:
    await service.delete_script(db, fault_id=fault_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete("", response_model=FaultsCleared)
async def clear_faults(db: DbSession) -> FaultsCleared:
    """Remove every script."""
    return FaultsCleared(deleted=await service.clear_scripts(db))
