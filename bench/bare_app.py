"""The yardstick: a bare Flask app answering a short JSON body, served exactly like the dashboard."""
from flask import Flask, jsonify


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index():
        return jsonify({"ok": True})

    return app
