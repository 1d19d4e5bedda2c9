from django.conf import settings
from django.db import models


class Role(models.TextChoices):
    CASHIER = "cashier", "Cashier"
    STORE_MANAGER = "store_manager", "Store manager"
    FULFILLMENT_ASSOCIATE = "fulfillment_associate", "Fulfillment associate"
    FINANCE = "finance", "Finance"
    ADMINISTRATOR = "administrator", "Administrator"


class Scope(models.TextChoices):
    """Permissions of an API key. Staff sessions are governed by roles instead."""

    CATALOG_READ = "catalog:read", "Read the catalog"
    INVENTORY_READ = "inventory:read", "Read availability and stock levels"
    ORDERS_WRITE = "orders:write", "Create and cancel web orders"
    ORDERS_READ = "orders:read", "Read orders"
    CUSTOMERS_READ = "customers:read", "Look up customers"
    CUSTOMERS_WRITE = "customers:write", "Create and change customers"
    CARTS_WRITE = "carts:write", "Create and change carts"


class StaffProfile(models.Model):
    """A staff member's role and the locations they work at."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_profile")
    role = models.CharField(max_length=32, choices=Role.choices)
    locations = models.ManyToManyField("inventory.Location", blank=True, related_name="staff")

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()})"


class ApiKey(models.Model):
    """A key for the storefront or another system. Only the SHA-256 of the secret is stored."""

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, unique=True)
    secret_hash = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


class IdempotencyKey(models.Model):
    """The first response to a request that moved money or stock, stored to return on replays of it."""

    principal = models.CharField(max_length=64)
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["principal", "key"], name="idempotency_key_unique_per_principal")]


class OutboxEvent(models.Model):
    """Work written in the same transaction as the change that caused it, delivered after commit."""

    topic = models.CharField(max_length=100)
    payload = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["delivered_at", "id"], name="outbox_pending_idx")]


class AuditEntry(models.Model):
    """A record of a change made by hand: the actor, the action and the object."""

    created_at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=100)
    object_type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=64)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object_idx")]
        verbose_name_plural = "audit entries"
