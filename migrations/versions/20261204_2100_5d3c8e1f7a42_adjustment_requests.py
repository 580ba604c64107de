"""Adjustment requests: an adjustment above PHARMACY_ADJUSTMENT_APPROVAL_PACKS waits for a second person's approval.

Revision ID: 5d3c8e1f7a42
Revises: 5d1e0c7a9b42
Create Date: 2026-12-04 21:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5d3c8e1f7a42'
down_revision = '5d1e0c7a9b42'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'stock_adjustment_request',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('idempotency_key', sa.String(length=80), nullable=False),
        sa.Column('key_scope', sa.String(length=40), nullable=False),
        sa.Column('request_hash', sa.String(length=64), nullable=False),
        sa.Column('facility_id', sa.Integer(), nullable=False),
        sa.Column('product_id', sa.Integer(), nullable=False),
        sa.Column('lot_id', sa.Integer(), nullable=False),
        sa.Column('qty_delta_base', sa.Integer(), nullable=False),
        sa.Column('reason', sa.String(length=24), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('requested_by_id', sa.Integer(), nullable=True),
        sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('decision_note', sa.Text(), nullable=False),
        sa.Column('operation_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['facility_id'], ['facility.id'],
                                name=op.f('fk_stock_adjustment_request_facility_id_facility')),
        sa.ForeignKeyConstraint(['product_id'], ['product.id'],
                                name=op.f('fk_stock_adjustment_request_product_id_product')),
        sa.ForeignKeyConstraint(['lot_id'], ['lot.id'], name=op.f('fk_stock_adjustment_request_lot_id_lot')),
        sa.ForeignKeyConstraint(['requested_by_id'], ['app_user.id'],
                                name=op.f('fk_stock_adjustment_request_requested_by_id_app_user')),
        sa.ForeignKeyConstraint(['decided_by_id'], ['app_user.id'],
                                name=op.f('fk_stock_adjustment_request_decided_by_id_app_user')),
        sa.ForeignKeyConstraint(['operation_id'], ['stock_operation.id'],
                                name=op.f('fk_stock_adjustment_request_operation_id_stock_operation')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_adjustment_request')),
        sa.UniqueConstraint('key_scope', 'idempotency_key',
                            name=op.f('uq_stock_adjustment_request_key_scope_idempotency_key')),
    )
    with op.batch_alter_table('stock_adjustment_request', schema=None) as batch_op:
        batch_op.create_index('ix_stock_adjustment_request_facility_status', ['facility_id', 'status'], unique=False)


def downgrade():
    with op.batch_alter_table('stock_adjustment_request', schema=None) as batch_op:
        batch_op.drop_index('ix_stock_adjustment_request_facility_status')
    op.drop_table('stock_adjustment_request')
