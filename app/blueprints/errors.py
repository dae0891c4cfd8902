"""Apple's errors for Blueprint and Configuration writes (abm-api-2.md §3.5), in the JSON:API
envelope of the rest of the Business API. Codes marked *unverified* in the spec are constants
here, the one place to change them."""

from __future__ import annotations

from ..core.errors import JsonApiError

# The live reports say only "a code containing MISSING_MEMBERS / MISSING_RESOURCES" (§3.1).
MISSING_MEMBERS = "ENTITY_ERROR.RELATIONSHIP.MISSING_MEMBERS"
MISSING_RESOURCES = "ENTITY_ERROR.RELATIONSHIP.MISSING_RESOURCES"
ATTRIBUTE_INVALID = "ENTITY_ERROR.ATTRIBUTE.INVALID"
RELATIONSHIP_INVALID = "ENTITY_ERROR.RELATIONSHIP.INVALID"
PROFILE_INVALID = "PARAMETER_ERROR.INVALID"  # the status (400) was observed, the code was not


def not_found(resource_type: str, resource_id: str) -> JsonApiError:
    return JsonApiError(
        404,
        "NOT_FOUND",
        "The specified resource doesn't exist",
        f"There is no resource of type '{resource_type}' with id '{resource_id[:80]}'",
    )


def conflict(code: str, detail: str, pointer: str) -> JsonApiError:
    return JsonApiError(
        409,
        code,
        "The request cannot be fulfilled because of the state of a resource",
        detail,
        source={"pointer": pointer},
    )


def unprocessable(pointer: str, detail: str) -> JsonApiError:
    return JsonApiError(
        422, "ENTITY_UNPROCESSABLE", "The request entity is not valid", detail, source={"pointer": pointer}
    )


def bad_profile(detail: str) -> JsonApiError:
    return JsonApiError(
        400,
        PROFILE_INVALID,
        "A parameter has an invalid value",
        detail,
        source={"pointer": "/data/attributes/customSettingsValues/configurationProfile"},
    )


def forbidden(detail: str) -> JsonApiError:
    return JsonApiError(403, "FORBIDDEN_ERROR", "This request is forbidden for security reasons", detail)
