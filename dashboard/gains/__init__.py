"""Gains: realized gains per year, the method of acquisition cost, the annual transaction report."""
