"""Pricing API: the register and storefront quote, and the staff API for pricing set-up."""
