"""Factories: each test states the data it needs."""

import itertools
import secrets
from decimal import Decimal
from types import SimpleNamespace

from pharmacy import clock
from pharmacy.auth.models import Role, User
from pharmacy.catalog.models import Drug, Product, ProductPrice
from pharmacy.extensions import db
from pharmacy.facilities.models import FacilityKind
from pharmacy.facilities.services import create_facility

_seq = itertools.count(1)
FAST_HASH_METHOD = "pbkdf2:sha256:1000"


def make_user(facility, role: Role, username: str | None = None, password: str = "correct horse") -> User:
    from werkzeug.security import generate_password_hash

    user = User(username=username or f"u{next(_seq)}", display_name=f"测试{role.value}", role=role,
                facility=facility, password_hash=generate_password_hash(password, method=FAST_HASH_METHOD),
                session_token=secrets.token_hex(8))
    db.session.add(user)
    db.session.flush()
    return user


def make_county(townships: int = 2, villages: int = 2, code: str | None = None) -> SimpleNamespace:
    """A small county: hospital, central pharmacy, townships with villages, and one user per role."""
    prefix = code or f"C{next(_seq)}"
    county = create_facility(code=prefix, name="测试县医院", kind=FacilityKind.COUNTY_HOSPITAL)
    central = create_facility(code=f"{prefix}-CP", name="测试县中心药房", kind=FacilityKind.CENTRAL_PHARMACY,
                              parent=county)
    ns = SimpleNamespace(county=county, central=central, townships=[], villages=[], users={})
    for t in range(1, townships + 1):
        town = create_facility(code=f"{prefix}-T{t}", name=f"测试{t}镇卫生院", kind=FacilityKind.HEALTH_CENTRE,
                               parent=county)
        ns.townships.append(town)
        for v in range(1, villages + 1):
            ns.villages.append(create_facility(code=f"{prefix}-T{t}V{v}", name=f"测试{t}镇{v}村卫生室",
                                               kind=FacilityKind.VILLAGE_POINT, parent=town, population=900))
    ns.users["county"] = make_user(central, Role.COUNTY_PHARMACIST)
    ns.users["formulary"] = make_user(county, Role.FORMULARY_ADMIN)
    ns.users["viewer"] = make_user(county, Role.VIEWER)
    ns.users["township"] = make_user(ns.townships[0], Role.TOWNSHIP_PHARMACIST)
    ns.users["village"] = make_user(ns.villages[0], Role.VILLAGE_DOCTOR)
    ns.users["other_village"] = make_user(ns.villages[-1], Role.VILLAGE_DOCTOR)
    return ns


def make_product(generic_name: str = "测试药", *, dosage_form: str = "片剂", strength: str = "5mg",
                 base_unit: str = "片", pack_size: int = 24, price: str = "12.50", lowest_tier: str = "village",
                 vbp_batch: str = "", chronic_tags: str = "", edition: str = "T") -> Product:
    n = next(_seq)
    drug = Drug(edition=edition, code=f"T{n:04d}", eml_no=n, category="化学药品和生物制品", class_path="测试类/测试亚类",
                generic_name=f"{generic_name}{n}" if generic_name == "测试药" else generic_name,
                pinyin_initials="CSY", chronic_tags=chronic_tags)
    product = Product(drug=drug, edition=edition, code=f"T{n:04d}-01", dosage_form=dosage_form, strength=strength,
                      base_unit=base_unit, pack_size=pack_size, pack_unit="盒", lowest_tier=lowest_tier,
                      vbp_batch=vbp_batch, unified_price=Decimal(price), effective_from=clock.now_utc())
    db.session.add_all([drug, product, ProductPrice(product=product, unified_price=Decimal(price))])
    db.session.flush()
    return product
