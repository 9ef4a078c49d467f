"""The "API keys" page: a signed-in customer creates, lists and revokes keys for the signed API."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from dashboard.accounts import confirmation, security_events
from dashboard.accounts.forms import EmptyForm
from dashboard.core.allowed_addresses import MAX_ENTRIES, AllowedAddressError, parse_allowed, split_entries
from dashboard.core.signing import parse_access_key
from dashboard.exchange_api.forms import ApiKeyForm
from dashboard.exchange_api.key_store import READ_BALANCES, ApiKeyError, account_keys, create_key, find_key, revoke_key
from dashboard.extensions import db
from dashboard.language.i18n import format_time

bp = Blueprint("api_keys", __name__)


def _address_error(error: AllowedAddressError) -> str:
    if error.too_many:
        return _("List at most %(count)d addresses or networks.", count=MAX_ENTRIES)
    return _("Not an IP address or network: %(entries)s. Write one per line, e.g. 192.0.2.10, 192.0.2.0/24 or 2001:db8::/32.", entries=", ".join(error.bad))


def _index(form: ApiKeyForm, status: int = 200):
    keys = account_keys(current_user.id)
    return render_template("exchange_api/keys.html", form=form, keys=keys, format_time=format_time), status


@bp.get("/api-keys")
@login_required
def index():
    return _index(ApiKeyForm(formdata=None))


@bp.post("/api-keys")
@login_required
@confirmation.required("api_keys.index")
def create():
    form = ApiKeyForm()
    if not form.validate_on_submit():
        return _index(form, 400)
    permissions = [READ_BALANCES] if form.read_balances.data else []
    if not permissions:
        form.read_balances.errors.append(_("Choose at least one permission."))
        return _index(form, 400)
    entries = split_entries(form.allowed_addresses.data or "")
    try:
        parse_allowed(entries)
    except AllowedAddressError as error:
        form.allowed_addresses.errors.append(_address_error(error))
        return _index(form, 400)
    new = create_key(current_user.id, permissions=permissions, allowed=entries, source="web")
    security_events.record(current_user.id, "api_key_created")
    db.session.commit()
    # The only page that ever shows the secret; it is not kept anywhere it could be shown again.
    return render_template("exchange_api/key_created.html", key=new.key, secret=new.secret), 201


@bp.post("/api-keys/revoke")
@login_required
def revoke():
    if not EmptyForm().validate_on_submit():
        abort(400, description=_("The form could not be read. Please try again."))
    # The key is named in the form, never in the URL, and looked up among this account's only:
    # another account's key answers exactly like a missing one.
    access_key = parse_access_key(request.form.get("access_key"))
    key = find_key(access_key) if access_key else None
    if key is None or key.account_id != current_user.id:
        abort(404, description=_("There is no such API key."))
    try:
        revoke_key(key, source="web")
    except ApiKeyError:
        db.session.rollback()
        flash(_("The API key %(key)s was already revoked.", key=key.access_key))
    else:
        db.session.commit()
        flash(_("The API key %(key)s has been revoked. Requests signed with it are now refused.", key=key.access_key))
    return redirect(url_for("api_keys.index"))
