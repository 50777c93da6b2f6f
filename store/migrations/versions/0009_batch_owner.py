"""batch owner: who imported a batch, so the review queues show each OCMW its own

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

In a regional deployment (19 OCMWs on one database) an administrator sees the quarantined
records and the triage cases of the batches their OCMW imported, and those of the batches
the local operator imported from the command line (no owner: both columns NULL).
"""

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('batches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ocmw', sa.String(length=5), nullable=True))
        batch_op.add_column(sa.Column('imported_by', sa.String(length=320), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('batches', schema=None) as batch_op:
        batch_op.drop_column('imported_by')
        batch_op.drop_column('ocmw')
