"""A connection the server drops in the middle of a transaction (a restart, a crash, a killed
backend): the error is the database's, and rolling back afterwards raises nothing more. The
compensation drill (tests/drills/test_compensation_restart.py) found the read cache's rollback
hook asking the dead connection for its info, which turned a clear "database unreachable" into a
PendingRollbackError and a stack trace."""
from __future__ import annotations

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import OperationalError

from dashboard.extensions import db
from dashboard.models import Account


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_transaction_whose_connection_died_rolls_back_cleanly(app, demo):
    with app.app_context():
        db.session.execute(update(Account).values(discreet=True))  # a watched write, uncommitted
        backend_pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with db.engine.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend_pid})
        with pytest.raises(OperationalError):
            db.session.execute(select(Account.id)).all()
        db.session.rollback()  # raised PendingRollbackError from the read cache's hook
        assert db.session.execute(select(Account.discreet)).scalars().all() == [False]
        db.session.remove()


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_connection_that_dies_as_the_request_ends_does_not_turn_the_answer_into_a_500(app, demo):
    """The restart drill saw gunicorn's bare 500 for /activity: the page was made, then the server
    shut down and the session's closing ROLLBACK (Flask-SQLAlchemy's teardown) raised, after the
    answer, where no error handler runs."""
    @app.get("/test-only/dies-at-teardown")
    def dies_at_teardown():
        backend_pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar_one()  # a transaction is open
        with db.engine.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend_pid})
        return "made"

    response = app.test_client().get("/test-only/dies-at-teardown")
    assert response.status_code == 200 and response.text == "made"
    with app.app_context():  # the pool has replaced the connection
        assert db.session.execute(select(Account.email)).scalars().all() == ["demo@example.com"]
        db.session.remove()
