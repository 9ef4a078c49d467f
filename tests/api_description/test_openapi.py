"""The OpenAPI document: served, valid 3.1, and true: Schemathesis sends what it describes (and
what it does not) to every operation, signed in and with a valid API key, and checks that no
answer is a 5xx and that every answer matches the document."""
from __future__ import annotations

import itertools
import time

import pytest
import schemathesis
from conftest import csrf_token_in, sign_in
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from dashboard.core.signing import sign
from dashboard.extensions import db

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = 25


def test_the_document_is_served_and_names_the_apis(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    document = response.get_json()
    assert document["openapi"].startswith("3.1")
    assert {"/api/balance", "/api/preferences", "/api/history", "/api/activity", "/api/gains", "/api/accounts/balance"} <= set(document["paths"])


@pytest.fixture
def api_key(app, demo):
    from dashboard.accounts.store import find_account
    from dashboard.exchange_api.key_store import create_key

    with app.app_context():
        new = create_key(find_account("demo@example.com").id, source="cli")
        db.session.commit()
        return new.key.access_key, new.secret


def test_schemathesis_finds_no_5xx_and_no_answer_unlike_the_document(app, client, demo, api_key):
    sign_in(client)
    csrf_cookie_client = client
    csrf = csrf_token_in(csrf_cookie_client.get("/").get_data(as_text=True))
    cookie = {"session": client.get_cookie("session").value}
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    access_key, secret = api_key
    nonces = itertools.count(int(time.time() * 1000))
    seen_statuses: set[tuple[str, int]] = set()

    def signed_headers(case) -> dict:
        nonce = str(next(nonces))
        url = "http://localhost" + case.formatted_path
        return {"ACCESS-KEY": access_key, "ACCESS-NONCE": nonce, "ACCESS-SIGNATURE": sign(secret, nonce, url)}

    def exercise_operation(operation):
        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def exercise(case):
            # As generated (random or missing credentials), then as a real client sends it.
            for headers, cookies, query in ((None, None, None), *_real_client(operation.path, case, cookie, csrf, signed_headers)):
                if query is not None:  # after the generated call: the real client asks what exists
                    case.query = query
                response = case.call(headers=headers, cookies=cookies)
                case.validate_response(response, checks=CHECKS)
                seen_statuses.add((operation.path, response.status_code))

        exercise()

    for result in schema.get_all_operations():
        exercise_operation(result.ok())

    # The real clients were let in: each operation answered 200 at least once.
    assert {path for path, status in seen_statuses if status == 200} == {
        "/api/balance", "/api/preferences", "/api/history", "/api/activity", "/api/gains", "/api/accounts/balance"}


def _real_client(path, case, cookie, csrf, signed_headers):
    if path == "/api/accounts/balance":
        return [(signed_headers(case), None, None)]
    headers = {"X-CSRFToken": csrf}
    # The demo's journal has one page; a later one is a documented 404.
    query = {"page": 1} if path == "/api/activity" else None
    if path == "/api/preferences":
        headers["Content-Type"] = "application/json"
    return [(headers, cookie, query)]
