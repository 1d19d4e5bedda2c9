"""factory_boy factories shared by every test package."""

from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from catalog.models import Barcode, Brand, Category, Channel, Product, TaxClass, Variant, VariantPrice
from commerce.models import Role, StaffProfile
from customers.models import Customer, CustomerIdentity, IdentityKind
from inventory.models import Location


class ChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Channel
        django_get_or_create = ("code",)

    code = Channel.WEB
    name = factory.LazyAttribute(lambda channel: channel.code.upper())
    currency = "USD"


class TaxClassFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TaxClass
        django_get_or_create = ("code",)

    code = "standard"
    name = "Standard"


class BrandFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Brand
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Brand {n}")


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("path",)

    name = factory.Sequence(lambda n: f"Category {n}")
    path = factory.LazyAttribute(lambda category: category.name)


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    name = factory.Sequence(lambda n: f"Product {n}")
    brand = factory.SubFactory(BrandFactory)
    category = factory.SubFactory(CategoryFactory)
    tax_class = factory.SubFactory(TaxClassFactory)


class VariantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Variant
        skip_postgeneration_save = True

    product = factory.SubFactory(ProductFactory)
    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.LazyAttribute(lambda variant: variant.product.name)
    unit_cost = Decimal("4.0000")

    @factory.post_generation
    def price(variant, create, extracted, **kwargs):
        """Give the variant a base price on the web and pos channels (10.00 unless `price=` gives another amount)."""
        if not create:
            return
        amount = Decimal(str(extracted)) if extracted is not None else Decimal("10.00")
        for code in (Channel.WEB, Channel.POS):
            channel = ChannelFactory(code=code)
            VariantPrice.objects.update_or_create(variant=variant, channel=channel, defaults={"amount": amount})


class BarcodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Barcode

    variant = factory.SubFactory(VariantFactory)
    gtin = "4006381333931"
    kind = Barcode.EAN13


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"store-{n}")
    name = factory.LazyAttribute(lambda location: f"Store {location.code}")
    kind = Location.STORE
    sells_in_store = True
    ships = True
    offers_pickup = True
    ships_from_store = True
    time_zone = "America/Chicago"


class WarehouseFactory(LocationFactory):
    code = factory.Sequence(lambda n: f"warehouse-{n}")
    kind = Location.WAREHOUSE
    sells_in_store = False
    offers_pickup = False
    ships_from_store = False


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    first_name = "Ada"
    last_name = "Lovelace"

    @factory.post_generation
    def identities(customer, create, extracted, **kwargs):
        """Give the e-mail, phone and external id primary identity rows, so lookups find the customer."""
        if not create:
            return
        for kind, value in ((IdentityKind.EMAIL, customer.email), (IdentityKind.PHONE, customer.phone), (IdentityKind.EXTERNAL, customer.external_id)):
            if value:
                CustomerIdentity.objects.get_or_create(kind=kind, value=value, defaults={"customer": customer, "is_primary": True})


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("correct-horse-battery")


def staff_user(role: str, *locations, username: str | None = None):
    """A user with a staff role, assigned to `locations` (only location-bound roles need them)."""
    user = UserFactory(username=username or f"{role}-{UserFactory._meta.model.objects.count() + 1}")
    profile = StaffProfile.objects.create(user=user, role=role)
    if locations:
        profile.locations.set(locations)
    return user


ROLES = list(Role.values)
