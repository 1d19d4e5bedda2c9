from django.contrib import admin
from django.urls import include, path
from django.views.generic import TemplateView
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from .api import WhoAmIView
from .views import health

api_v1 = [
    path("me/", WhoAmIView.as_view(), name="whoami"),
    path("", include("catalog.urls")),
    path("", include("inventory.urls")),
    path("", include("customers.urls")),
    path("", include("orders.urls")),
    path("", include("pricing.urls")),
    path("", include("loyalty.urls")),
]

admin.site.site_header = "Tandem back-office"
admin.site.site_title = "Tandem"
admin.site.index_title = "Stores, stock, orders and customers"

urlpatterns = [
    path("", TemplateView.as_view(template_name="home.html"), name="home"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
    path("health/", health, name="health"),
]
