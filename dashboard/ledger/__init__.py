"""The ledger: the one place balances change, the journal, rates and their updates, CSV imports and
exports, and the demo data."""
