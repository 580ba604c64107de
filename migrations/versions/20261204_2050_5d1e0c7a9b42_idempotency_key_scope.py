"""Idempotency keys belong to their sender: key scope (facility and user) and the request fingerprint.

A shortage's client id and the idempotency keys of stock operations and goods receipts were unique across the
whole database, so a key sent by two villages answered one of them with the other's record. They are now unique
per `key_scope`, and the row keeps `request_hash` to refuse the same key sent with another request. Existing rows
keep an empty scope and hash (still unique among themselves; replayed as before).

Revision ID: 5d1e0c7a9b42
Revises: b7a41c3e9d20
Create Date: 2026-12-04 20:50:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5d1e0c7a9b42'
down_revision = 'b7a41c3e9d20'
branch_labels = None
depends_on = None

TABLES = (('shortage', 'client_id'), ('stock_operation', 'idempotency_key'), ('goods_receipt', 'idempotency_key'))


def upgrade():
    for table, key in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('key_scope', sa.String(length=40), nullable=False, server_default=''))
            batch_op.add_column(sa.Column('request_hash', sa.String(length=64), nullable=False, server_default=''))
            batch_op.drop_constraint(f'uq_{table}_{key}', type_='unique')
            batch_op.create_unique_constraint(f'uq_{table}_key_scope_{key}', ['key_scope', key])
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('key_scope', server_default=None)
            batch_op.alter_column('request_hash', server_default=None)


def downgrade():
    for table, key in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f'uq_{table}_key_scope_{key}', type_='unique')
            batch_op.create_unique_constraint(f'uq_{table}_{key}', [key])
            batch_op.drop_column('request_hash')
            batch_op.drop_column('key_scope')
