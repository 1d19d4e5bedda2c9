"""Inventory API views. Thin: parse, check the caller's location, call a service or selector.

Reads (availability, stock levels, locations): API keys with inventory:read and every staff role.
API keys always get online availability. Writes are staff only, at the staff member's own locations
for location-bound roles, and every write POST takes an Idempotency-Key.
Unknown SKUs and location codes get a 404 response that names them, in reads and in writes.
"""

from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.models import Variant
from commerce.access import ALL_STAFF, AccessPolicy, Rule, allowed_location_ids, api_key_of, check_location, role_of
from commerce.errors import Conflict, Forbidden, NotFound, ValidationFailed
from commerce.idempotency import idempotent
from commerce.models import Role, Scope
from commerce.pagination import Pagination

from .. import selectors, services
from ..models import CycleCount, Location, MovementReason, StockLevel, Transfer
from . import serializers as s

READ = Rule(scope=Scope.INVENTORY_READ, roles=ALL_STAFF)
MANAGE = Rule(roles=frozenset({Role.STORE_MANAGER, Role.ADMINISTRATOR}))
# Fulfillment associates may adjust only for damage; the view checks the reason.
ADJUST = Rule(roles=frozenset({Role.STORE_MANAGER, Role.ADMINISTRATOR, Role.FULFILLMENT_ASSOCIATE}))
FLOOR = Rule(roles=frozenset({Role.STORE_MANAGER, Role.ADMINISTRATOR, Role.FULFILLMENT_ASSOCIATE}))
STAFF_READ = Rule(roles=ALL_STAFF)
ADMINISTER = Rule(roles=frozenset({Role.ADMINISTRATOR}))


def _validated(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _actor_id(request) -> int | None:
    return None if api_key_of(request) is not None else request.user.pk


def _location(code: str, *, field: str = "location") -> Location:
    location = Location.objects.filter(code=code).first()
    if location is None:
        raise NotFound(
            f"Location {code!r} does not exist: use a code from GET /api/v1/locations/.", code="location_not_found",
            fields={field: [f"Unknown location {code}."]},
        )
    return location


def _variants(skus: list[str]) -> dict[str, Variant]:
    """Resolve SKUs in one query; raise NotFound listing every unknown one."""
    variants = {variant.sku: variant for variant in Variant.objects.filter(sku__in=set(skus))}
    unknown = sorted(set(skus) - set(variants))
    if unknown:
        raise NotFound(
            f"Unknown SKU(s): {', '.join(unknown)}. Check the SKUs against the catalog.", code="unknown_sku",
            fields={"skus": unknown},
        )
    return variants


def _at_location(request, location: Location) -> None:
    check_location(request, location.pk, label=location.code)


# Availability -----------------------------------------------------------------------------------------


class AvailabilityView(APIView):
    """Availability of one or many SKUs per location and across the network.

    GET ?sku=A&sku=B (or sku=A,B) [&location=code] [&online=true]; POST {"skus": [...], "location", "online"}
    for up to 100 SKUs. API keys always get online availability: only locations that ship or offer
    pickup, after safety stock, never below zero. Any unknown SKU makes the whole response a 404 that
    lists every unknown SKU in `fields.skus`.
    """

    permission_classes = [AccessPolicy]
    access = {"GET": READ, "POST": READ}
    serializer_class = s.AvailabilitySerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("sku", str, many=True, required=True, description="A SKU; repeat the parameter or separate SKUs by commas."),
            OpenApiParameter("location", str, description="Only this location code."),
            OpenApiParameter("online", bool, description="Online availability (always on for API keys)."),
        ],
        responses=s.AvailabilitySerializer,
    )
    def get(self, request):
        skus = [sku.strip() for value in request.query_params.getlist("sku") for sku in value.split(",") if sku.strip()]
        data = {"skus": skus, "online": request.query_params.get("online", "false")}
        if "location" in request.query_params:
            data["location"] = request.query_params["location"]
        return self._answer(request, _validated(s.AvailabilityQuerySerializer, data))

    @extend_schema(request=s.AvailabilityQuerySerializer, responses=s.AvailabilitySerializer)
    def post(self, request):
        # A read sent as POST only because a basket of SKUs does not fit a URL; it writes nothing, so no Idempotency-Key.
        return self._answer(request, _validated(s.AvailabilityQuerySerializer, request.data))

    def _answer(self, request, query: dict) -> Response:
        skus = list(dict.fromkeys(query["skus"]))
        online = query["online"] or api_key_of(request) is not None
        location_code = query.get("location")
        answer = selectors.availability_for_skus(skus=skus, location_code=location_code, online=online)
        if answer["unknown_skus"]:
            unknown = answer["unknown_skus"]
            raise NotFound(
                f"Unknown SKU(s): {', '.join(unknown)}. Check the SKUs against the catalog.", code="unknown_sku", fields={"skus": unknown},
            )
        if not answer["location_found"]:
            _location(location_code)
        # The selector returns plain dicts of ints and strings in the documented shape. Running them
        # through the nested serializer took about a third of the request time in bench/availability.py.
        return Response({"online": online, "location": location_code, "results": answer["results"]})


# Stock levels -----------------------------------------------------------------------------------------


class StockLevelFilter(filters.FilterSet):
    location = filters.CharFilter(field_name="location__code", help_text="Location code.")
    sku = filters.CharFilter(field_name="variant__sku", help_text="Exact SKU.")
    needs_count = filters.BooleanFilter()
    below_safety_stock = filters.BooleanFilter(method="filter_below_safety_stock", help_text="On hand minus reserved is below safety stock.")
    available_lte = filters.NumberFilter(field_name="available", lookup_expr="lte", help_text="Available is at most this many units.")

    class Meta:
        model = StockLevel
        fields = ["location", "sku", "needs_count", "below_safety_stock", "available_lte"]

    def filter_below_safety_stock(self, queryset, name, value):
        return queryset.filter(available__lt=0) if value else queryset.filter(available__gte=0)


class StockLevelListView(generics.ListAPIView):
    """Stock levels, paginated; location-bound staff see only their own locations."""

    permission_classes = [AccessPolicy]
    access = {"GET": READ}
    serializer_class = s.StockLevelSerializer
    filterset_class = StockLevelFilter

    def get_queryset(self):
        code = self.request.query_params.get("location")
        if code:
            _at_location(self.request, _location(code))
        return selectors.stock_levels_list(location_ids=allowed_location_ids(self.request))


class StockLevelDetailView(APIView):
    """One stock level, units in transit to it, and its movements most recent first (paginated by ?page)."""

    permission_classes = [AccessPolicy]
    access = {"GET": READ}
    serializer_class = s.StockLevelSerializer

    def get(self, request, stock_level_id: int):
        level = StockLevel.objects.select_related("variant", "location").filter(pk=stock_level_id).first()
        if level is None:
            raise NotFound(f"Stock level {stock_level_id} does not exist.", code="stock_level_not_found")
        _at_location(request, level.location)
        paginator = Pagination()
        page = paginator.paginate_queryset(selectors.stock_level_movements(stock_level_id=level.pk), request, view=self)
        body = s.StockLevelSerializer(level).data
        body["in_transit"] = selectors.units_in_transit(variant_id=level.variant_id, destination_id=level.location_id)
        body["movements"] = paginator.get_paginated_response(s.MovementSerializer(page, many=True).data).data
        return Response(body)


# Adjustments and safety stock -------------------------------------------------------------------------


class AdjustmentView(APIView):
    """Add or take off units by hand (reason adjustment or damage), with a note."""

    permission_classes = [AccessPolicy]
    access = {"POST": ADJUST}
    serializer_class = s.AdjustmentSerializer

    @extend_schema(request=s.AdjustmentSerializer, responses={201: s.StockLevelSerializer})
    @idempotent
    def post(self, request):
        data = _validated(s.AdjustmentSerializer, request.data)
        location = _location(data["location"])
        variant = _variants([data["sku"]])[data["sku"]]
        if role_of(request.user) == Role.FULFILLMENT_ASSOCIATE and data["reason"] != MovementReason.DAMAGE:
            raise Forbidden(
                "Fulfillment associates may record damage only: ask a store manager for other adjustments.", code="role_not_allowed",
            )
        _at_location(request, location)
        movement = services.stock_adjust(
            variant_id=variant.pk, location_id=location.pk, quantity=data["quantity"], reason=data["reason"], note=data["note"],
            actor_id=_actor_id(request),
        )
        level = StockLevel.objects.select_related("variant", "location").get(pk=movement.stock_level_id)
        body = {"movement": s.MovementSerializer(movement).data, "stock_level": s.StockLevelSerializer(level).data}
        return Response(body, status=status.HTTP_201_CREATED)


class SafetyStockView(APIView):
    """Set the safety stock of a SKU at a location: units kept back from online availability."""

    permission_classes = [AccessPolicy]
    access = {"POST": MANAGE}
    serializer_class = s.SafetyStockSerializer

    @extend_schema(request=s.SafetyStockSerializer, responses=s.StockLevelSerializer)
    @idempotent
    def post(self, request):
        data = _validated(s.SafetyStockSerializer, request.data)
        location = _location(data["location"])
        variant = _variants([data["sku"]])[data["sku"]]
        _at_location(request, location)
        level = services.stock_set_safety_stock(variant_id=variant.pk, location_id=location.pk, safety_stock=data["safety_stock"])
        level = StockLevel.objects.select_related("variant", "location").get(pk=level.pk)
        return Response(s.StockLevelSerializer(level).data)


# Transfers --------------------------------------------------------------------------------------------


def _transfer(request, transfer_id: int) -> Transfer:
    transfer = selectors.transfers_list(location_ids=None).filter(pk=transfer_id).first()
    if transfer is None:
        raise NotFound(f"Transfer {transfer_id} does not exist.", code="transfer_not_found")
    allowed = allowed_location_ids(request)
    if allowed is not None and transfer.source_id not in allowed and transfer.destination_id not in allowed:
        raise Forbidden(
            f"Transfer {transfer.pk} runs from {transfer.source.code} to {transfer.destination.code}, and you work at neither location.",
            code="location_forbidden",
        )
    return transfer


def _transfer_body(transfer_id: int) -> dict:
    return s.TransferSerializer(selectors.transfers_list(location_ids=None).get(pk=transfer_id)).data


class TransferListView(generics.ListAPIView):
    """Transfers from or to the caller's locations, or create a draft transfer."""

    permission_classes = [AccessPolicy]
    access = {"GET": STAFF_READ, "POST": MANAGE}
    serializer_class = s.TransferSerializer

    def get_queryset(self):
        queryset = selectors.transfers_list(location_ids=allowed_location_ids(self.request))
        state = self.request.query_params.get("state")
        if state:
            states = [value for value, _label in Transfer.STATES]
            if state not in states:
                raise ValidationFailed(f"State {state!r} is unknown: use one of {', '.join(states)}.", code="invalid", fields={"state": ["Unknown state."]})
            queryset = queryset.filter(state=state)
        return queryset

    @extend_schema(request=s.TransferCreateSerializer, responses={201: s.TransferSerializer})
    @idempotent
    def post(self, request):
        data = _validated(s.TransferCreateSerializer, request.data)
        source = _location(data["source"], field="source")
        destination = _location(data["destination"], field="destination")
        variants = _variants([line["sku"] for line in data["lines"]])
        allowed = allowed_location_ids(request)
        if allowed is not None and source.pk not in allowed and destination.pk not in allowed:
            raise Forbidden(
                f"You work at neither {source.code} nor {destination.code}: a transfer must start or end at your location.",
                code="location_forbidden",
            )
        transfer = services.transfer_create(
            source_id=source.pk, destination_id=destination.pk, note=data["note"], actor_id=_actor_id(request),
            items=[services.TransferItem(variants[line["sku"]].pk, line["quantity"]) for line in data["lines"]],
        )
        return Response(_transfer_body(transfer.pk), status=status.HTTP_201_CREATED)


class TransferDetailView(APIView):
    permission_classes = [AccessPolicy]
    access = {"GET": STAFF_READ}
    serializer_class = s.TransferSerializer

    def get(self, request, transfer_id: int):
        return Response(s.TransferSerializer(_transfer(request, transfer_id)).data)


class TransferShipView(APIView):
    """Ship a draft transfer from its source; the caller must work at the source."""

    permission_classes = [AccessPolicy]
    access = {"POST": FLOOR}
    serializer_class = s.TransferSerializer

    @extend_schema(request=s.NoteSerializer, responses=s.TransferSerializer)
    @idempotent
    def post(self, request, transfer_id: int):
        data = _validated(s.NoteSerializer, request.data)
        transfer = _transfer(request, transfer_id)
        _at_location(request, transfer.source)
        services.transfer_ship(transfer_id=transfer.pk, actor_id=_actor_id(request), note=data["note"])
        return Response(_transfer_body(transfer.pk))


class TransferReceiveView(APIView):
    """Receive a shipped transfer at its destination; lines not listed arrived in full."""

    permission_classes = [AccessPolicy]
    access = {"POST": FLOOR}
    serializer_class = s.TransferSerializer

    @extend_schema(request=s.TransferReceiveSerializer, responses=s.TransferSerializer)
    @idempotent
    def post(self, request, transfer_id: int):
        data = _validated(s.TransferReceiveSerializer, request.data)
        transfer = _transfer(request, transfer_id)
        _at_location(request, transfer.destination)
        on_transfer = {line.variant.sku: line.variant_id for line in transfer.lines.all()}
        unknown = sorted({line["sku"] for line in data["lines"]} - set(on_transfer))
        if unknown:
            raise ValidationFailed(
                f"SKU(s) {', '.join(unknown)} are not on transfer {transfer.pk}: receive only the SKUs it shipped.",
                code="not_on_transfer", fields={"lines": unknown},
            )
        receipts = [
            services.TransferReceiptLine(
                on_transfer[line["sku"]], received=line["received"], damaged=line["damaged"], reason=line["reason"], note=line["note"],
            )
            for line in data["lines"]
        ]
        services.transfer_receive(transfer_id=transfer.pk, receipts=receipts, actor_id=_actor_id(request), note=data["note"])
        return Response(_transfer_body(transfer.pk))


class TransferCancelView(APIView):
    """Cancel a draft transfer; the caller must work at its source or destination."""

    permission_classes = [AccessPolicy]
    access = {"POST": MANAGE}
    serializer_class = s.TransferSerializer

    @extend_schema(request=s.NoteSerializer, responses=s.TransferSerializer)
    @idempotent
    def post(self, request, transfer_id: int):
        data = _validated(s.NoteSerializer, request.data)
        transfer = _transfer(request, transfer_id)
        services.transfer_cancel(transfer_id=transfer.pk, actor_id=_actor_id(request), note=data["note"])
        return Response(_transfer_body(transfer.pk))


# Cycle counts -----------------------------------------------------------------------------------------


class CycleCountListView(generics.ListAPIView):
    """Cycle counts at the caller's locations, or record one."""

    permission_classes = [AccessPolicy]
    access = {"GET": FLOOR, "POST": FLOOR}
    serializer_class = s.CycleCountSerializer

    def get_queryset(self):
        return selectors.cycle_counts_list(location_ids=allowed_location_ids(self.request))

    @extend_schema(request=s.CycleCountCreateSerializer, responses={201: s.CycleCountSerializer})
    @idempotent
    def post(self, request):
        data = _validated(s.CycleCountCreateSerializer, request.data)
        location = _location(data["location"])
        variants = _variants([line["sku"] for line in data["lines"]])
        _at_location(request, location)
        skus = [line["sku"] for line in data["lines"]]
        twice = sorted({sku for sku in skus if skus.count(sku) > 1})
        if twice:
            raise ValidationFailed(
                f"SKU(s) {', '.join(twice)} are counted twice: send one line per SKU with its total.", code="duplicate_line",
                fields={"lines": twice},
            )
        cycle_count = services.cycle_count_record(
            location_id=location.pk, note=data["note"], actor_id=_actor_id(request),
            items=[services.CountedItem(variants[line["sku"]].pk, line["counted"]) for line in data["lines"]],
        )
        body = s.CycleCountSerializer(selectors.cycle_counts_list(location_ids=None).get(pk=cycle_count.pk)).data
        return Response(body, status=status.HTTP_201_CREATED)


class CycleCountDetailView(APIView):
    permission_classes = [AccessPolicy]
    access = {"GET": FLOOR}
    serializer_class = s.CycleCountSerializer

    def get(self, request, cycle_count_id: int):
        cycle_count = selectors.cycle_counts_list(location_ids=None).filter(pk=cycle_count_id).first()
        if cycle_count is None:
            raise NotFound(f"Cycle count {cycle_count_id} does not exist.", code="cycle_count_not_found")
        _at_location(request, cycle_count.location)
        return Response(s.CycleCountSerializer(cycle_count).data)


# Locations --------------------------------------------------------------------------------------------


def _location_values(location: Location | None, data: dict) -> dict:
    """Merge sent fields over the location's current values, for location_upsert."""
    fields = list(s.LocationWriteSerializer().fields)
    values = {field: getattr(location, field) for field in fields} if location is not None else {}
    values.update(data)
    return values


class LocationListView(generics.ListAPIView):
    """Every location (all staff and API keys with inventory:read), or create one (administrators)."""

    permission_classes = [AccessPolicy]
    access = {"GET": READ, "POST": ADMINISTER}
    serializer_class = s.LocationSerializer
    queryset = Location.objects.order_by("code")

    @extend_schema(request=s.LocationWriteSerializer, responses={201: s.LocationSerializer})
    @idempotent
    def post(self, request):
        data = _validated(s.LocationWriteSerializer, request.data)
        if Location.objects.filter(code=data["code"]).exists():
            raise Conflict(
                f"Location {data['code']} already exists: change it with PATCH /api/v1/locations/{data['code']}/.", code="location_exists",
            )
        location = services.location_upsert(**_location_values(None, data))
        return Response(s.LocationSerializer(location).data, status=status.HTTP_201_CREATED)


class LocationDetailView(APIView):
    """One location by code; administrators may change it (the code itself is fixed)."""

    permission_classes = [AccessPolicy]
    access = {"GET": READ, "PATCH": ADMINISTER}
    serializer_class = s.LocationSerializer

    def get(self, request, code: str):
        return Response(s.LocationSerializer(_location(code)).data)

    @extend_schema(request=s.LocationWriteSerializer, responses=s.LocationSerializer)
    def patch(self, request, code: str):
        location = _location(code)
        serializer = s.LocationWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        if serializer.validated_data.get("code", code) != code:
            raise ValidationFailed(f"A location's code cannot change (from {code}); create a new location instead.", code="invalid", fields={"code": ["Read-only."]})
        location = services.location_upsert(**_location_values(location, serializer.validated_data))
        return Response(s.LocationSerializer(location).data)
