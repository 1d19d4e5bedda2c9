from django.db import models


class DailySales(models.Model):
    """Sales of one day at one location on one channel, rebuilt by the nightly rollup from the orders."""

    day = models.DateField()
    channel = models.ForeignKey("catalog.Channel", on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey("inventory.Location", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    currency = models.CharField(max_length=3)
    orders = models.PositiveIntegerField()
    lines = models.PositiveIntegerField()
    units = models.BigIntegerField()
    sales = models.DecimalField(max_digits=16, decimal_places=2, help_text="Sum of line totals, after line discounts.")
    cost = models.DecimalField(max_digits=18, decimal_places=4, help_text="Units times the unit cost copied at sale time.")
    refreshed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "daily sales"
        constraints = [
            models.UniqueConstraint(fields=["day", "channel", "location"], name="daily_sales_unique", nulls_distinct=False),
        ]
        indexes = [models.Index(fields=["location", "day"], name="daily_sales_location_idx")]
