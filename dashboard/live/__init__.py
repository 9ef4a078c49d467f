"""The live wallet: the signed-in account's figures pushed to its open pages over Server-Sent
Events, by a process of its own made for many idle connections (docs/architecture.md#the-live-wallet)."""
