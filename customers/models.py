from django.conf import settings
from django.db import models
from django.db.models import Q


class Customer(models.Model):
    """One person across every channel. E-mail is stored lower-cased, phone in E.164 form.

    `email`, `phone` and `external_id` mirror the primary `CustomerIdentity` of each kind, so that
    callers who only need one contact address can read it from here. Lookups go through the
    identities, which also hold the further e-mails, phones and loyalty cards of the person.
    A profile merged into another keeps its row, with `merged_into` set and its identities moved.
    """

    email = models.EmailField(max_length=254, null=True, blank=True)
    phone = models.CharField(max_length=20, null=True, blank=True)
    external_id = models.CharField(max_length=100, null=True, blank=True)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged_profiles",
        help_text="The profile this one was merged into; a merged profile is kept for its history only.",
    )
    merged_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["email"], condition=Q(email__isnull=False), name="customer_unique_email"),
            models.UniqueConstraint(fields=["phone"], condition=Q(phone__isnull=False), name="customer_unique_phone"),
            models.UniqueConstraint(fields=["external_id"], condition=Q(external_id__isnull=False), name="customer_unique_external_id"),
            models.CheckConstraint(condition=~Q(merged_into=models.F("id")), name="customer_not_merged_into_itself"),
        ]
        indexes = [
            models.Index(fields=["last_name", "first_name"], name="customer_name_idx"),
        ]

    def __str__(self) -> str:
        full_name = f"{self.first_name} {self.last_name}".strip()
        return full_name or self.email or self.phone or self.external_id or f"Customer {self.pk}"

    @property
    def is_merged(self) -> bool:
        return self.merged_into_id is not None


class IdentityKind(models.TextChoices):
    EMAIL = "email", "E-mail"
    PHONE = "phone", "Phone"
    CARD = "card", "Loyalty card"
    EXTERNAL = "external", "External id"


class CustomerIdentity(models.Model):
    """A value that identifies one customer: an e-mail, a phone, a loyalty card number or an external id.

    A customer may have several of each kind, one of them primary. A value belongs to one customer
    only (unique per kind), so a lookup by any identity finds at most one person.
    """

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="identities")
    kind = models.CharField(max_length=16, choices=IdentityKind.choices)
    value = models.CharField(max_length=254, help_text="Normalised: e-mail lower-cased, phone in E.164, card number upper-case without spaces.")
    is_primary = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "customer identities"
        ordering = ["kind", "-is_primary", "id"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "value"], name="customer_identity_unique_value"),
            models.UniqueConstraint(
                fields=["customer", "kind"], condition=Q(is_primary=True), name="customer_identity_one_primary_per_kind"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.value}"


class AddressKind(models.TextChoices):
    SHIPPING = "shipping", "Shipping"
    BILLING = "billing", "Billing"


class Address(models.Model):
    """A postal address of a customer, usable for shipping, billing or both."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="addresses")
    name = models.CharField(max_length=200, blank=True, help_text="The recipient, when not the customer.")
    company = models.CharField(max_length=200, blank=True)
    line1 = models.CharField(max_length=200)
    line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100)
    region = models.CharField(max_length=100, blank=True, help_text="State, province or county.")
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2 code, upper-case.")
    phone = models.CharField(max_length=20, blank=True, help_text="E.164.")
    is_default_shipping = models.BooleanField(default=False)
    is_default_billing = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "addresses"
        ordering = ["-is_default_shipping", "-is_default_billing", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"], condition=Q(is_default_shipping=True), name="address_one_default_shipping"
            ),
            models.UniqueConstraint(
                fields=["customer"], condition=Q(is_default_billing=True), name="address_one_default_billing"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.line1}, {self.city} {self.postal_code} {self.country}".strip()


class ConsentChannel(models.TextChoices):
    EMAIL = "email", "E-mail"
    SMS = "sms", "SMS"


class ConsentSource(models.TextChoices):
    """The place or means through which the customer gave or withdrew consent."""

    REGISTER = "register", "At a register"
    WEB = "web", "Online shop"
    ADMIN = "admin", "By staff in the admin"
    API = "api", "Through the API"
    UNSUBSCRIBE_LINK = "unsubscribe_link", "Unsubscribe link"
    IMPORT = "import", "Imported"


class ConsentEvent(models.Model):
    """One grant or withdrawal of consent to marketing on a channel. Rows are never changed or deleted.

    The current consent on a channel is the latest event by `occurred_at` (then id).
    """

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="consent_events")
    channel = models.CharField(max_length=16, choices=ConsentChannel.choices)
    granted = models.BooleanField(help_text="True when consent was given, False when it was withdrawn.")
    source = models.CharField(max_length=32, choices=ConsentSource.choices)
    occurred_at = models.DateTimeField(help_text="When the customer gave or withdrew consent.")
    text = models.CharField(max_length=500, blank=True, help_text="The wording the customer agreed to, or a note.")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    api_key = models.ForeignKey("commerce.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [models.Index(fields=["customer", "channel", "occurred_at"], name="consent_customer_channel_idx")]

    def __str__(self) -> str:
        verb = "granted" if self.granted else "withdrawn"
        return f"{self.get_channel_display()} {verb} {self.occurred_at:%Y-%m-%d}"


class WishList(models.Model):
    """A named list of variants a customer wants."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="wish_lists")
    name = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["customer", "name"], name="wish_list_unique_name_per_customer")]

    def __str__(self) -> str:
        return self.name


class WishListItem(models.Model):
    wish_list = models.ForeignKey(WishList, on_delete=models.CASCADE, related_name="items")
    variant = models.ForeignKey("catalog.Variant", on_delete=models.CASCADE, related_name="+")
    note = models.CharField(max_length=200, blank=True)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["added_at", "id"]
        constraints = [models.UniqueConstraint(fields=["wish_list", "variant"], name="wish_list_item_unique_variant")]

    def __str__(self) -> str:
        return str(self.variant_id)
