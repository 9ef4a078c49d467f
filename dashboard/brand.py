"""Whose exchange this is: the operator's name, logo, registration and links, from settings (with
the demo's defaults), shown in every page's header and footer; the logo is also the favicon."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, send_file

from dashboard.config import ConfigurationError

bp = Blueprint("brand", __name__)

# What a browser shows as an <img> and a favicon alike.
LOGO_TYPES = {".svg": "image/svg+xml", ".png": "image/png", ".ico": "image/x-icon"}
MAX_LOGO_BYTES = 512 * 1024
URL_SETTINGS = ("SUPPORT_URL", "TERMS_URL")


def demo_logo(app: Flask) -> Path:
    return Path(app.static_folder, "brand", "demo-logo.svg")


def check_url(name: str, value: object) -> str:
    """An absolute http(s) URL with a host, or ConfigurationError saying what is wrong."""
    if not isinstance(value, str) or not value or any(ch.isspace() or ord(ch) < 32 or ch in "<>\"'`" for ch in value):
        raise ConfigurationError(f"{name} must be an http:// or https:// address without spaces, got {value!r}")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"{name} must be an absolute http:// or https:// address such as "
                                 f"https://support.example.com/, got {value!r}")
    return value


def check_logo(value: object) -> Path:
    path = Path(str(value))
    if path.suffix.lower() not in LOGO_TYPES:
        raise ConfigurationError(f"OPERATOR_LOGO must be an .svg, .png or .ico file, got {value!r}")
    if not path.is_file():
        raise ConfigurationError(f"OPERATOR_LOGO names no readable file: {value!r}")
    if path.stat().st_size > MAX_LOGO_BYTES:
        raise ConfigurationError(f"OPERATOR_LOGO is larger than {MAX_LOGO_BYTES // 1024} KB: {value!r}")
    return path


def check_brand(app: Flask) -> None:
    """A bad operator setting stops the start with a message naming it, not a broken footer later."""
    config = app.config
    for name in URL_SETTINGS:
        check_url(name, config.get(name))
    for name in ("OPERATOR_NAME", "OPERATOR_REGISTRATION"):
        value = config.get(name)
        if not isinstance(value, str) or not value.strip() or len(value) > 200:
            raise ConfigurationError(f"{name} must be a text of 1 to 200 characters, got {value!r}")
    config["OPERATOR_LOGO"] = str(check_logo(config.get("OPERATOR_LOGO") or demo_logo(app)))


@bp.get("/brand/logo")
def logo():
    path = Path(current_app.config["OPERATOR_LOGO"])
    return send_file(path, mimetype=LOGO_TYPES[path.suffix.lower()], max_age=3600)


def brand_context() -> dict:
    config = current_app.config
    return {"operator": {key: config[f"OPERATOR_{key.upper()}"] for key in ("name", "registration")}
            | {"support_url": config["SUPPORT_URL"], "terms_url": config["TERMS_URL"]}}


def init_app(app: Flask) -> None:
    check_brand(app)
    app.register_blueprint(bp)
    app.context_processor(brand_context)
