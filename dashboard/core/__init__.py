"""The pure core: exact money, the number filters, language choice, request signing, secrets at
rest, address lists and the currency table. Imports neither Flask nor the database nor any other
area (the contracts in setup.cfg)."""
