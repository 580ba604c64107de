"""Two people attach one 医保药品代码 to two products at the same moment, on PostgreSQL: one wins, the other is
told (409), never a server error. Each thread has its own app context and session and commits as a request would;
the test commits its own rows and deletes them at the end."""

import secrets
import threading

import pytest
from sqlalchemy import delete, select

from pharmacy.audit.models import AuditEvent
from pharmacy.auth.models import Role, User
from pharmacy.catalog.models import CatalogChange, Drug, Product
from pharmacy.errors import Conflict
from pharmacy.extensions import db
from pharmacy.facilities.models import Facility, FacilityKind
from pharmacy.facilities.services import create_facility
from pharmacy.insurance import services

CODE = "XJ01CAA040A001010109999"  # made up, in the published format


@pytest.mark.postgresql
def test_one_code_attached_twice_at_once_goes_to_one_product(app):
    tag = secrets.token_hex(3).upper()
    with app.app_context():
        county = create_facility(code=f"NH{tag}", name="医保并发测试县", kind=FacilityKind.COUNTY_HOSPITAL)
        drug = Drug(edition="NH", code=f"NH{tag}", category="化学药品和生物制品", generic_name="医保并发测试药",
                    pinyin_initials="YBBFCSY")
        products = [Product(drug=drug, edition="NH", code=f"NH{tag}-0{n}", dosage_form="片剂", strength=f"{n}mg",
                            base_unit="片", pack_size=10, lowest_tier="village") for n in (1, 2)]
        user = User(username=f"nh{tag.lower()}", display_name="并发测试", role=Role.FORMULARY_ADMIN, facility=county,
                    password_hash="!", session_token=secrets.token_hex(8))
        db.session.add_all([drug, *products, user])
        db.session.commit()
        ids = {"products": [p.id for p in products], "drug": drug.id, "user": user.id, "county": county.id}
    first_flushed = threading.Event()
    outcomes: dict[int, str] = {}

    def attach(index: int) -> None:
        with app.app_context():
            product = db.session.get(Product, ids["products"][index])
            actor = db.session.get(User, ids["user"])
            if index == 1:
                first_flushed.wait(5)
            try:
                services.set_codes(product, {"nhsa_code": CODE}, reason="并发测试", user=actor)
                if index == 0:
                    first_flushed.set()
                    threading.Event().wait(0.5)  # the other one checks now and blocks on the unique index
                db.session.commit()
                outcomes[index] = "attached"
            except Conflict:
                db.session.rollback()
                outcomes[index] = "conflict"
            except Exception as exc:  # noqa: BLE001 - what a request would answer with a 500
                db.session.rollback()
                outcomes[index] = type(exc).__name__
            finally:
                first_flushed.set()
                db.session.remove()

    threads = [threading.Thread(target=attach, args=(n,)) for n in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    with app.app_context():
        try:
            assert outcomes == {0: "attached", 1: "conflict"}
            holders = db.session.scalars(select(Product.id).where(Product.nhsa_code == CODE)).all()
            assert holders == [ids["products"][0]]
        finally:
            db.session.execute(delete(CatalogChange).where(CatalogChange.product_id.in_(ids["products"])))
            db.session.execute(delete(Product).where(Product.id.in_(ids["products"])))
            db.session.execute(delete(Drug).where(Drug.id == ids["drug"]))
            db.session.execute(delete(User).where(User.id == ids["user"]))
            db.session.execute(delete(Facility).where(Facility.id == ids["county"]))
            db.session.execute(delete(AuditEvent).where(AuditEvent.username == f"nh{tag.lower()}"))
            db.session.commit()
