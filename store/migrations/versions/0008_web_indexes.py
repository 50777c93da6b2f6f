"""web indexes: My tasks counts a caseworker's open tasks from two indexes alone

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

`open_task_count` joins a caseworker's open tasks (about 3,000 when all 100,000 cases are
open) to their cases to check the OCMW. With the case id in the tasks index and the case
ids of each OCMW in a cases index, both sides are read from indexes alone, no table row:
on SQLite (a lookup per task in (ocmw, id)) 13 ms → 1.4 ms, on PostgreSQL (a hash join of
the OCMW's case ids) 5.3 ms → 1.4 ms at 100,000 cases (bench/web.py). The tasks index keeps
(due_on, id) in order for My tasks' list and replaces the one of 0007, whose columns it
starts with.
"""

from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.create_index('ix_tasks_assignee_open_case',
                              ['assignee', 'status', 'due_on', 'id', 'case_id'],
                              unique=False)
        batch_op.drop_index('ix_tasks_assignee_open_due')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_ocmw_id', ['ocmw', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_ocmw_id')
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.create_index('ix_tasks_assignee_open_due', ['assignee', 'status', 'due_on'],
                              unique=False)
        batch_op.drop_index('ix_tasks_assignee_open_case')
