"""Router composition: Apple's surfaces at the root, ours under /emulator/v1."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.routing import APIRoute

from . import health
from .abm.content_router import router as abm_content_router
from .abm.control_router import router as abm_control_router
from .abm.people_router import router as abm_people_router
from .abm.router import log_router as abm_log_router
from .abm.router import router as abm_router
from .abm.token_router import router as abm_token_router
from .account.router import router as account_router
from .account_driven.router import router as account_driven_router
from .activation_lock.router import control_router as activation_lock_control_router
from .activation_lock.router import router as activation_lock_router
from .admin.router import router as admin_router
from .apple_care.router import router as apple_care_router
from .attestation.router import router as attestation_router
from .beta.router import router as beta_router
from .blueprints.router import router as blueprints_router
from .builtin_mdm.router import router as builtin_mdm_router
from .churn.router import router as churn_router
from .clock.router import router as clock_router
from .content.router import router as content_router
from .core.control import require_admin
from .core.dep import DepJSONResponse, check_user_agent
from .device_mdm.ddm.router import router as device_ddm_router
from .device_mdm.router import router as device_mdm_router
from .device_mdm.router import setup_router as switch_on_router
from .device_mdm.web_router import router as device_web_view_router
from .device_setup.router import router as device_setup_router
from .faults.router import router as faults_router
from .feed.router import router as feed_router
from .inventory.router import router as inventory_router
from .journal.router import router as journal_router
from .observability.router import router as metrics_router
from .orgs.router import router as orgs_router
from .people.router import router as people_router
from .profiles.control import router as profiles_control_router
from .profiles.router import router as profiles_router
from .seed.router import router as seed_router
from .session.router import router as session_router
from .tokens.router import router as tokens_router
from .traffic.router import router as traffic_router

# /session tolerates a missing User-Agent (older nanodep and appiron send none, spec §14.2).
session_api = APIRouter()
session_api.include_router(session_router)

# Every other Apple endpoint checks the User-Agent first, then the session (in each handler).
dep_api = APIRouter(dependencies=[Depends(check_user_agent)], default_response_class=DepJSONResponse)
dep_api.include_router(account_router)
dep_api.include_router(feed_router)
dep_api.include_router(profiles_router)
dep_api.include_router(activation_lock_router)
dep_api.include_router(beta_router)
dep_api.include_router(account_driven_router)

# Apple's Business Manager API (abm-api.md): /v1 resources and the OAuth 2 token endpoint.
# Tagged "abm", not "dep": it is not part of /account's `urls`, and it has no User-Agent rule.
abm_api = APIRouter()
abm_api.include_router(abm_token_router)
abm_api.include_router(abm_router)
abm_api.include_router(abm_people_router)
abm_api.include_router(abm_content_router)
abm_api.include_router(abm_log_router)

control_api = APIRouter(prefix="/emulator/v1", dependencies=[Depends(require_admin)])
control_api.include_router(admin_router)
control_api.include_router(clock_router)
control_api.include_router(orgs_router)
control_api.include_router(tokens_router)
control_api.include_router(inventory_router)
control_api.include_router(apple_care_router)
control_api.include_router(faults_router)
control_api.include_router(journal_router)
control_api.include_router(traffic_router)
control_api.include_router(abm_control_router)
control_api.include_router(people_router)
control_api.include_router(content_router)
control_api.include_router(blueprints_router)
control_api.include_router(builtin_mdm_router)
control_api.include_router(profiles_control_router)
control_api.include_router(activation_lock_control_router)
control_api.include_router(switch_on_router)
control_api.include_router(device_setup_router)
control_api.include_router(device_mdm_router)
control_api.include_router(device_ddm_router)
control_api.include_router(attestation_router)
control_api.include_router(device_web_view_router)
control_api.include_router(churn_router)
control_api.include_router(seed_router)

# Dispatched straight to their handlers, past FastAPI's routing (dep_emulator.core.fast_lane).
FAST_LANE_HANDLERS = {
    ("GET", "/account"): account_router,
    ("POST", "/server/devices"): feed_router,
    ("POST", "/devices/sync"): feed_router,
    ("POST", "/devices"): feed_router,
}


def fast_lane_routes() -> dict[tuple[str, str], tuple[Any, APIRoute]]:
    """(method, path) → (handler, its APIRoute) for the routes in FAST_LANE_HANDLERS."""
    found = {}
    for (method, path), router in FAST_LANE_HANDLERS.items():
        route = next(
            r
            for r in router.routes
            if isinstance(r, APIRoute) and r.path == path and method in (r.methods or ())
        )
        found[(method, path)] = (route.endpoint, route)
    return found


api_router = APIRouter()
api_router.include_router(health.router)
api_router.include_router(metrics_router)
api_router.include_router(session_api)
api_router.include_router(dep_api)
api_router.include_router(abm_api)
api_router.include_router(control_api)
