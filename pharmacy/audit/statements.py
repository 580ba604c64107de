"""Record the INSERT, UPDATE and DELETE statements run through the session (bulk writes) in the audit trail.

The unit of work never sees these: `session.execute(insert(...), rows)` writes without objects. A `do_orm_execute`
listener sees every statement given to `session.execute`, ORM-enabled (`update(Model)`) or Core
(`update(Model.__table__)`), with one set of parameters or many. For one on an audited table it finds the rows
the statement touched and records one event per row, with old → new values, as a flush does:

- INSERT: the statement gets a RETURNING of the table's columns (after the caller's own columns, which are all the
  caller gets back; `inserted_primary_key` keeps working), so the new rows are named exactly, defaults included.
  Both engines support it (SQLite since 3.35).
- UPDATE and DELETE: the rows the statement's WHERE matches are read first and locked (FOR UPDATE on PostgreSQL;
  SQLite writers are serial already), the statement runs as given (its result and rowcount are the caller's), and
  the same rows are read again: an update records the columns that changed, a delete the rows that are gone,
  including those the database removed with them (ON DELETE CASCADE). An executemany is matched by primary key
  when its parameters name it (an ORM bulk update, or `WHERE id = :param`), else one look-up per parameter set.
  Should the statement report more rows than were read (on PostgreSQL, a matching row another transaction
  committed in between), the write is refused with `Conflict` rather than left unrecorded.

A write the trail could not name (to a table without a primary key, or one changing a primary key) raises
TypeError: no such write exists in the application, and a new one should fail its first test.
"""

import logging
import operator

from flask_babel import gettext as _
from sqlalchemy import BindParameter, Table, select, tuple_
from sqlalchemy.orm import ORMExecuteState
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import BinaryExpression

from ..errors import Conflict
from .models import AuditAction
from .trail import SKIP_TABLES, EventBatch, format_row_id, values_changes

log = logging.getLogger(__name__)

# Rows per IN (...) look-up: well under SQLite's and PostgreSQL's limits on bound parameters.
CHUNK = 500


def record_statement(state: ORMExecuteState):
    """do_orm_execute: run an INSERT, UPDATE or DELETE on an audited table and record the rows it touched."""
    if not (state.is_insert or state.is_update or state.is_delete):
        return None
    table = _target(state.statement)
    if table.name in SKIP_TABLES:
        return None
    if state.is_insert:
        return _record_insert(state, table)
    return _record_update_or_delete(state, table)


def _target(statement) -> Table:
    table = statement.table._deannotate()
    if not isinstance(table, Table) or not table.primary_key.columns:
        raise TypeError(f"the audit trail names rows by primary key; cannot audit a write to {table!r}")
    return table


def _keyed(table: Table, rows) -> dict[tuple, dict]:
    """Rows of all the table's columns, as {primary key: {column: value}}."""
    names = [column.key for column in table.columns]
    key_of = operator.itemgetter(*[names.index(column.key) for column in table.primary_key.columns])
    if len(table.primary_key.columns) == 1:
        return {(key_of(row),): dict(zip(names, row, strict=True)) for row in rows}
    return {key_of(row): dict(zip(names, row, strict=True)) for row in rows}


def _chunks(items: list, size: int = CHUNK):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _rows(connection, table: Table, keys, *, lock: bool = False) -> dict[tuple, dict]:
    """The rows of `table` with these primary keys, as {key: {column: value}}."""
    pk = list(table.primary_key.columns)
    found = {}
    for chunk in _chunks(list(dict.fromkeys(keys))):
        match = pk[0].in_([key[0] for key in chunk]) if len(pk) == 1 else tuple_(*pk).in_(chunk)
        query = select(*table.columns).where(match).order_by(*pk)
        found |= _keyed(table, connection.execute(query.with_for_update(of=table) if lock else query))
    return found


# ------------------------------------------------------------------------------------------------------- INSERT


def _record_insert(state: ORMExecuteState, table: Table):
    statement = state.statement
    labels = [column.label(f"audit_{i}") for i, column in enumerate(table.columns)]
    if statement.returning_column_descriptions:  # the caller reads rows: ours go after theirs, it gets only its own
        frozen = state.invoke_statement(statement=statement.returning(*labels)).freeze()
        width = len(frozen.metadata.keys) - len(labels)
        rows = [tuple(row)[width:] for row in frozen.data]
        result = frozen().columns(*range(width))
    elif (state.is_orm_statement and state.is_executemany) or statement.select is not None:
        # An ORM bulk insert and INSERT … SELECT have no returned defaults to carry ours: RETURNING it is.
        result = state.invoke_statement(statement=statement.returning(*labels))
        rows = [tuple(row) for row in result]
    else:
        result = state.invoke_statement(statement=statement.return_defaults(supplemental_cols=labels))
        returned = result.returned_defaults_rows or []
        ours = [returned[0]._fields.index(label.name) for label in labels] if returned else []  # after the key
        rows = [tuple(row[i] for i in ours) for row in returned]
    batch = EventBatch()
    for key, values in _keyed(table, rows).items():
        batch.add(AuditAction.INSERT, table.name, format_row_id(key), values_changes(AuditAction.INSERT, None, values))
    batch.write(state.session.connection())
    return result


# ------------------------------------------------------------------------------------------------ UPDATE, DELETE


def _keys_in_parameters(state: ORMExecuteState, table: Table) -> list[tuple] | None:
    """The primary keys an executemany names in its parameters, if it does."""
    pk = list(table.primary_key.columns)
    where = state.statement.whereclause
    if where is None and state.bind_mapper is not None:  # ORM bulk update by primary key
        names = [state.bind_mapper.get_property_by_column(column).key for column in pk]
    elif (len(pk) == 1 and isinstance(where, BinaryExpression) and where.operator is operators.eq
          and where.left._deannotate() is pk[0] and isinstance(where.right, BindParameter)):
        names = [where.right.key]
    else:
        return None
    return [tuple(parameters.get(name) for name in names) for parameters in state.parameters]


def _look_up(connection, state: ORMExecuteState, table: Table) -> tuple[dict[tuple, dict], int]:
    """The rows the statement is about to touch (an executemany by primary key may name a few it will not), and
    the most rows it can report: an executemany counts a row once per parameter set that matches it."""
    where = state.statement.whereclause
    query = select(*table.columns).with_for_update(of=table).order_by(*table.primary_key.columns)
    if where is not None:
        query = query.where(where)
    if not state.is_executemany:
        found = _keyed(table, connection.execute(query, state.parameters or {}))
        return found, len(found)
    keys = _keys_in_parameters(state, table)
    if keys is not None:
        found = _rows(connection, table, keys, lock=True)
        return found, sum(key in found for key in keys)
    found, most = {}, 0
    for parameters in state.parameters:
        matched = _keyed(table, connection.execute(query, parameters))
        found |= matched
        most += len(matched)
    return found, most


def _cascaded(connection, table: Table, rows: list[dict]) -> list[tuple[Table, dict[tuple, dict]]]:
    """Rows of other tables that the database deletes along with `rows` (ON DELETE CASCADE), at any depth."""
    found = []
    for child in table.metadata.sorted_tables:
        if child.name in SKIP_TABLES:
            continue
        for fk in child.foreign_keys:
            if fk.column.table is not table or (fk.ondelete or "").upper() != "CASCADE":
                continue
            values = sorted({row[fk.column.key] for row in rows if row[fk.column.key] is not None})
            children: dict[tuple, dict] = {}
            for chunk in _chunks(values):
                children |= _keyed(child, connection.execute(select(*child.columns).where(fk.parent.in_(chunk))))
            if children:
                found.append((child, children))
                found += _cascaded(connection, child, list(children.values()))
    return found


def _record_update_or_delete(state: ORMExecuteState, table: Table):
    connection = state.session.connection()
    before, most = _look_up(connection, state, table)
    cascaded = _cascaded(connection, table, list(before.values())) if state.is_delete and before else []
    result = state.invoke_statement()
    dialect = connection.dialect
    count = getattr(result, "rowcount", -1)
    if (dialect.supports_sane_multi_rowcount if state.is_executemany else dialect.supports_sane_rowcount) \
            and count is not None and count > most:
        log.warning("audit: %s on %s touched %s rows, %s were named; refused", "update" if state.is_update
                    else "delete", table.name, count, most)
        raise Conflict(_("数据正被他人同时修改，请重试"), code="concurrent_write")
    after = _rows(connection, table, before)
    batch = EventBatch()
    if state.is_update:
        for key, old in before.items():
            new = after.get(key)
            if new is None:  # the rows are locked, so only the update itself moved it: its primary key changed
                raise TypeError(f"the audit trail follows rows by primary key; cannot audit a change of {table.name}'s")
            changes = values_changes(AuditAction.UPDATE, old, new)
            if changes:
                batch.add(AuditAction.UPDATE, table.name, format_row_id(key), changes)
    else:
        for gone_from, rows in [(table, before), *cascaded]:
            left = after if gone_from is table else _rows(connection, gone_from, rows)
            for key, old in rows.items():
                if key not in left:
                    batch.add(AuditAction.DELETE, gone_from.name, format_row_id(key),
                              values_changes(AuditAction.DELETE, old, None))
    batch.write(connection)
    return result
