"""The schema comes only from migrations: one head, models = migrations, down and up again."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from rentalcoop.extensions import db


def _script(app):
    return ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())


def test_single_head(app):
    with app.app_context():
        assert len(_script(app).get_heads()) == 1


def test_models_match_migrations(app):
    """Autogenerate finds nothing to do: a model change without its migration fails here."""
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_downgrade_to_base_and_upgrade_again(app):
    with app.app_context():
        downgrade(revision="base")
        db.engine.dispose()
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        db.engine.dispose()
        tables = set(inspect(db.engine).get_table_names())
    assert {"users", "memberships", "listings", "areas"} <= tables


def test_a_table_rebuild_keeps_data_that_others_refer_to(app):
    """SQLite rebuilds a table to alter it (batch mode); rows referring to it must survive."""
    from sqlalchemy import func, select

    from rentalcoop.bookings.models import BookedNight, Booking
    from tests import factories

    with app.app_context():
        factories.booking(state="confirmed")
        db.session.commit()
        db.session.remove()
        downgrade(revision="-1")
        upgrade()
        db.engine.dispose()
        assert db.session.scalar(select(func.count()).select_from(Booking)) == 1
        assert db.session.scalar(select(func.count()).select_from(BookedNight)) == 3
