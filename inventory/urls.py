from django.urls import path

from .api import views

urlpatterns = [
    path("availability/", views.AvailabilityView.as_view(), name="inventory-availability"),
    path("stock-levels/", views.StockLevelListView.as_view(), name="inventory-stock-level-list"),
    path("stock-levels/<int:stock_level_id>/", views.StockLevelDetailView.as_view(), name="inventory-stock-level-detail"),
    path("adjustments/", views.AdjustmentView.as_view(), name="inventory-adjustment"),
    path("safety-stock/", views.SafetyStockView.as_view(), name="inventory-safety-stock"),
    path("transfers/", views.TransferListView.as_view(), name="inventory-transfer-list"),
    path("transfers/<int:transfer_id>/", views.TransferDetailView.as_view(), name="inventory-transfer-detail"),
    path("transfers/<int:transfer_id>/ship/", views.TransferShipView.as_view(), name="inventory-transfer-ship"),
    path("transfers/<int:transfer_id>/receive/", views.TransferReceiveView.as_view(), name="inventory-transfer-receive"),
    path("transfers/<int:transfer_id>/cancel/", views.TransferCancelView.as_view(), name="inventory-transfer-cancel"),
    path("counts/", views.CycleCountListView.as_view(), name="inventory-count-list"),
    path("counts/<int:cycle_count_id>/", views.CycleCountDetailView.as_view(), name="inventory-count-detail"),
    path("locations/", views.LocationListView.as_view(), name="inventory-location-list"),
    path("locations/<slug:code>/", views.LocationDetailView.as_view(), name="inventory-location-detail"),
]
