"""Passwords are kept as werkzeug's scrypt hashes; the suite's cheaper method is a test app's alone."""
from __future__ import annotations

import pytest
from werkzeug.security import check_password_hash

from dashboard import create_app
from dashboard.models import hash_password


def test_the_suite_hashes_cheaply_and_the_hash_still_checks(app):
    with app.app_context():
        hashed = hash_password("correct horse")
    assert hashed.startswith("pbkdf2:sha256:1$")
    assert check_password_hash(hashed, "correct horse") and not check_password_hash(hashed, "wrong horse")


@pytest.mark.parametrize("config", [
    {"ENV_NAME": "development", "SQLALCHEMY_DATABASE_URI": "sqlite://"},
    # Named without TESTING, the cheap method is ignored.
    {"ENV_NAME": "development", "SQLALCHEMY_DATABASE_URI": "sqlite://", "TEST_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1"},
])
def test_a_real_app_hashes_with_scrypt(config):
    app = create_app(config)
    with app.app_context():
        hashed = hash_password("correct horse")
    assert hashed.startswith("scrypt:")
    assert check_password_hash(hashed, "correct horse")


def test_outside_an_app_it_is_scrypt():
    assert hash_password("correct horse").startswith("scrypt:")
