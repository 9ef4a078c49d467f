"""GET /api/openapi.json: the document, public (it describes, it holds no data)."""
from __future__ import annotations

from flask import Blueprint, jsonify

from dashboard.api_description.document import document

bp = Blueprint("api_description", __name__)


@bp.get("/api/openapi.json")
def openapi():
    return jsonify(document())
