"""indexes for catalogue search: files by (version, format), versions by (dataset, state)

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # (version_id, format) makes the format filter and facet index-only and also serves
    # lookups by version_id, so it replaces the single-column index.
    with op.batch_alter_table("dataset_files", schema=None) as batch_op:
        batch_op.create_index(
            "ix_dataset_files_version_id_format", ["version_id", "format"], unique=False
        )
        batch_op.drop_index(batch_op.f("ix_dataset_files_version_id"))
    with op.batch_alter_table("dataset_versions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_dataset_versions_dataset_id_state", ["dataset_id", "state"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("dataset_versions", schema=None) as batch_op:
        batch_op.drop_index("ix_dataset_versions_dataset_id_state")
    with op.batch_alter_table("dataset_files", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dataset_files_version_id"), ["version_id"], unique=False
        )
        batch_op.drop_index("ix_dataset_files_version_id_format")
