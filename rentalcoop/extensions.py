"""Flask extensions, created unbound and initialised in `create_app`."""

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from rentalcoop.db import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
babel = Babel()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def _render_without_shared_ids() -> None:
    """Pages carry many small forms (one per row, the header's log-out): a CSRF token or a
    submit button rendered with its field name as id repeats that id on the page, which HTML
    forbids (the Nu validator counted 76 such errors, issue 16). Neither needs an id — no label
    points at them — so they render without one unless a template gives one."""
    from flask_wtf import FlaskForm

    render = FlaskForm.Meta.render_field

    def render_field(self, field, render_kw):
        if field.type in ("CSRFTokenField", "SubmitField") and "id" not in render_kw:
            render_kw = {**render_kw, "id": False}
        return render(self, field, render_kw)

    FlaskForm.Meta.render_field = render_field


_render_without_shared_ids()
