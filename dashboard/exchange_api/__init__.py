"""The exchange-compatible private API for programs: request signing checks, the key store, the
response format and the API keys page."""
