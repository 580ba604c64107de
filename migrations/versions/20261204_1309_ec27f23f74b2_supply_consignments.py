"""Supply: one consignment (and one proof of delivery) for every movement of goods; shortages follow their goods.

Every existing ledger transfer becomes a consignment with the same id (its lines keep their ids too): shipments of
unified orders, delivery-run stops and manual transfers. A received transfer gets its proof of delivery from what
was recorded (the stop's receiver name and note). Shortages get the stage their status implies; the ones stuck at
`dispatched` after their township received the goods (the defect this revision fixes) become `at_upstream`, so the
village's next run plans them.

Revision ID: ec27f23f74b2
Revises: 0589c3f4a419
Create Date: 2026-12-04 13:09:18.626603

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'ec27f23f74b2'
down_revision = '0589c3f4a419'
branch_labels = None
depends_on = None

# Old receipt reasons (two lists) → the one list.
REASON_MAP = {"missing": "short", "correction": "other", "found": "other"}


def _copy_transfers(bind) -> None:
    t = sa.text
    shipments = {r.transfer_id for r in bind.execute(t("SELECT transfer_id FROM supply_shipment"))}
    stops = {r.transfer_id: r for r in bind.execute(t(
        "SELECT transfer_id, receiver_name, receipt_note FROM delivery_stop WHERE transfer_id IS NOT NULL"))}
    users = {r.id: r.display_name for r in bind.execute(t("SELECT id, display_name FROM app_user"))}
    transfers = list(bind.execute(t(
        "SELECT id, from_facility_id, to_facility_id, status, note, sent_by_id, sent_at, received_by_id, received_at "
        "FROM stock_transfer ORDER BY id")))
    for tr in transfers:
        kind = "shipment" if tr.id in shipments else "delivery" if tr.id in stops else "transfer"
        received = tr.status == "received"
        bind.execute(t(
            "INSERT INTO supply_consignment (id, kind, source_id, destination_id, status, transfer_id, note, "
            "created_by_id, created_at, dispatched_by_id, dispatched_at) VALUES (:id, :kind, :src, :dst, :status, "
            ":id, :note, :by, :at, :by, :at)"),
            {"id": tr.id, "kind": kind, "src": tr.from_facility_id, "dst": tr.to_facility_id,
             "status": "received" if received else "dispatched", "note": tr.note or "", "by": tr.sent_by_id,
             "at": tr.sent_at})
        if received:
            stop = stops.get(tr.id)
            bind.execute(t(
                "INSERT INTO supply_proof_of_delivery (consignment_id, signed_by_id, signer_name, is_proxy, "
                "proxy_reason, note, signed_at) VALUES (:id, :by, :name, :no, '', :note, :at)"),
                {"id": tr.id, "by": tr.received_by_id, "no": False, "at": tr.received_at or tr.sent_at,
                 "name": (stop.receiver_name if stop is not None else users.get(tr.received_by_id, "")) or "",
                 "note": stop.receipt_note if stop is not None else ""})
    for line in bind.execute(t(
            "SELECT id, transfer_id, product_id, lot_id, qty_base_sent, qty_base_received, discrepancy_reason, "
            "discrepancy_note FROM stock_transfer_line ORDER BY id")).all():
        bind.execute(t(
            "INSERT INTO supply_consignment_line (id, consignment_id, product_id, lot_id, qty_base, "
            "qty_base_received, difference_reason, difference_note, transfer_line_id) VALUES (:id, :c, :p, :lot, "
            ":q, :qr, :reason, :note, :id)"),
            {"id": line.id, "c": line.transfer_id, "p": line.product_id, "lot": line.lot_id, "q": line.qty_base_sent,
             "qr": line.qty_base_received, "note": line.discrepancy_note or "",
             "reason": REASON_MAP.get(line.discrepancy_reason, line.discrepancy_reason or "")})
    bind.execute(t("UPDATE supply_shipment SET consignment_id = transfer_id"))
    bind.execute(t("UPDATE delivery_stop SET consignment_id = transfer_id WHERE transfer_id IS NOT NULL"))
    bind.execute(t("UPDATE delivery_line SET consignment_line_id = transfer_line_id WHERE transfer_line_id IS NOT NULL"))
    bind.execute(t(
        "INSERT INTO supply_consignment_line_shortage (line_id, shortage_id) SELECT DISTINCT l.transfer_line_id, "
        "s.shortage_id FROM delivery_line_shortage s JOIN delivery_line l ON l.id = s.line_id "
        "WHERE l.transfer_line_id IS NOT NULL"))
    if bind.dialect.name == "postgresql":
        for table in ("supply_consignment", "supply_consignment_line"):
            bind.execute(t(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                           f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"))


def _stage_shortages(bind) -> None:
    t = sa.text
    bind.execute(t("UPDATE shortage SET stage = 'on_order' WHERE status = 'ordered'"))
    bind.execute(t("UPDATE shortage SET stage = 'delivered' WHERE status = 'delivered'"))
    # Dispatched to the village on a stop still on its way; every other `dispatched` one is at its township.
    bind.execute(t(
        "UPDATE shortage SET stage = 'in_transit' WHERE status = 'dispatched' AND id IN (SELECT s.shortage_id "
        "FROM delivery_line_shortage s JOIN delivery_line l ON l.id = s.line_id JOIN delivery_stop st ON "
        "st.id = l.stop_id WHERE st.status = 'dispatched')"))
    bind.execute(t("UPDATE shortage SET stage = 'at_upstream', status = 'ordered' "
                   "WHERE status = 'dispatched' AND stage = ''"))
    bind.execute(t(
        "UPDATE shortage SET acknowledged_at = COALESCE((SELECT MIN(e.created_at) FROM shortage_event e WHERE "
        "e.shortage_id = shortage.id AND e.from_status = 'registered'), created_at) WHERE status <> 'registered'"))


def upgrade():
    op.create_table('supply_consignment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('destination_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('transfer_id', sa.Integer(), nullable=True),
    sa.Column('expected_arrival_date', sa.Date(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('dispatched_by_id', sa.Integer(), nullable=True),
    sa.Column('dispatched_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['app_user.id'], name=op.f('fk_supply_consignment_created_by_id_app_user')),
    sa.ForeignKeyConstraint(['destination_id'], ['facility.id'], name=op.f('fk_supply_consignment_destination_id_facility')),
    sa.ForeignKeyConstraint(['dispatched_by_id'], ['app_user.id'], name=op.f('fk_supply_consignment_dispatched_by_id_app_user')),
    sa.ForeignKeyConstraint(['source_id'], ['facility.id'], name=op.f('fk_supply_consignment_source_id_facility')),
    sa.ForeignKeyConstraint(['transfer_id'], ['stock_transfer.id'], name=op.f('fk_supply_consignment_transfer_id_stock_transfer')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supply_consignment')),
    sa.UniqueConstraint('transfer_id', name=op.f('uq_supply_consignment_transfer_id'))
    )
    with op.batch_alter_table('supply_consignment', schema=None) as batch_op:
        batch_op.create_index('ix_supply_consignment_destination_status', ['destination_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_supply_consignment_source_id'), ['source_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_supply_consignment_status'), ['status'], unique=False)

    op.create_table('supply_consignment_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consignment_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('qty_base', sa.Integer(), nullable=False),
    sa.Column('final_facility_id', sa.Integer(), nullable=True),
    sa.Column('qty_base_received', sa.Integer(), nullable=True),
    sa.Column('difference_reason', sa.String(length=24), nullable=False),
    sa.Column('difference_note', sa.Text(), nullable=False),
    sa.Column('transfer_line_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['consignment_id'], ['supply_consignment.id'], name=op.f('fk_supply_consignment_line_consignment_id_supply_consignment')),
    sa.ForeignKeyConstraint(['final_facility_id'], ['facility.id'], name=op.f('fk_supply_consignment_line_final_facility_id_facility')),
    sa.ForeignKeyConstraint(['lot_id'], ['lot.id'], name=op.f('fk_supply_consignment_line_lot_id_lot')),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_supply_consignment_line_product_id_product')),
    sa.ForeignKeyConstraint(['transfer_line_id'], ['stock_transfer_line.id'], name=op.f('fk_supply_consignment_line_transfer_line_id_stock_transfer_line')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supply_consignment_line'))
    )
    with op.batch_alter_table('supply_consignment_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supply_consignment_line_consignment_id'), ['consignment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_supply_consignment_line_lot_id'), ['lot_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_supply_consignment_line_product_id'), ['product_id'], unique=False)

    op.create_table('supply_proof_of_delivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consignment_id', sa.Integer(), nullable=False),
    sa.Column('signed_by_id', sa.Integer(), nullable=True),
    sa.Column('signer_name', sa.String(length=80), nullable=False),
    sa.Column('is_proxy', sa.Boolean(), nullable=False),
    sa.Column('proxy_reason', sa.Text(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['consignment_id'], ['supply_consignment.id'], name=op.f('fk_supply_proof_of_delivery_consignment_id_supply_consignment')),
    sa.ForeignKeyConstraint(['signed_by_id'], ['app_user.id'], name=op.f('fk_supply_proof_of_delivery_signed_by_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supply_proof_of_delivery')),
    sa.UniqueConstraint('consignment_id', name=op.f('uq_supply_proof_of_delivery_consignment_id'))
    )
    op.create_table('supply_consignment_line_shortage',
    sa.Column('line_id', sa.Integer(), nullable=False),
    sa.Column('shortage_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['line_id'], ['supply_consignment_line.id'], name=op.f('fk_supply_consignment_line_shortage_line_id_supply_consignment_line'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shortage_id'], ['shortage.id'], name=op.f('fk_supply_consignment_line_shortage_shortage_id_shortage')),
    sa.PrimaryKeyConstraint('line_id', 'shortage_id', name=op.f('pk_supply_consignment_line_shortage'))
    )
    with op.batch_alter_table('supply_consignment_line_shortage', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supply_consignment_line_shortage_shortage_id'), ['shortage_id'], unique=False)

    with op.batch_alter_table('delivery_line', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consignment_line_id', sa.Integer(), nullable=True))
    with op.batch_alter_table('delivery_stop', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consignment_id', sa.Integer(), nullable=True))
    with op.batch_alter_table('supply_shipment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consignment_id', sa.Integer(), nullable=True))
    with op.batch_alter_table('shortage', schema=None) as batch_op:
        batch_op.add_column(sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('stage', sa.String(length=24), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('expected_arrival_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('difference_note', sa.Text(), nullable=False, server_default=''))
    with op.batch_alter_table('shortage_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stage', sa.String(length=24), nullable=False, server_default=''))

    bind = op.get_bind()
    _copy_transfers(bind)
    _stage_shortages(bind)

    with op.batch_alter_table('delivery_line', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_delivery_line_transfer_line_id_stock_transfer_line'), type_='foreignkey')
        batch_op.create_foreign_key(batch_op.f('fk_delivery_line_consignment_line_id_supply_consignment_line'), 'supply_consignment_line', ['consignment_line_id'], ['id'])
        batch_op.drop_column('transfer_line_id')

    with op.batch_alter_table('delivery_stop', schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f('uq_delivery_stop_consignment_id'), ['consignment_id'])
        batch_op.drop_constraint(batch_op.f('fk_delivery_stop_transfer_id_stock_transfer'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_delivery_stop_received_by_id_app_user'), type_='foreignkey')
        batch_op.create_foreign_key(batch_op.f('fk_delivery_stop_consignment_id_supply_consignment'), 'supply_consignment', ['consignment_id'], ['id'])
        batch_op.drop_column('transfer_id')
        batch_op.drop_column('received_at')
        batch_op.drop_column('receiver_name')
        batch_op.drop_column('received_by_id')
        batch_op.drop_column('receipt_note')

    with op.batch_alter_table('supply_shipment', schema=None) as batch_op:
        batch_op.alter_column('consignment_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_index(batch_op.f('ix_supply_shipment_status'))
        batch_op.drop_constraint(batch_op.f('uq_supply_shipment_transfer_id'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_supply_shipment_consignment_id'), ['consignment_id'])
        batch_op.drop_constraint(batch_op.f('fk_supply_shipment_transfer_id_stock_transfer'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_supply_shipment_received_by_id_app_user'), type_='foreignkey')
        batch_op.create_foreign_key(batch_op.f('fk_supply_shipment_consignment_id_supply_consignment'), 'supply_consignment', ['consignment_id'], ['id'])
        batch_op.drop_column('transfer_id')
        batch_op.drop_column('status')
        batch_op.drop_column('received_at')
        batch_op.drop_column('received_by_id')



def downgrade():
    with op.batch_alter_table('supply_shipment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('received_by_id', sa.INTEGER(), nullable=True))
        batch_op.add_column(sa.Column('received_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('status', sa.VARCHAR(length=16), nullable=False, server_default='in_transit'))
        batch_op.add_column(sa.Column('transfer_id', sa.INTEGER(), nullable=True))
    with op.batch_alter_table('delivery_stop', schema=None) as batch_op:
        batch_op.add_column(sa.Column('receipt_note', sa.TEXT(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('received_by_id', sa.INTEGER(), nullable=True))
        batch_op.add_column(sa.Column('receiver_name', sa.VARCHAR(length=80), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('received_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('transfer_id', sa.INTEGER(), nullable=True))
    with op.batch_alter_table('delivery_line', schema=None) as batch_op:
        batch_op.add_column(sa.Column('transfer_line_id', sa.INTEGER(), nullable=True))

    t = sa.text
    bind = op.get_bind()
    bind.execute(t("UPDATE supply_shipment SET transfer_id = (SELECT c.transfer_id FROM supply_consignment c "
                   "WHERE c.id = supply_shipment.consignment_id)"))
    bind.execute(t("UPDATE supply_shipment SET status = 'received', received_at = (SELECT p.signed_at FROM "
                   "supply_proof_of_delivery p WHERE p.consignment_id = supply_shipment.consignment_id), "
                   "received_by_id = (SELECT p.signed_by_id FROM supply_proof_of_delivery p WHERE "
                   "p.consignment_id = supply_shipment.consignment_id) WHERE consignment_id IN "
                   "(SELECT consignment_id FROM supply_proof_of_delivery)"))
    bind.execute(t("UPDATE delivery_stop SET transfer_id = (SELECT c.transfer_id FROM supply_consignment c WHERE "
                   "c.id = delivery_stop.consignment_id) WHERE consignment_id IS NOT NULL"))
    for column, source in (("receipt_note", "note"), ("receiver_name", "signer_name"), ("received_at", "signed_at"),
                           ("received_by_id", "signed_by_id")):
        bind.execute(t(f"UPDATE delivery_stop SET {column} = (SELECT p.{source} FROM supply_proof_of_delivery p "
                       f"WHERE p.consignment_id = delivery_stop.consignment_id) WHERE consignment_id IN "
                       f"(SELECT consignment_id FROM supply_proof_of_delivery)"))
    bind.execute(t("UPDATE delivery_line SET transfer_line_id = (SELECT l.transfer_line_id FROM "
                   "supply_consignment_line l WHERE l.id = delivery_line.consignment_line_id) "
                   "WHERE consignment_line_id IS NOT NULL"))
    # Shortages waiting at their township went back to `dispatched` in the old lifecycle.
    bind.execute(t("UPDATE shortage SET status = 'dispatched' WHERE stage = 'at_upstream'"))
    bind.execute(t("DELETE FROM supply_shipment WHERE transfer_id IS NULL"))

    with op.batch_alter_table('supply_shipment', schema=None) as batch_op:
        batch_op.alter_column('transfer_id', existing_type=sa.INTEGER(), nullable=False)
        batch_op.drop_constraint(batch_op.f('fk_supply_shipment_consignment_id_supply_consignment'), type_='foreignkey')
        batch_op.create_foreign_key(batch_op.f('fk_supply_shipment_received_by_id_app_user'), 'app_user', ['received_by_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_supply_shipment_transfer_id_stock_transfer'), 'stock_transfer', ['transfer_id'], ['id'])
        batch_op.drop_constraint(batch_op.f('uq_supply_shipment_consignment_id'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_supply_shipment_transfer_id'), ['transfer_id'])
        batch_op.create_index(batch_op.f('ix_supply_shipment_status'), ['status'], unique=False)
        batch_op.drop_column('consignment_id')

    with op.batch_alter_table('shortage_event', schema=None) as batch_op:
        batch_op.drop_column('stage')

    with op.batch_alter_table('shortage', schema=None) as batch_op:
        batch_op.drop_column('difference_note')
        batch_op.drop_column('expected_arrival_date')
        batch_op.drop_column('stage')
        batch_op.drop_column('acknowledged_at')

    with op.batch_alter_table('delivery_stop', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_delivery_stop_consignment_id_supply_consignment'), type_='foreignkey')
        batch_op.create_foreign_key(batch_op.f('fk_delivery_stop_received_by_id_app_user'), 'app_user', ['received_by_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_delivery_stop_transfer_id_stock_transfer'), 'stock_transfer', ['transfer_id'], ['id'])
        batch_op.drop_constraint(batch_op.f('uq_delivery_stop_consignment_id'), type_='unique')
        batch_op.drop_column('consignment_id')

    with op.batch_alter_table('delivery_line', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_delivery_line_consignment_line_id_supply_consignment_line'), type_='foreignkey')
        batch_op.create_foreign_key(batch_op.f('fk_delivery_line_transfer_line_id_stock_transfer_line'), 'stock_transfer_line', ['transfer_line_id'], ['id'])
        batch_op.drop_column('consignment_line_id')

    with op.batch_alter_table('supply_consignment_line_shortage', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supply_consignment_line_shortage_shortage_id'))

    op.drop_table('supply_consignment_line_shortage')
    op.drop_table('supply_proof_of_delivery')
    with op.batch_alter_table('supply_consignment_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supply_consignment_line_product_id'))
        batch_op.drop_index(batch_op.f('ix_supply_consignment_line_lot_id'))
        batch_op.drop_index(batch_op.f('ix_supply_consignment_line_consignment_id'))

    op.drop_table('supply_consignment_line')
    with op.batch_alter_table('supply_consignment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supply_consignment_status'))
        batch_op.drop_index(batch_op.f('ix_supply_consignment_source_id'))
        batch_op.drop_index('ix_supply_consignment_destination_status')

    op.drop_table('supply_consignment')
