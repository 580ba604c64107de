"""The operations layer's shared parts.

Each domain has an `operations.py`: one function per thing a user can do (take a validated command — the dict a
marshmallow input schema loaded — and the acting user; apply every rule; return the result). A page and its API
twin both call it, so a rule lives once:

    page:  load → parse the form with the operation's schema → operation → render or redirect
    API:   load → `api_operation` parses the body with the same schema → operation → dump

Views hold no query, commit, rollback or rule (`tests/unit/test_thin_entry_points.py` reads them). A refused
operation raises a `DomainError`; the API's error handler answers it, and a page that shows the form again with
the message uses `refusal()`:

    with refusal() as refused:
        operations.receive_stop(current_user, stop, command)
    if refused:
        return render(..., refusal=refused.error), refused.error.status

The operation runs in a savepoint, so a refusal undoes exactly its own writes and the page is drawn from the rows
as they are in the database, not as the refused change left them in memory. The request's unit of work (see
`pharmacy._configure_unit_of_work`) still commits or rolls back the whole request.
"""

from __future__ import annotations

from collections.abc import Mapping

from marshmallow import Schema, ValidationError

from .errors import DomainError, InvalidInput, translate_validation_messages
from .extensions import db


class Refusal:
    """What a refused operation said (`error`), falsy when the operation went through."""

    def __init__(self):
        self.error: DomainError | None = None
        self._savepoint = None

    def __bool__(self) -> bool:
        return self.error is not None

    def __enter__(self) -> Refusal:
        self._savepoint = db.session.begin_nested()
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        savepoint, self._savepoint = self._savepoint, None
        if exc_type is None:
            if savepoint.is_active:
                savepoint.commit()
            return False
        if savepoint.is_active:
            savepoint.rollback()
        if isinstance(exc, DomainError):
            self.error = exc
            db.session.expire_all()
            return True
        if isinstance(exc, ValidationError):
            self.error = invalid_input(exc)
            db.session.expire_all()
            return True
        return False


def refusal() -> Refusal:
    """Run one operation so that its refusal can be shown on the page (see the module's docstring)."""
    return Refusal()


def invalid_input(err: ValidationError) -> InvalidInput:
    """A schema's refusal as the domain error pages and the API show: the fields marked, in the user's language."""
    from flask_babel import gettext as _

    fields = err.messages if isinstance(err.messages, dict) else {"_schema": err.messages}
    return InvalidInput(_("输入有误，请检查标出的字段"), fields=translate_validation_messages(fields))


def load_form(schema: Schema | type[Schema], form: Mapping, **context) -> dict:
    """Parse a page's form with the same input schema the API uses. Empty fields count as absent (a browser sends
    every input, filled or not); `context` adds values the page knows but the form does not carry."""
    schema = schema() if isinstance(schema, type) else schema
    data = {key: value for key, value in _form_items(form, schema) if value not in ("", None)}
    data.update(context)
    return schema.load(data)


def _form_items(form: Mapping, schema: Schema):
    from marshmallow import fields

    for name, field in schema.fields.items():
        key = field.data_key or name
        if isinstance(field, fields.List) and hasattr(form, "getlist"):
            values = [v for v in form.getlist(key) if v != ""]
            if values:
                yield key, values
        elif key in form:
            yield key, form.get(key)


class RowForm:
    """Load a page form whose table rows name their inputs `<prefix>_<row id>` (qty_12, lot_12…) with the input
    schema the API uses: `families` = {command list: (the rows' id field, {form prefix: schema field})}; the
    form's other fields go to `scalars`. A refusal names the form's own inputs (`qty_12`), so the page marks the
    very one. Empty inputs count as absent, as in `load_form`; `keep_row` drops rows the page sends but does not
    mean (an empty quantity on a receipt)."""

    families: dict[str, tuple[str, dict[str, str]]] = {}
    scalars: tuple[str, ...] = ()
    schema: type[Schema]

    def keep_row(self, family: str, row: dict) -> bool:
        return True

    def load(self, form: Mapping, **context) -> dict:
        command, ids = self._command(form)
        command.update(context)
        try:
            return self.schema().load(command)
        except ValidationError as err:
            raise ValidationError(self._by_form_name(err.messages, ids)) from None

    def _command(self, form: Mapping) -> tuple[dict, dict[str, list]]:
        import re

        pattern = re.compile(r"^([a-z]+)_([0-9]+)$")
        rows: dict[str, dict[int, dict]] = {family: {} for family in self.families}
        for key in form:
            match = pattern.match(key)
            value = form.get(key)
            if match is None or value in ("", None):
                continue
            for family, (_id_field, names) in self.families.items():
                if match.group(1) in names:
                    rows[family].setdefault(int(match.group(2)), {})[names[match.group(1)]] = value
        command = {name: form.get(name) for name in self.scalars if form.get(name) not in ("", None)}
        ids: dict[str, list] = {}
        for family, (id_field, _names) in self.families.items():
            kept = [(row_id, row) for row_id, row in sorted(rows[family].items()) if self.keep_row(family, row)]
            command[family] = [{id_field: row_id, **row} for row_id, row in kept]
            ids[family] = [row_id for row_id, _row in kept]
        return command, ids

    def _by_form_name(self, messages, ids: dict[str, list]):
        if not isinstance(messages, dict):
            return _as_list(messages)
        out = {}
        for key, value in messages.items():
            if key not in self.families or not isinstance(value, dict):
                out[key] = value if isinstance(value, dict) else _as_list(value)
                continue
            back = {field: prefix for prefix, field in self.families[key][1].items()}
            for index, errors in value.items():
                row_ids = ids[key]
                row_id = row_ids[index] if isinstance(index, int) and index < len(row_ids) else index
                for field, text in (errors.items() if isinstance(errors, dict) else [("_row", errors)]):
                    out[f"{back.get(field, field)}_{row_id}"] = _as_list(text)
        return out


def _as_list(messages) -> list:
    """A field's messages as a list of texts (a lazily translated message arrives bare)."""
    if isinstance(messages, (list, tuple)):
        return [m if isinstance(m, (dict, list)) else str(m) for m in messages]
    return [str(messages)]
