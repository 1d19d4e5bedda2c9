from django.db import models
from django.db.models import Q


class Customer(models.Model):
    """One person across every channel. E-mail is stored lower-cased, phone in E.164 form."""

    email = models.EmailField(max_length=254, null=True, blank=True)
    phone = models.CharField(max_length=20, null=True, blank=True)
    external_id = models.CharField(max_length=100, null=True, blank=True)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["email"], condition=Q(email__isnull=False), name="customer_unique_email"),
            models.UniqueConstraint(fields=["phone"], condition=Q(phone__isnull=False), name="customer_unique_phone"),
            models.UniqueConstraint(fields=["external_id"], condition=Q(external_id__isnull=False), name="customer_unique_external_id"),
        ]

    def __str__(self) -> str:
        full_name = f"{self.first_name} {self.last_name}".strip()
        return full_name or self.email or self.phone or self.external_id or f"Customer {self.pk}"
