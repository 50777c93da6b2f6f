"""monitoring index: the statistics read the monitoring facts of cases from one index

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

COLUMNS = ['ocmw', 'postcode', 'outcome_code', 'contact_attempted', 'days_to_contact',
           'first_effective_contact_on', 'home_visits', 'first_received_on']


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_monitoring', COLUMNS, unique=False)


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_monitoring')
