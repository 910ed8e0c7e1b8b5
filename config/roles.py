"""Who may do what: the one policy for the marketer API, the workspace and the admin.

Roles are Django groups (made by a forms_app migration), given by marketers on the
workspace's Team page (forms_app/services/team.py: invitations, role changes, removal):
- "marketer" reads and writes everything. Staff users and superusers count as marketers:
  they already run the admin, the fallback back office.
- "sales" reads leads, reports and webhook deliveries, and writes nothing.
- A logged-in user in neither group has no role and is refused everywhere but the public
  pages.

Every guarded view names one `Access` level; `allows` decides it from the user and the
HTTP method alone, so a sales user can never write through a view marked readable.
DRF views use `MarketerOnly` or `SalesMayRead` (DRF's default is `MarketerOnly`, so a view
that names nothing is closed); workspace views use the decorators in
forms_app/workspace/access.py, which ask `allows` too; the admin site asks `may_use_admin`.
"""

from __future__ import annotations

import enum
from typing import Any

from rest_framework.permissions import SAFE_METHODS, AllowAny, BasePermission

MARKETER = "marketer"
SALES = "sales"

NO_ROLE_MESSAGE = (
    "Your account has no role yet. Ask a marketer to make you marketer or sales on the Team page."
)
MARKETERS_ONLY_MESSAGE = "Only marketers can change this. Sales users see leads and reports."


class Access(enum.Enum):
    # Configuration, read or written: gates, scoring, webhooks (their URLs), sources
    # (their write keys), costs.
    MARKETER = "marketer"
    # Leads, reports and webhook deliveries: sales may read (safe methods), only
    # marketers may write (erase a lead, redeliver).
    SALES_READS = "sales-reads"


def _groups(user: Any) -> frozenset[str]:
    # Cached on the user object: one query per request however often it is asked.
    cached: frozenset[str] | None = getattr(user, "_role_groups", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True))
        user._role_groups = cached
    return cached


def _active(user: Any) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def can_edit(user: Any) -> bool:
    """A marketer: reads and writes everything."""
    if not _active(user):
        return False
    return bool(user.is_superuser or user.is_staff or MARKETER in _groups(user))


def can_view(user: Any) -> bool:
    """A marketer or a sales user: may read leads, reports and deliveries."""
    return can_edit(user) or (_active(user) and SALES in _groups(user))


def allows(access: Access, user: Any, method: str) -> bool:
    if can_edit(user):
        return True
    return access is Access.SALES_READS and method.upper() in SAFE_METHODS and can_view(user)


def refusal_message(user: Any) -> str:
    return MARKETERS_ONLY_MESSAGE if can_view(user) else NO_ROLE_MESSAGE


def may_use_admin(user: Any) -> bool:
    """The admin edits everything, so it is for marketers; Django also requires staff
    (and a sales user made staff is a marketer by the rule above)."""
    return can_edit(user) and bool(user.is_staff)


class _RolePermission(BasePermission):
    access: Access
    message = MARKETERS_ONLY_MESSAGE

    def has_permission(self, request: Any, view: Any) -> bool:
        if allows(self.access, request.user, request.method):
            return True
        # DRF answers 401 instead (with WWW-Authenticate) when no one is logged in.
        self.message = refusal_message(request.user)
        return False


class MarketerOnly(_RolePermission):
    """Marketers only, reading as writing (DRF's default permission)."""

    access = Access.MARKETER


class SalesMayRead(_RolePermission):
    """Sales users may read (GET, HEAD, OPTIONS); only marketers may write."""

    access = Access.SALES_READS


# --- the OpenAPI document says who may call each operation ---------------------------------

_PUBLIC = "**Roles:** anyone; no login needed."
_WHO = {
    True: "**Roles:** marketers only (staff and superusers count as marketers); others 403.",
    False: "**Roles:** marketers and sales users; users with no role 403.",
}


def openapi_roles(result: dict[str, Any], generator: Any, request: Any, public: bool) -> Any:
    """drf-spectacular post-processing hook: prefix each guarded operation's description
    with the roles that may call it, read from the view's own permission classes."""
    paths = result.get("paths", {})
    for path, _regex, method, callback in generator.endpoints or ():
        view_class = getattr(callback, "cls", None)
        if view_class is None:
            continue
        classes = getattr(view_class, "permission_classes", ())
        levels = [
            c.access for c in classes if isinstance(c, type) and issubclass(c, _RolePermission)
        ]
        if levels:
            marketers_only = levels[0] is Access.MARKETER or method.upper() not in SAFE_METHODS
            who = _WHO[marketers_only]
        elif AllowAny in classes and not path.startswith("/api/v1/public/"):
            # Outside the public block a reader would otherwise assume a login is needed.
            who = _PUBLIC
        else:
            continue
        # The document names `{pk}` parameters `{id}`: look the operation up as it does.
        operation = paths.get(generator.coerce_path(path, method, view_class()), {})
        operation = operation.get(method.lower())
        if operation is None:
            continue
        described = operation.get("description", "")
        operation["description"] = who + (f"\n\n{described}" if described else "")
    return result
