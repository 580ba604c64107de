"""Catalog editions side by side: drug groups (and their chosen products), further class paths of cross-listed
drugs, and the county's choice of the edition in force.

Revision ID: 1b7fc3301513
Revises: 5d3c8e1f7a42
Create Date: 2026-12-04 21:24:21.411200

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '1b7fc3301513'
down_revision = '5d3c8e1f7a42'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('drug_group',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('edition', sa.String(length=8), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('eml_no', sa.Integer(), nullable=True),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('class_path', sa.String(length=255), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('remarks', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_drug_group')),
    sa.UniqueConstraint('edition', 'code', name=op.f('uq_drug_group_edition_code'))
    )
    with op.batch_alter_table('drug_group', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_drug_group_edition'), ['edition'], unique=False)

    op.create_table('drug_class_path',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('drug_id', sa.Integer(), nullable=False),
    sa.Column('class_path', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['drug_id'], ['drug.id'], name=op.f('fk_drug_class_path_drug_id_drug')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_drug_class_path')),
    sa.UniqueConstraint('drug_id', 'class_path', name=op.f('uq_drug_class_path_drug_id_class_path'))
    )
    with op.batch_alter_table('drug_class_path', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_drug_class_path_class_path'), ['class_path'], unique=False)
        batch_op.create_index(batch_op.f('ix_drug_class_path_drug_id'), ['drug_id'], unique=False)

    op.create_table('catalog_edition_setting',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('edition', sa.String(length=8), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('set_by_id', sa.Integer(), nullable=True),
    sa.Column('set_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['set_by_id'], ['app_user.id'], name=op.f('fk_catalog_edition_setting_set_by_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalog_edition_setting'))
    )
    op.create_table('drug_group_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['drug_group.id'], name=op.f('fk_drug_group_member_group_id_drug_group')),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_drug_group_member_product_id_product')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_drug_group_member')),
    sa.UniqueConstraint('group_id', 'product_id', name=op.f('uq_drug_group_member_group_id_product_id'))
    )
    with op.batch_alter_table('drug_group_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_drug_group_member_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_drug_group_member_product_id'), ['product_id'], unique=False)



def downgrade():
    with op.batch_alter_table('drug_group_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_drug_group_member_product_id'))
        batch_op.drop_index(batch_op.f('ix_drug_group_member_group_id'))

    op.drop_table('drug_group_member')
    op.drop_table('catalog_edition_setting')
    with op.batch_alter_table('drug_class_path', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_drug_class_path_drug_id'))
        batch_op.drop_index(batch_op.f('ix_drug_class_path_class_path'))

    op.drop_table('drug_class_path')
    with op.batch_alter_table('drug_group', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_drug_group_edition'))

    op.drop_table('drug_group')
