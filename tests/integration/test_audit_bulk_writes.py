"""Bulk writes are audited too: Core statements run through the session and many-to-many link rows name every
row they touched, on SQLite and PostgreSQL (issue 11, item 5)."""

import json

import pytest
from sqlalchemy import bindparam, delete, insert, select, update

from pharmacy.audit.models import AuditEvent
from pharmacy.audit.trail import acting_as, summarised
from pharmacy.errors import Conflict
from pharmacy.extensions import db
from pharmacy.facilities.models import Facility
from pharmacy.orders import fulfilment, services
from pharmacy.orders.models import Allocation, OrderLine, OrderLineShortage
from tests.factories import make_product, make_shortage, stock_up


def _events(**where) -> list[AuditEvent]:
    stmt = select(AuditEvent).order_by(AuditEvent.id)
    for key, value in where.items():
        stmt = stmt.where(getattr(AuditEvent, key) == value)
    return list(db.session.scalars(stmt))


def _by_row(events) -> dict[str, dict]:
    return {event.row_id: _changes(event) for event in events}


def _changes(event) -> dict:
    changes = json.loads(event.changes)
    changes.pop("updated_at", None)  # set by the column's onupdate, so present in every update
    return changes


def _approved_order(county, packs_by_product):
    user = county.users["township"]
    order = services.create_order(county.townships[0], user)
    for product, packs in packs_by_product.items():
        services.add_line(order, product, qty_packs=packs, user=user)
    services.submit_order(order, user)
    return services.approve_order(order, county.users["county"])


# ---------------------------------------------------------------------------------------------- orders


def test_allocating_an_order_names_every_allocation_and_line(county):
    county_user = county.users["county"]
    plenty, scarce = make_product(pack_size=10), make_product(pack_size=10)
    stock_up(county.central, plenty, 100, lot="PL")
    stock_up(county.central, scarce, 20, lot="SC")
    order = _approved_order(county, {plenty: 4, scarce: 3})
    before = _events()[-1].id

    fulfilment.allocate_orders([order], county_user)

    allocations = db.session.scalars(select(Allocation).join(OrderLine).where(OrderLine.order_id == order.id)).all()
    inserted = _by_row(e for e in _events(table_name="supply_allocation", action="insert") if e.id > before)
    assert set(inserted) == {str(a.id) for a in allocations} and len(allocations) == 2
    for allocation in allocations:
        assert inserted[str(allocation.id)]["qty_base"] == [None, allocation.qty_base]
        assert inserted[str(allocation.id)]["line_id"] == [None, allocation.line_id]
    lines = {line.product_id: line for line in order.lines}
    updated = [e for e in _events(table_name="supply_order_line", action="update") if e.id > before]
    changes = _by_row(updated)
    assert changes[str(lines[plenty.id].id)]["qty_packs_allocated"] == [0, 4]
    assert changes[str(lines[scarce.id].id)]["qty_packs_allocated"] == [0, 2]
    assert changes[str(lines[scarce.id].id)]["qty_packs_backordered"] == [0, 1]
    assert {(e.user_id, e.username) for e in updated} <= {(None, "")} | {(county_user.id, county_user.username)}


def test_released_back_orders_record_qty_packs_allocated_old_to_new(county):
    county_user, product = county.users["county"], make_product(pack_size=24)
    stock_up(county.central, product, 30, expires_in_days=400, lot="P1")
    order = _approved_order(county, {product: 3})
    fulfilment.allocate_orders([order], county_user)
    line = order.lines[0]
    stock_up(county.central, product, 48, expires_in_days=500, lot="P2")
    before = _events()[-1].id

    with acting_as("test: goods receipt", user=county_user):
        fulfilment.release_backorders(county.central, [product.id], county_user)

    [event] = [e for e in _events(table_name="supply_order_line", row_id=str(line.id)) if e.id > before]
    assert event.action == "update" and event.actor == "test: goods receipt" and event.user_id == county_user.id
    changes = json.loads(event.changes)
    assert changes["qty_packs_allocated"] == [1, 3] and changes["qty_packs_backordered"] == [2, 0]


def test_a_draft_order_names_its_new_lines_and_their_shortage_links(county):
    town, village = county.townships[0], county.villages[0]
    product, other = make_product(pack_size=10), make_product(pack_size=10)
    first = make_shortage(village, product, 3, county.users["village"])
    second = make_shortage(county.villages[1], product, 2, county.users["village"])
    third = make_shortage(village, other, 1, county.users["village"])
    before = _events()[-1].id

    order = services.build_draft_order(town, county.users["township"])

    lines = {line.product_id: line for line in order.lines}
    assert set(lines) == {product.id, other.id}
    new_lines = _by_row(e for e in _events(table_name="supply_order_line", action="insert") if e.id > before)
    assert set(new_lines) == {str(line.id) for line in lines.values()}
    assert new_lines[str(lines[product.id].id)]["qty_packs"] == [None, 5]
    links = _by_row(e for e in _events(table_name="supply_order_line_shortage", action="insert") if e.id > before)
    assert set(links) == {f"{lines[product.id].id},{first.id}", f"{lines[product.id].id},{second.id}",
                          f"{lines[other.id].id},{third.id}"}

    # Refreshing the draft adds the link of a new shortage to the existing line, and records just that link.
    fourth = make_shortage(village, other, 2, county.users["village"])
    before = _events()[-1].id
    services.build_draft_order(town, county.users["township"])
    links = _by_row(e for e in _events(table_name="supply_order_line_shortage") if e.id > before)
    assert links == {f"{lines[other.id].id},{fourth.id}": {"line_id": [None, lines[other.id].id],
                                                           "shortage_id": [None, fourth.id]}}


def test_links_written_by_the_orm_through_a_relationship_are_recorded(county):
    product = make_product(pack_size=10)
    registered = make_shortage(county.villages[0], product, 1, county.users["village"])
    order = services.create_order(county.townships[0], county.users["township"])
    line = services.add_line(order, product, qty_packs=1, user=county.users["township"])
    before = _events()[-1].id
    line.shortages.append(registered)
    db.session.flush()
    line.shortages.remove(registered)
    db.session.flush()
    events = [e for e in _events(table_name="supply_order_line_shortage") if e.id > before]
    assert [(e.action, e.row_id) for e in events] == [("insert", f"{line.id},{registered.id}"),
                                                      ("delete", f"{line.id},{registered.id}")]
    line.shortages.append(registered)
    db.session.flush()
    before = _events()[-1].id
    db.session.delete(line)  # the ORM deletes the line's links first
    db.session.flush()
    assert {(e.table_name, e.action, e.row_id) for e in _events() if e.id > before} >= {
        ("supply_order_line", "delete", str(line.id)),
        ("supply_order_line_shortage", "delete", f"{line.id},{registered.id}")}


# ---------------------------------------------------------------------------------------------- any Core statement


def _facility_events(before: int, **where):
    return [e for e in _events(table_name="facility", **where) if e.id > before]


def test_a_core_bulk_update_names_every_row_with_old_and_new_values(county):
    villages = county.villages
    table = Facility.__table__
    before = _events()[-1].id
    with acting_as("test: bulk phones"):
        result = db.session.execute(update(table).where(table.c.id.in_([v.id for v in villages[:2]]))
                                    .values(phone="0571-1"))
    assert result.rowcount == 2  # the caller's result is untouched
    events = _facility_events(before, action="update")
    assert {e.row_id for e in events} == {str(v.id) for v in villages[:2]}
    assert all(_changes(e) == {"phone": ["", "0571-1"]} and e.actor == "test: bulk phones"
               for e in events)

    before = _events()[-1].id
    db.session.execute(update(table).where(table.c.id == bindparam("village_id")).values(phone=bindparam("phone")),
                       [{"village_id": v.id, "phone": f"0571-{i}"} for i, v in enumerate(villages)])
    changes = _by_row(_facility_events(before, action="update"))
    # The second village already had 0571-1: only its updated_at changed.
    olds = ["0571-1", "0571-1", "", ""]
    assert changes == {str(v.id): {"phone": [old, f"0571-{i}"]} if old != f"0571-{i}" else {}
                       for i, (v, old) in enumerate(zip(villages, olds, strict=True))}


def test_orm_enabled_statements_are_recorded_and_keep_the_session_in_step(county):
    village = county.villages[0]
    before = _events()[-1].id
    db.session.execute(update(Facility).where(Facility.id == village.id).values(population=Facility.population + 1))
    assert village.population == 901  # synchronize_session still ran
    db.session.execute(update(Facility), [{"id": village.id, "name": "改名村卫生室"}])  # bulk by primary key
    events = _facility_events(before, action="update")
    assert [_changes(e) for e in events] == [{"population": [900, 901]},
                                                       {"name": ["测试1镇1村卫生室", "改名村卫生室"]}]


def test_core_inserts_and_deletes_name_their_rows_and_keep_the_callers_result(county):
    product = make_product(pack_size=10)
    order = services.create_order(county.townships[0], county.users["township"])
    line_id = db.session.execute(insert(OrderLine).values(order_id=order.id, product_id=product.id, qty_packs=2)) \
        .inserted_primary_key[0]
    registered = make_shortage(county.villages[0], product, 1, county.users["village"])
    before = _events()[-1].id
    returned = db.session.execute(insert(OrderLineShortage).returning(OrderLineShortage.line_id),
                                  [{"line_id": line_id, "shortage_id": registered.id}]).all()
    assert returned == [(line_id,)]  # the caller gets the columns it asked for, no more
    [event] = [e for e in _events(table_name="supply_order_line_shortage") if e.id > before]
    assert event.action == "insert" and event.row_id == f"{line_id},{registered.id}"

    before = _events()[-1].id
    deleted = db.session.execute(delete(OrderLine.__table__).where(OrderLine.__table__.c.id == line_id))
    assert deleted.rowcount == 1
    events = {(e.table_name, e.action, e.row_id): json.loads(e.changes) for e in _events() if e.id > before}
    assert events[("supply_order_line", "delete", str(line_id))]["qty_packs"] == [2, None]
    # The link went with the line (ON DELETE CASCADE, on both databases): its deletion is named too.
    assert ("supply_order_line_shortage", "delete", f"{line_id},{registered.id}") in events


def test_summarised_loads_name_the_rows_of_their_core_statements(county, login):
    villages = county.villages
    table = Facility.__table__

    @summarised("phone book")
    def load_phones():
        db.session.execute(update(table).where(table.c.id.in_([v.id for v in villages])).values(phone="110"))

    before = _events()[-1].id
    load_phones()
    [summary] = [e for e in _events() if e.id > before]
    assert summary.action == "bulk" and summary.row_id == "phone book"
    assert json.loads(summary.changes) == {"facility": {"update": [str(v.id) for v in villages]}}
    page = login(county.users["county"]).get("/admin/audit?action=bulk").get_data(as_text=True)
    assert "phone book" in page and f"修改 {len(villages)} " in page
    assert ", ".join(str(v.id) for v in villages) in page


def test_an_executemany_naming_a_row_twice_is_not_mistaken_for_a_race(county):
    village, table = county.villages[0], Facility.__table__
    before = _events()[-1].id
    db.session.execute(update(table).where(table.c.id == bindparam("village_id")).values(phone=bindparam("phone")),
                       [{"village_id": village.id, "phone": "1"}, {"village_id": village.id, "phone": "2"}])
    [event] = _facility_events(before, action="update")
    assert _changes(event) == {"phone": ["", "2"]}


def test_a_row_the_look_up_did_not_name_refuses_the_write(county, monkeypatch):
    """If a statement touched more rows than the audit named (another transaction's row appearing in between on
    PostgreSQL), the write is refused rather than left unrecorded."""
    from pharmacy.audit import statements

    real = statements._look_up
    def look_up_one(*args):
        found, _most = real(*args)
        return dict(list(found.items())[:1]), 1

    monkeypatch.setattr(statements, "_look_up", look_up_one)
    table = Facility.__table__
    with pytest.raises(Conflict):
        db.session.execute(update(table).where(table.c.id.in_([v.id for v in county.villages])).values(phone="1"))


@pytest.fixture
def committed_elsewhere(app):
    """Rows another connection commits during the test, deleted after the test's own transaction rolled back."""
    codes = []
    yield codes
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(delete(Facility.__table__).where(Facility.__table__.c.code.in_(codes)))


@pytest.mark.postgresql
def test_a_row_committed_between_look_up_and_update_refuses_the_write(committed_elsewhere, county, monkeypatch):
    from pharmacy.audit import statements

    real = statements._look_up
    table = Facility.__table__

    def look_up_then_race(*args):
        found = real(*args)  # (rows, most)
        with db.engine.begin() as other:  # another request commits a row the criteria match
            other.execute(insert(table).values(code="RACE-1", name="并发村卫生室", tier="village", kind="village_point",
                                               phone="race"))
        committed_elsewhere.append("RACE-1")
        return found

    county.villages[0].phone = "race"
    db.session.flush()
    monkeypatch.setattr(statements, "_look_up", look_up_then_race)
    with pytest.raises(Conflict):
        db.session.execute(update(table).where(table.c.phone == "race").values(phone="raced"))


def test_a_statement_that_changes_a_primary_key_is_refused(county):
    table = Facility.__table__
    with pytest.raises(TypeError):
        db.session.execute(update(table).where(table.c.id == county.villages[1].id).values(id=10**6))
