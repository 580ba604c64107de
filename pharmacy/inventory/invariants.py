"""What must hold of the ledger whatever happened: each check is one SQL count of the rows that break it (0 when
whole), plain SQL that runs on SQLite and PostgreSQL. The tests (`tests/stock_support.py`), the fault and load tests
and `scripts/load_test.py` read these, so a new rule is added once, here.

Balances equal to the sum of their movements do not prove goods were booked once: a transfer received twice
keeps every balance equal to its movements. Hence the transfer checks: what the ledger booked in (its `transfer_in`
movements) is what the transfer's lines say was received, and what it booked out is what they say was sent.
"""

from sqlalchemy import text

LEDGER_INVARIANTS: dict[str, str] = {
    "balance_differs_from_movements": """
        SELECT count(*) FROM stock_balance b
        WHERE b.qty_base <> (SELECT coalesce(sum(m.qty_base), 0) FROM stock_movement m
                             WHERE m.facility_id = b.facility_id AND m.lot_id = b.lot_id)""",
    "movements_without_balance": """
        SELECT count(*) FROM (SELECT facility_id, lot_id FROM stock_movement GROUP BY facility_id, lot_id) m
        WHERE NOT EXISTS (SELECT 1 FROM stock_balance b WHERE b.facility_id = m.facility_id AND b.lot_id = m.lot_id)""",
    "negative_balances": "SELECT count(*) FROM stock_balance WHERE qty_base < 0",
    # booked in = received on the lines, transfer by transfer (a transfer in transit has booked nothing in)
    "transfer_booked_in_differs_from_received": """
        SELECT count(*) FROM stock_transfer t
        WHERE (SELECT coalesce(sum(m.qty_base), 0) FROM stock_movement m
               WHERE m.kind = 'transfer_in' AND m.ref_type = 'transfer' AND m.ref_id = t.id)
           <> (SELECT coalesce(sum(l.qty_base_received), 0) FROM stock_transfer_line l WHERE l.transfer_id = t.id)""",
    "transfer_booked_out_differs_from_sent": """
        SELECT count(*) FROM stock_transfer t
        WHERE (SELECT coalesce(sum(m.qty_base), 0) FROM stock_movement m
               WHERE m.kind = 'transfer_out' AND m.ref_type = 'transfer' AND m.ref_id = t.id)
           <> -(SELECT coalesce(sum(l.qty_base_sent), 0) FROM stock_transfer_line l WHERE l.transfer_id = t.id)""",
    "transfer_line_received_more_than_sent": """
        SELECT count(*) FROM stock_transfer_line WHERE qty_base_received > qty_base_sent OR qty_base_received < 0""",
    "transfer_in_transit_with_receipt": """
        SELECT count(*) FROM stock_transfer t
        WHERE t.status = 'in_transit' AND EXISTS (SELECT 1 FROM stock_transfer_line l
                                                  WHERE l.transfer_id = t.id AND l.qty_base_received IS NOT NULL)""",
    "consignment_line_differs_from_its_transfer_line": """
        SELECT count(*) FROM supply_consignment_line c JOIN stock_transfer_line l ON l.id = c.transfer_line_id
        WHERE coalesce(c.qty_base_received, -1) <> coalesce(l.qty_base_received, -1)""",
}


def ledger_problems(connection) -> dict[str, int]:
    """The checks that fail on this connection or session, with the number of rows breaking each ({} when whole)."""
    found = {name: int(connection.execute(text(sql)).scalar()) for name, sql in LEDGER_INVARIANTS.items()}
    return {name: count for name, count in found.items() if count}
