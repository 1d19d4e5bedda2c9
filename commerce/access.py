"""Access rules: API keys by scope, staff by role, and store staff only at their own locations.

A view declares `access = {"GET": Rule(...), "POST": Rule(...)}` (keys are HTTP methods, or DRF action
names such as "list" and "retrieve"); `AccessPolicy` enforces it. Superusers act as administrators.
"""

from dataclasses import dataclass, field

from rest_framework.permissions import BasePermission

from .api_keys import ApiKeyPrincipal
from .errors import Forbidden
from .models import ApiKey, Role

ALL_STAFF = frozenset(Role.values)
# Roles whose data is limited to the locations they are assigned to.
LOCATION_BOUND_ROLES = frozenset({Role.CASHIER, Role.STORE_MANAGER, Role.FULFILLMENT_ASSOCIATE})


@dataclass(frozen=True)
class Rule:
    scope: str | None = None
    roles: frozenset = field(default_factory=frozenset)


def role_of(user) -> str | None:
    if user is None or not getattr(user, "is_authenticated", False) or isinstance(user, ApiKeyPrincipal):
        return None
    if user.is_superuser:
        return Role.ADMINISTRATOR
    profile = getattr(user, "staff_profile", None)
    return profile.role if profile is not None else None


def api_key_of(request) -> ApiKey | None:
    return request.auth if isinstance(request.auth, ApiKey) else None


class AccessPolicy(BasePermission):
    def _rule(self, request, view) -> Rule | None:
        rules = getattr(view, "access", None) or {}
        action = getattr(view, "action", None)
        if action and action in rules:
            return rules[action]
        return rules.get(request.method) or (rules.get("GET") if request.method in ("HEAD", "OPTIONS") else None)

    def has_permission(self, request, view) -> bool:
        user = request.user
        if user is None or not user.is_authenticated:
            return False
        rule = self._rule(request, view)
        if rule is None:
            raise Forbidden(f"{request.method} is not allowed on {request.path} for anyone.", code="forbidden")
        api_key = api_key_of(request)
        if api_key is not None:
            if rule.scope is None:
                raise Forbidden(
                    f"API keys cannot call {request.method} {request.path}: it is for staff. Log in as a staff member instead.",
                    code="missing_scope",
                )
            if not api_key.has_scope(rule.scope):
                raise Forbidden(
                    f"API key {api_key.prefix} lacks the scope {rule.scope} for {request.method} {request.path}: "
                    f"ask an administrator to add it.",
                    code="missing_scope",
                )
            return True
        role = role_of(user)
        if role is None:
            raise Forbidden(f"User {user.get_username()} has no staff role: ask an administrator to assign one.", code="no_role")
        if role != Role.ADMINISTRATOR and role not in rule.roles:
            raise Forbidden(
                f"The role {role} may not {request.method} {request.path}.",
                code="role_not_allowed",
            )
        return True


def allowed_location_ids(request) -> set[int] | None:
    """Return the location ids the caller may see and change, or None when the caller is not bound to locations."""
    if api_key_of(request) is not None:
        return None
    user = request.user
    role = role_of(user)
    if role in LOCATION_BOUND_ROLES:
        return set(user.staff_profile.locations.values_list("id", flat=True))
    return None


def check_location(request, location_id: int, *, label: str | None = None) -> None:
    """Raise `Forbidden` unless the caller may act at `location_id`."""
    allowed = allowed_location_ids(request)
    if allowed is not None and location_id not in allowed:
        raise Forbidden(
            f"You do not work at location {label or location_id}: ask a store manager of that location.",
            code="location_forbidden",
        )
