import pytest

from inventory.services import StockLine, stock_receive, stock_set_safety_stock
from tests.factories import LocationFactory, VariantFactory, WarehouseFactory


@pytest.fixture
def network(db):
    """Two shipping stores, a warehouse and a register-only kiosk, with stock of three SKUs.

    Units (on hand): SKU-A 10 at north (3 of them safety stock), 4 at south, 20 at the warehouse,
    7 at the kiosk; SKU-B 2 at north; SKU-C nowhere.
    """
    north = LocationFactory(code="north", name="North store")
    south = LocationFactory(code="south", name="South store")
    warehouse = WarehouseFactory(code="dc", name="Warehouse")
    kiosk = LocationFactory(code="kiosk", name="Kiosk", ships=False, offers_pickup=False, ships_from_store=False)
    sku_a = VariantFactory(sku="SKU-A")
    sku_b = VariantFactory(sku="SKU-B")
    sku_c = VariantFactory(sku="SKU-C")
    stock_receive(
        lines=[
            StockLine(sku_a.pk, north.pk, 10), StockLine(sku_a.pk, south.pk, 4), StockLine(sku_a.pk, warehouse.pk, 20),
            StockLine(sku_a.pk, kiosk.pk, 7), StockLine(sku_b.pk, north.pk, 2),
        ],
        reference_type="receipt", reference_id="PO-1",
    )
    stock_set_safety_stock(variant_id=sku_a.pk, location_id=north.pk, safety_stock=3)
    return {"north": north, "south": south, "dc": warehouse, "kiosk": kiosk, "A": sku_a, "B": sku_b, "C": sku_c}
