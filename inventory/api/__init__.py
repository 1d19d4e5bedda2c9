"""Inventory API: availability, stock levels, adjustments, transfers, cycle counts, safety stock, locations."""
