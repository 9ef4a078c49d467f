"""Flask extensions, created unbound here and bound to an app in create_app."""
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
# The engine of signed_in.read_connection(); no model is bound to it.
READS_BIND = "reads"
migrate = Migrate()
babel = Babel()
login = LoginManager()
csrf = CSRFProtect()
# No default limits: only sign-in and the signed API are throttled, each with its own rule.
limiter = Limiter(key_func=get_remote_address, default_limits=[])
