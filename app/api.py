"""Router composition: Apple's surfaces at the root, ours under /emulator/v1."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from app import health
from app.abm.control_router import router as abm_control_router
from app.abm.router import log_router as abm_log_router
from app.abm.router import router as abm_router
from app.abm.token_router import router as abm_token_router
from app.account.router import router as account_router
from app.account_driven.router import router as account_driven_router
from app.activation_lock.router import control_router as activation_lock_control_router
from app.activation_lock.router import router as activation_lock_router
from app.admin.router import router as admin_router
from app.beta.router import router as beta_router
from app.churn.router import router as churn_router
from app.clock.router import router as clock_router
from app.core.control import require_admin
from app.core.dep import DepJSONResponse, check_user_agent
from app.device_setup.router import router as device_setup_router
from app.devices.control_router import router as devices_control_router
from app.devices.router import router as devices_router
from app.faults.router import router as faults_router
from app.journal.router import router as journal_router
from app.observability.router import router as metrics_router
from app.orgs.router import router as orgs_router
from app.profiles.control import router as profiles_control_router
from app.profiles.router import router as profiles_router
from app.seed.router import router as seed_router
from app.session.router import router as session_router
from app.tokens.router import router as tokens_router
from app.traffic.router import router as traffic_router

# /session tolerates a missing User-Agent (older nanodep and appiron send none, spec §14.2).
session_api = APIRouter()
session_api.include_router(session_router)

# Every other Apple endpoint checks the User-Agent first, then the session (in each handler).
dep_api = APIRouter(dependencies=[Depends(check_user_agent)], default_response_class=DepJSONResponse)
dep_api.include_router(account_router)
dep_api.include_router(devices_router)
dep_api.include_router(profiles_router)
dep_api.include_router(activation_lock_router)
dep_api.include_router(beta_router)
dep_api.include_router(account_driven_router)

# Apple's Business Manager API (abm-api.md): /v1 resources and the OAuth 2 token endpoint.
# Tagged "abm", not "dep": it is not part of /account's `urls`, and it has no User-Agent rule.
abm_api = APIRouter()
abm_api.include_router(abm_token_router)
abm_api.include_router(abm_router)
abm_api.include_router(abm_log_router)

control_api = APIRouter(prefix="/emulator/v1", dependencies=[Depends(require_admin)])
control_api.include_router(admin_router)
control_api.include_router(clock_router)
control_api.include_router(orgs_router)
control_api.include_router(tokens_router)
control_api.include_router(devices_control_router)
control_api.include_router(faults_router)
control_api.include_router(journal_router)
control_api.include_router(traffic_router)
control_api.include_router(abm_control_router)
control_api.include_router(profiles_control_router)
control_api.include_router(activation_lock_control_router)
control_api.include_router(device_setup_router)
control_api.include_router(churn_router)
control_api.include_router(seed_router)

api_router = APIRouter()
api_router.include_router(health.router)
api_router.include_router(metrics_router)
api_router.include_router(session_api)
api_router.include_router(dep_api)
api_router.include_router(abm_api)
api_router.include_router(control_api)
