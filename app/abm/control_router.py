"""Control API: an org's Business Manager API accounts (portal: Preferences → API)."""

from __future__ import annotations

from fastapi import APIRouter, status

from ..core.db import DbSession
from ..core.openapi import control_errors
from ..orgs import service as orgs_service
from . import accounts
from .models import ApiAccount
from .schemas import ApiAccountIn, ApiAccountList, ApiAccountOut

router = APIRouter(tags=["abm-accounts"])


def account_out(account: ApiAccount, private_key_pem: str | None = None) -> ApiAccountOut:
    return ApiAccountOut(
        client_id=account.client_id,
        key_id=account.key_id,
        scope=account.scope,
        org_id=str(account.org_id),
        public_key_pem=account.public_key_pem,
        private_key_pem=private_key_pem,
        created_at=account.created_at,
    )


@router.post(
    "/orgs/{org_id}/api-accounts",
    status_code=status.HTTP_201_CREATED,
    response_model=ApiAccountOut,
    response_model_exclude_none=True,
    responses=control_errors(409),  # too_many_api_accounts
)
async def create_api_account(org_id: str, body: ApiAccountIn, db: DbSession) -> ApiAccountOut:
    """Create an API account; without `public_key_pem` the generated private key is returned once."""
    org = await orgs_service.get_org(db, org_id=org_id)
    new = await accounts.create_account(
        db, org=org, scope=body.scope, public_key_pem=body.public_key_pem, key_format=body.private_key_format
    )
    return account_out(new.account, new.private_key_pem)


@router.get("/orgs/{org_id}/api-accounts", response_model=ApiAccountList, response_model_exclude_none=True)
async def list_api_accounts(org_id: str, db: DbSession) -> ApiAccountList:
    org = await orgs_service.get_org(db, org_id=org_id)
    return ApiAccountList(api_accounts=[account_out(a) for a in await accounts.list_accounts(db, org=org)])
