"""Loyalty API: a customer's balance, tier and ledger, a redemption preview, and redemption as a tender.

Reads: cashiers, store managers, administrators, finance, and API keys with customers:read.
Redemption: cashiers, store managers, administrators, and API keys with customers:write, with an
Idempotency-Key. Points follow the customer across locations, so location-bound staff are not limited
to their stores here.
"""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from commerce.access import AccessPolicy, Rule
from commerce.errors import ValidationFailed
from commerce.idempotency import idempotent
from commerce.models import Role, Scope

from . import selectors, services
from .models import PointsEntry, Tier

READ = Rule(scope=Scope.CUSTOMERS_READ, roles=frozenset({Role.CASHIER, Role.STORE_MANAGER, Role.ADMINISTRATOR, Role.FINANCE}))
REDEEM = Rule(scope=Scope.CUSTOMERS_WRITE, roles=frozenset({Role.CASHIER, Role.STORE_MANAGER, Role.ADMINISTRATOR}))


class TierSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tier
        fields = ["id", "name", "min_spend", "multiplier"]


class AccountSummarySerializer(serializers.Serializer):
    account_id = serializers.IntegerField(source="account.id")
    customer_id = serializers.IntegerField(source="account.customer_id")
    program = serializers.CharField(source="account.program.code")
    currency = serializers.CharField(source="account.program.currency")
    balance = serializers.IntegerField(source="account.balance")
    balance_value = serializers.DecimalField(max_digits=14, decimal_places=2)
    rolling_spend = serializers.DecimalField(max_digits=14, decimal_places=2)
    tier = TierSerializer(allow_null=True)
    next_tier = TierSerializer(allow_null=True)


class PointsEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = PointsEntry
        fields = ["id", "kind", "points", "source_reference", "order_reference", "amount", "occurred_at", "expires_at", "created_at"]


class RedeemPreviewSerializer(serializers.Serializer):
    points = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.CharField()
    balance = serializers.IntegerField()
    balance_after = serializers.IntegerField()


class RedeemRequestSerializer(serializers.Serializer):
    points = serializers.IntegerField(min_value=1)
    order_reference = serializers.CharField(max_length=100)


class RedemptionSerializer(serializers.Serializer):
    entry = PointsEntrySerializer()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.CharField()
    balance = serializers.IntegerField()


def _points_param(request) -> int:
    raw = request.query_params.get("points", "").strip()
    if not raw.isdigit() or int(raw) <= 0:
        raise ValidationFailed(
            f"points {raw!r} is not a whole number of points above zero: send ?points=500.",
            code="invalid_points",
            fields={"points": ["A whole number above zero."]},
        )
    return int(raw)


class AccountView(APIView):
    permission_classes = [AccessPolicy]
    access = {"GET": READ}

    @extend_schema(responses=AccountSummarySerializer)
    def get(self, request, customer_id: int):
        account = selectors.account_for_customer(customer_id=customer_id)
        return Response(AccountSummarySerializer(selectors.account_summary(account=account)).data)


class AccountEntriesView(ListAPIView):
    """The points ledger of a customer's account, newest first."""

    permission_classes = [AccessPolicy]
    access = {"GET": READ}
    serializer_class = PointsEntrySerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return PointsEntry.objects.none()
        account = selectors.account_for_customer(customer_id=self.kwargs["customer_id"])
        return selectors.account_entries(account=account)


class RedeemPreviewView(APIView):
    """Preview of a redemption: the amount `points` would pay at checkout and the balance left after it. Changes nothing."""

    permission_classes = [AccessPolicy]
    access = {"GET": READ}

    @extend_schema(parameters=[OpenApiParameter("points", int, required=True)], responses=RedeemPreviewSerializer)
    def get(self, request, customer_id: int):
        points = _points_param(request)
        account = selectors.account_for_customer(customer_id=customer_id)
        return Response(RedeemPreviewSerializer(services.points_redeem_preview(account=account, points=points)).data)


class RedemptionCreateView(APIView):
    """Redeem points as a tender of an order; the response's amount is what the points pay."""

    permission_classes = [AccessPolicy]
    access = {"POST": REDEEM}

    @extend_schema(request=RedeemRequestSerializer, responses={201: RedemptionSerializer})
    @idempotent
    def post(self, request, customer_id: int):
        serializer = RedeemRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        account = selectors.account_for_customer(customer_id=customer_id)
        entry = services.points_redeem(
            account_id=account.pk, points=serializer.validated_data["points"], order_reference=serializer.validated_data["order_reference"]
        )
        account.refresh_from_db(fields=["balance"])
        body = {"entry": entry, "amount": entry.amount, "currency": account.program.currency, "balance": account.balance}
        return Response(RedemptionSerializer(body).data, status=status.HTTP_201_CREATED)
