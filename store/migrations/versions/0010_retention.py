"""retention: pseudonymised cases, and history rows whose free text retention removed

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05

`cases.pseudonymised_at` marks a case the retention job has done (services/retention.py),
so a second run finds nothing to do. `case_events.redacted_at` marks a history row whose
free text (a contact's note, a reopening's reason) retention removed: the append-only
trigger now lets exactly that through — one UPDATE that sets `redacted_at` on a row that
had none and changes neither its id, case, kind, actor nor time. Every other UPDATE and
every DELETE is still refused.
"""

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

#: the one UPDATE case_events accepts: its first redaction, who/when/what kind unchanged
REDACTION = """OLD.redacted_at IS NULL AND NEW.redacted_at IS NOT NULL
    AND NEW.id = OLD.id AND NEW.case_id = OLD.case_id AND NEW.kind = OLD.kind
    AND NEW.actor = OLD.actor AND NEW.at = OLD.at"""


def upgrade() -> None:
    # plain ADD COLUMN (no batch copy on SQLite): the table and its triggers stay as they are
    op.add_column('cases', sa.Column('pseudonymised_at', sa.DateTime(), nullable=True))
    op.add_column('case_events', sa.Column('redacted_at', sa.DateTime(), nullable=True))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f"""CREATE OR REPLACE FUNCTION case_events_append_only() RETURNS trigger AS $$
            BEGIN
                IF TG_OP = 'UPDATE' AND {REDACTION} THEN RETURN NEW; END IF;
                RAISE EXCEPTION 'case_events is append-only';
            END $$ LANGUAGE plpgsql""")
    else:
        op.execute('DROP TRIGGER case_events_no_update')
        op.execute(f"""CREATE TRIGGER case_events_no_update BEFORE UPDATE ON case_events
            WHEN NOT ({REDACTION})
            BEGIN SELECT RAISE(ABORT, 'case_events is append-only'); END""")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("""CREATE OR REPLACE FUNCTION case_events_append_only() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION 'case_events is append-only'; END $$ LANGUAGE plpgsql""")
    else:
        op.execute('DROP TRIGGER case_events_no_update')
        op.execute("""CREATE TRIGGER case_events_no_update BEFORE UPDATE ON case_events
            BEGIN SELECT RAISE(ABORT, 'case_events is append-only'); END""")
    op.drop_column('case_events', 'redacted_at')
    op.drop_column('cases', 'pseudonymised_at')
