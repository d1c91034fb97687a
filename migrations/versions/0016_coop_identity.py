"""The cooperative's identity (issue 16): its profile, versioned privacy policy and terms, and
the terms version each account accepted

Revision ID: 0016_coop_identity
Revises: 0014_year_end
Create Date: 2026-12-04 02:20:00

"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import rentalcoop.db

revision = "0016_coop_identity"
down_revision = "0014_year_end"
branch_labels = None
depends_on = None

# The first versions, for the board to replace with the cooperative's own (/board/identity).
PRIVACY_SV = (
    "Föreningen behandlar de uppgifter du lämnar (namn, e-post, bokningar, meddelanden, omdömen "
    "och betalningar) för att kunna förmedla och genomföra bokningar, betala värdar och föra "
    "föreningens bokföring (avtal och rättslig förpliktelse enligt GDPR art. 6.1 b och c).\n\n"
    "Värden ser gästens namn och bokningen; adressen till bostaden visas för gästen först när "
    "bokningen är bekräftad. Kommunen får endast anonymiserad statistik.\n\n"
    "Du kan när som helst ladda ner dina uppgifter och radera ditt konto under Kontoinställningar. "
    "Bokföringsuppgifter sparas så länge bokföringslagen kräver."
)
PRIVACY_EN = (
    "The association processes what you give it (name, email, bookings, messages, reviews and "
    "payments) to arrange and carry out bookings, pay hosts and keep its accounts (contract and "
    "legal obligation, GDPR art. 6(1)(b) and (c)).\n\n"
    "The host sees the guest's name and the booking; the guest sees the home's address only "
    "once the booking is confirmed. The municipality receives anonymised statistics only.\n\n"
    "You can download your data and delete your account at any time under Account settings. "
    "Bookkeeping records are kept as long as the Swedish Bookkeeping Act requires."
)
TERMS_SV = (
    "Föreningen förmedlar boenden mellan värdar, som är föreningens medlemmar, och gäster. "
    "Avtalet om vistelsen ingås mellan gäst och värd; föreningen tar emot betalningen och "
    "betalar ut den till värden.\n\n"
    "Gästen betalar det pris som visas före bokningen, inklusive serviceavgiften. Avbokning "
    "följer bostadens avbokningsvillkor, som visas före bokningen.\n\n"
    "Den som bokar godkänner bostadens husregler. Omdömen och meddelanden ska vara sakliga; "
    "föreningen kan dölja innehåll som bryter mot reglerna."
)
TERMS_EN = (
    "The association arranges stays between hosts, who are its members, and guests. The "
    "contract for the stay is between guest and host; the association takes the payment and "
    "pays it out to the host.\n\n"
    "The guest pays the price shown before booking, service fee included. Cancellation follows "
    "the home's cancellation policy, shown before booking.\n\n"
    "Whoever books accepts the home's house rules. Reviews and messages are to be fair; the "
    "association may hide content that breaks these terms."
)


def upgrade():
    profile = op.create_table(
        "coop_profile",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("organisation_number", sa.String(length=20), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("contact_email", sa.String(length=254), nullable=False),
        sa.Column("updated_at", rentalcoop.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coop_profile")),
    )
    texts = op.create_table(
        "legal_texts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("body_sv", sa.Text(), nullable=False),
        sa.Column("body_en", sa.Text(), nullable=False),
        sa.Column("published_at", rentalcoop.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("published_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["published_by_id"], ["users.id"], name=op.f("fk_legal_texts_published_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_texts")),
        sa.UniqueConstraint("kind", "version", name=op.f("uq_legal_texts_kind_version")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("terms_version", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "terms_accepted_at", rentalcoop.db.UTCDateTime(timezone=True), nullable=True
            )
        )
    founded = datetime(2026, 12, 4, tzinfo=UTC)
    op.bulk_insert(
        profile,
        [
            {
                "id": 1,
                "name": "rentalcoop ekonomisk förening",
                "organisation_number": "",
                "address": "",
                "contact_email": "",
                "updated_at": founded,
            }
        ],
    )
    op.bulk_insert(
        texts,
        [
            {"id": 1, "kind": "privacy", "version": 1, "body_sv": PRIVACY_SV,
             "body_en": PRIVACY_EN, "published_at": founded},
            {"id": 2, "kind": "terms", "version": 1, "body_sv": TERMS_SV, "body_en": TERMS_EN,
             "published_at": founded},
        ],
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("SELECT setval('legal_texts_id_seq', 2, true)")


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("terms_accepted_at")
        batch_op.drop_column("terms_version")
    op.drop_table("legal_texts")
    op.drop_table("coop_profile")
