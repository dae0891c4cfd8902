"""Apple Business API and Apple School Manager API: what each variant serves (issue 29 item 8).

The two share one shape (abm-api.md §1.1), but School's API has no mdmServers create, update or
delete, no `auditEvents` and no `RELEASE_DEVICES` activity type (Apple's `appleschoolmanagerapi`
pages: School's `OrgDeviceActivityType` lists the three migration types but not release;
abm-api-2.md §1.2). A token's scope decides its variant; the emulator serves both on one origin,
so a School token is refused what its host would not serve, with the error that host gives.
Nothing the emulator serves is School-only (School's people data is the separate Roster API),
so a Business token is refused nothing here; `require` takes either scope for when it is.
"""

from __future__ import annotations

from ..core.errors import JsonApiError
from .jsonapi import conflict
from .tokens import Caller

BUSINESS, SCHOOL = "business.api", "school.api"
NAMES = {BUSINESS: "Apple Business API", SCHOOL: "Apple School Manager API"}


def is_school(caller: Caller) -> bool:
    return caller.account.scope == SCHOOL


def refuse_operation(caller: Caller, *, scope: str, resource: str, operation: str, allowed: str) -> None:
    """403 FORBIDDEN_ERROR naming the allowed operations (Apple's answer to a verb a resource does
    not have, abm-api.md §1.7) unless the caller's token is of `scope`."""
    if caller.account.scope == scope:
        return
    raise JsonApiError(
        403,
        "FORBIDDEN_ERROR",
        "This request is forbidden for security reasons",
        f"The resource '{resource}' does not allow '{operation}' on the {NAMES[caller.account.scope]}. "
        f"Allowed operations are: {allowed}",
    )


def refuse_resource(caller: Caller, *, scope: str, path: str) -> None:
    """404 NOT_FOUND, as for a path the caller's API does not define, unless the token is of `scope`."""
    if caller.account.scope == scope:
        return
    raise JsonApiError(
        404,
        "NOT_FOUND",
        "The specified resource doesn't exist",
        f"The path '{path}' does not match a resource type of the {NAMES[caller.account.scope]}",
    )


def refuse_activity_type(caller: Caller, *, activity_type: str, business_only: set[str]) -> None:
    """409 ENTITY_ERROR.ATTRIBUTE.INVALID on the activity type (abm-api-2.md §5) for a School token
    asking for a Business-only type."""
    if is_school(caller) and activity_type in business_only:
        raise conflict(
            "ENTITY_ERROR.ATTRIBUTE.INVALID",
            f"'{activity_type}' is not an activityType of the {NAMES[SCHOOL]}",
            pointer="/data/attributes/activityType",
        )
