"""Factories for the pricing models."""

from decimal import Decimal

import factory

from pricing.models import Coupon, CustomerGroup, LocationTaxRegion, PriceList, PriceListItem, Promotion, TaxRate, TaxRegion
from tests.factories import ChannelFactory, LocationFactory, TaxClassFactory, VariantFactory


class CustomerGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerGroup
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"group-{n}")
    name = factory.LazyAttribute(lambda group: group.code.title())


class PriceListFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PriceList

    name = factory.Sequence(lambda n: f"Price list {n}")
    channel = factory.SubFactory(ChannelFactory)
    priority = 0


class PriceListItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PriceListItem

    price_list = factory.SubFactory(PriceListFactory)
    variant = factory.SubFactory(VariantFactory)
    amount = Decimal("9.00")


class TaxRegionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TaxRegion
        django_get_or_create = ("code",)

    code = "us-tx"
    name = "Texas"
    country = "US"
    state = "TX"


class TaxRateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TaxRate

    region = factory.SubFactory(TaxRegionFactory)
    tax_class = factory.SubFactory(TaxClassFactory)
    name = "State sales tax"
    rate = Decimal("6.2500")
    effective_from = "2020-01-01"


class LocationTaxRegionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LocationTaxRegion

    location = factory.SubFactory(LocationFactory)
    region = factory.SubFactory(TaxRegionFactory)


class PromotionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Promotion

    name = factory.Sequence(lambda n: f"Promotion {n}")
    kind = "percentage"
    scope = "order"
    value = Decimal("10.00")


class CouponFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Coupon

    code = factory.Sequence(lambda n: f"CODE{n}")
    promotion = factory.SubFactory(PromotionFactory, requires_coupon=True)
