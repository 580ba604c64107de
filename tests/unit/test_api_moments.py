"""Every moment a schema writes goes through the API's one datetime field (UTC with a Z), so none can leave
without its offset; and that field writes and reads moments as the tablet expects."""

import importlib
import inspect
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from flask import Flask
from marshmallow import Schema, fields

import pharmacy
from pharmacy.api import JSONProvider, UtcDateTime


def _schema_classes():
    root = Path(pharmacy.__file__).parent
    for path in sorted(root.glob("*/schemas.py")):
        module = importlib.import_module(f"pharmacy.{path.parent.name}.schemas")
        for _name, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Schema) and cls.__module__ == module.__name__:
                yield cls


def _moment_fields(field):
    if isinstance(field, fields.List):
        yield from _moment_fields(field.inner)
    elif isinstance(field, fields.DateTime):
        yield field


def test_every_schema_declares_its_moments_with_the_api_field():
    classes = list(_schema_classes())
    assert len(classes) > 50
    plain = [f"{cls.__module__}.{cls.__name__}.{name}" for cls in classes
             for name, field in cls._declared_fields.items()
             for moment in _moment_fields(field) if not isinstance(moment, UtcDateTime)]
    assert plain == []


class Moment(Schema):
    at = UtcDateTime(allow_none=True)


@pytest.mark.parametrize("value", [datetime(2026, 12, 4, 1, 31), datetime(2026, 12, 4, 1, 31, tzinfo=UTC)])
def test_a_stored_moment_is_written_in_utc_with_z(value):
    assert Moment().dump({"at": value}) == {"at": "2026-12-04T01:31:00Z"}
    assert Moment().dump({"at": None}) == {"at": None}


@pytest.mark.parametrize("text", ["2026-12-04T09:31:00+08:00", "2026-12-04T01:31:00Z", "2026-12-04T01:31:00"])
def test_a_moment_is_read_with_any_offset_and_kept_in_utc(text):
    at = Moment().load({"at": text})["at"]
    assert at == datetime(2026, 12, 4, 1, 31, tzinfo=UTC) and at.utcoffset().total_seconds() == 0


def test_hand_built_json_writes_moments_as_the_schemas_do():
    app = Flask(__name__)
    app.json = JSONProvider(app)
    assert app.json.loads(app.json.dumps({"at": datetime(2026, 12, 4, 1, 31), "day": date(2026, 12, 4)})) == {
        "at": "2026-12-04T01:31:00Z", "day": "2026-12-04"}
