"""Loading the formulary: idempotent, audited, and all-or-nothing."""

import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from pharmacy.catalog.loader import CatalogFileError, load_catalog
from pharmacy.catalog.models import CatalogChange, Drug, Product, ProductPrice
from pharmacy.config import ROOT
from pharmacy.extensions import db

SMALL = Path(__file__).resolve().parent.parent / "data" / "catalog_small"


@pytest.fixture
def small_dir(tmp_path):
    target = tmp_path / "catalog"
    shutil.copytree(SMALL, target)
    return target


def _counts():
    return tuple(db.session.scalar(select(func.count()).select_from(model))
                 for model in (Drug, Product, CatalogChange, ProductPrice))


def _rewrite(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_second_load_of_the_shipped_catalog_changes_nothing(db_session):
    before = _counts()
    report = load_catalog(ROOT / "catalog_data")
    assert not report.changed_anything
    assert _counts() == before


def test_load_then_edit_records_exactly_what_changed(db_session, small_dir):
    first = load_catalog(small_dir)
    assert (first.drugs_created, first.products_created) == (4, 7)
    assert not load_catalog(small_dir).changed_anything

    _rewrite(small_dir / "mini_products.csv", "TEST,X002-01,X002,片剂,5mg,片,28,盒,village,1,甲,3.36,",
             "TEST,X002-01,X002,片剂,5mg,片,28,盒,village,1,甲,2.98,")
    _rewrite(small_dir / "mini_drugs.csv", "内科用药/扶正剂/益气复脉剂", "内科用药/扶正剂/益气养阴剂")
    changes_before = db.session.scalar(select(func.max(CatalogChange.id)))
    report = load_catalog(small_dir)
    assert report.fields_changed == 2
    new = db.session.scalars(select(CatalogChange).where(CatalogChange.id > changes_before)).all()
    assert sorted((c.entity_code, c.field, c.old_value, c.new_value) for c in new) == [
        ("X002-01", "unified_price", "3.36", "2.98"),
        ("Z001", "class_path", "内科用药/扶正剂/益气复脉剂", "内科用药/扶正剂/益气养阴剂"),
    ]
    product = db.session.scalar(select(Product).where(Product.edition == "TEST", Product.code == "X002-01"))
    prices = db.session.scalars(select(ProductPrice.unified_price).where(ProductPrice.product_id == product.id)
                                .order_by(ProductPrice.id)).all()
    assert [str(p) for p in prices] == ["3.36", "2.98"]


def test_a_product_removed_from_the_file_is_withdrawn_not_deleted(db_session, small_dir):
    load_catalog(small_dir)
    lines = (small_dir / "mini_products.csv").read_text(encoding="utf-8").splitlines()
    (small_dir / "mini_products.csv").write_text("\n".join(l for l in lines if "X001-03" not in l) + "\n",
                                                 encoding="utf-8")
    report = load_catalog(small_dir)
    assert report.products_withdrawn == 1
    product = db.session.scalar(select(Product).where(Product.edition == "TEST", Product.code == "X001-03"))
    assert product.status == "withdrawn"


def test_a_price_set_by_a_person_is_not_undone_by_the_next_load(db_session, small_dir, county):
    from pharmacy.catalog.services import update_product

    load_catalog(small_dir)
    product = db.session.scalar(select(Product).where(Product.edition == "TEST", Product.code == "X001-01"))
    update_product(product, {"unified_price": "4.90"}, reason="县级议价", user=county.users["formulary"])
    report = load_catalog(small_dir)
    assert report.kept_local_edits == 1 and not report.changed_anything
    assert str(product.unified_price) == "4.90"


@pytest.mark.parametrize("mutate, where, reason", [
    (lambda d: _rewrite(d / "mini_products.csv", "base_unit", "baseunit"), "mini_products.csv:1", "表头不符"),
    (lambda d: _rewrite(d / "mini_products.csv", "0.25g,粒,24", "0.25g,颗,24"), "mini_products.csv:2", "未知基本单位"),
    (lambda d: _rewrite(d / "mini_products.csv", "TEST,X001-02,", "TEST,X001-01,"), "mini_products.csv:3", "产品编码重复"),
    (lambda d: _rewrite(d / "mini_drugs.csv", "TEST,X003,", "TEST,X002,"), "mini_drugs.csv:4", "药品编码重复"),
    (lambda d: (d / "mini_drugs.csv").write_bytes((d / "mini_drugs.csv").read_text("utf-8").encode("gbk")),
     "mini_drugs.csv:2", "不是 UTF-8"),
    (lambda d: _rewrite(d / "mini_products.csv", "24,盒,village,,甲,5.80", "24,盒,village,,甲,abc"),
     "mini_products.csv:2", "不是有效金额"),
])
def test_a_malformed_file_is_refused_whole_and_nothing_changes(db_session, small_dir, mutate, where, reason):
    load_catalog(small_dir)
    _rewrite(small_dir / "mini_products.csv", "TEST,X003-02,X003,控释片,30mg,片,7,盒,village,3,乙,12.10,",
             "TEST,X003-02,X003,控释片,30mg,片,7,盒,village,3,乙,11.00,")
    mutate(small_dir)
    before = _counts()
    with pytest.raises(CatalogFileError) as refused:
        load_catalog(small_dir)
    assert f"{refused.value.file}:{refused.value.line}" == where
    assert reason in refused.value.reason
    assert _counts() == before
    product = db.session.scalar(select(Product).where(Product.edition == "TEST", Product.code == "X003-02"))
    assert str(product.unified_price) == "12.10"


def test_the_cli_refuses_a_malformed_directory_with_file_line_and_reason(app, db_session, small_dir):
    _rewrite(small_dir / "mini_products.csv", "0.25g,粒,24", "0.25g,颗,24")
    result = app.test_cli_runner().invoke(args=["catalog", "load", "--data-dir", str(small_dir)])
    assert result.exit_code != 0
    assert "mini_products.csv:2" in result.output and "未做任何更改" in result.output
