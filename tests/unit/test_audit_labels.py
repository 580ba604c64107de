"""Every audited table and column has a name for people; coded columns show through the vocabulary."""

from flask_babel import force_locale

from pharmacy import create_app
from pharmacy.audit import labels
from pharmacy.extensions import db
from pharmacy.vocabulary import VOCABULARY


def _app():
    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_every_table_and_column_of_the_models_has_a_label():
    with _app().app_context():
        tables = [t for t in db.metadata.sorted_tables]
        assert [t.name for t in tables if t.name not in labels.TABLES] == []
        unlabelled = [f"{t.name}.{c.name}" for t in tables for c in t.columns
                      if labels.column_label(t.name, c.name) == c.name]
        assert unlabelled == []


def test_coded_columns_name_a_vocabulary_set_and_model_defaults_are_derived():
    with _app().app_context():
        kinds = labels.column_kinds()
    assert kinds[("shortage", "status")] == "shortage_status"  # from the model's default
    assert kinds[("purchase_order_line", "is_vbp")] == "bool"
    assert kinds[("facility", "tier")] == "tier"
    assert all(kind in VOCABULARY or kind in ("bool", "datetime") for kind in kinds.values())


def test_values_show_as_people_read_them_in_both_languages():
    app = _app()
    with app.test_request_context():
        with force_locale("zh"):
            assert labels.value_text("settlement_statement_line", "is_vbp", False) == "否"
            assert labels.value_text("purchase_order_line", "is_vbp", True) == "是"
            assert labels.value_text("shortage", "status", "acknowledged") == "已确认"
            assert labels.value_text("facility", "tier", "village") == "村级"
            assert labels.value_text("shortage", "note", None) == "—"
            assert labels.value_text("api_token", "scopes", "read write") == "读取、写入"
            assert labels.table_label("settlement_statement_line") == "结算单明细"
            assert labels.column_label("settlement_statement_line", "is_vbp") == "集采"
        with force_locale("en"):
            assert labels.value_text("settlement_statement_line", "is_vbp", False) == "No"
            assert labels.value_text("shortage", "status", "acknowledged") == "Acknowledged"
            assert labels.table_label("settlement_statement_line") == "Statement line"
            assert labels.column_label("facility", "is_active") == "Active"
        assert labels.table_label("no_such_table") == "no_such_table"  # unknown: as stored
