from .access import api_key_of
from .models import AuditEntry


def audit_record(*, request=None, actor=None, action: str, obj=None, object_type: str = "", object_id="", data: dict | None = None) -> AuditEntry:
    """Write one audit row in the caller's transaction."""
    api_key = None
    if request is not None:
        api_key = api_key_of(request)
        if api_key is None and getattr(request.user, "pk", None):
            actor = request.user
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
    return AuditEntry.objects.create(
        actor=actor, api_key=api_key, action=action, object_type=object_type, object_id=str(object_id), data=data or {}
    )
