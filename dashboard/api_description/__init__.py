"""The OpenAPI 3.1 description of every JSON API, served at /api/openapi.json."""
