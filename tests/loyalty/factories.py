"""Loyalty test data: a program with tiers, and helpers that earn points on made-up orders."""

from datetime import datetime
from decimal import Decimal

import factory
from django.utils import timezone

from loyalty.models import Program, Tier


class ProgramFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Program
        django_get_or_create = ("code",)

    code = "rewards"
    name = "Rewards"
    is_active = True
    currency = "USD"
    points_per_unit = Decimal("1")
    point_value = Decimal("0.01")
    expiry_months = 12


class TierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tier

    program = factory.SubFactory(ProgramFactory)
    name = factory.Sequence(lambda n: f"Tier {n}")
    min_spend = Decimal("0.00")
    multiplier = Decimal("1.00")


def at(year: int, month: int, day: int) -> datetime:
    return timezone.make_aware(datetime(year, month, day, 12, 0))
