"""医保药品代码: the national code, its generic-level part, 批准文号 and maker on products; imports of the NHSA table.

Revision ID: 8c4f2b6d1e07
Revises: 1b7fc3301513
Create Date: 2026-12-04 21:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8c4f2b6d1e07'
down_revision = '1b7fc3301513'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('product', schema=None) as batch_op:
        batch_op.add_column(sa.Column('nhsa_code', sa.String(length=23), nullable=True))
        batch_op.add_column(sa.Column('nhsa_generic_code', sa.String(length=12), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('approval_no', sa.String(length=32), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('manufacturer', sa.String(length=120), nullable=False, server_default=''))
        batch_op.create_unique_constraint(batch_op.f('uq_product_nhsa_code'), ['nhsa_code'])
        batch_op.create_index(batch_op.f('ix_product_nhsa_generic_code'), ['nhsa_generic_code'], unique=False)
    with op.batch_alter_table('product', schema=None) as batch_op:
        batch_op.alter_column('nhsa_generic_code', server_default=None)
        batch_op.alter_column('approval_no', server_default=None)
        batch_op.alter_column('manufacturer', server_default=None)

    op.create_table(
        'nhsa_import',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('filename', sa.String(length=255), nullable=False),
        sa.Column('file_format', sa.String(length=8), nullable=False),
        sa.Column('encoding', sa.String(length=16), nullable=False),
        sa.Column('row_count', sa.Integer(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['created_by_id'], ['app_user.id'], name=op.f('fk_nhsa_import_created_by_id_app_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_nhsa_import')),
    )
    with op.batch_alter_table('nhsa_import', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_nhsa_import_created_at'), ['created_at'], unique=False)

    op.create_table(
        'nhsa_row',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('import_id', sa.Integer(), nullable=False),
        sa.Column('row_no', sa.Integer(), nullable=False),
        sa.Column('nhsa_code', sa.String(length=23), nullable=False),
        sa.Column('registered_name', sa.String(length=200), nullable=False),
        sa.Column('trade_name', sa.String(length=200), nullable=False),
        sa.Column('dosage_form', sa.String(length=60), nullable=False),
        sa.Column('spec', sa.String(length=200), nullable=False),
        sa.Column('packaging_material', sa.String(length=200), nullable=False),
        sa.Column('pack_qty', sa.Integer(), nullable=True),
        sa.Column('min_unit', sa.String(length=16), nullable=False),
        sa.Column('pack_unit', sa.String(length=16), nullable=False),
        sa.Column('manufacturer', sa.String(length=200), nullable=False),
        sa.Column('approval_no', sa.String(length=32), nullable=False),
        sa.Column('insurance_class', sa.String(length=4), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('score', sa.Float(), nullable=False),
        sa.Column('product_id', sa.Integer(), nullable=True),
        sa.Column('candidates_json', sa.Text(), nullable=False),
        sa.Column('reason', sa.String(length=200), nullable=False),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['decided_by_id'], ['app_user.id'], name=op.f('fk_nhsa_row_decided_by_id_app_user')),
        sa.ForeignKeyConstraint(['import_id'], ['nhsa_import.id'], name=op.f('fk_nhsa_row_import_id_nhsa_import')),
        sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_nhsa_row_product_id_product')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_nhsa_row')),
    )
    with op.batch_alter_table('nhsa_row', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_nhsa_row_import_id'), ['import_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_nhsa_row_nhsa_code'), ['nhsa_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_nhsa_row_product_id'), ['product_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_nhsa_row_status'), ['status'], unique=False)


def downgrade():
    with op.batch_alter_table('nhsa_row', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_nhsa_row_status'))
        batch_op.drop_index(batch_op.f('ix_nhsa_row_product_id'))
        batch_op.drop_index(batch_op.f('ix_nhsa_row_nhsa_code'))
        batch_op.drop_index(batch_op.f('ix_nhsa_row_import_id'))
    op.drop_table('nhsa_row')
    with op.batch_alter_table('nhsa_import', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_nhsa_import_created_at'))
    op.drop_table('nhsa_import')
    with op.batch_alter_table('product', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_product_nhsa_generic_code'))
        batch_op.drop_constraint(batch_op.f('uq_product_nhsa_code'), type_='unique')
        batch_op.drop_column('manufacturer')
        batch_op.drop_column('approval_no')
        batch_op.drop_column('nhsa_generic_code')
        batch_op.drop_column('nhsa_code')
