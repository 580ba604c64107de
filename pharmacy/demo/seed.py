"""A realistic demo county: a county hospital with its central pharmacy, 12 township health centres and
20 village service points each, one user per role and a sample of facilities."""

import logging
import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from werkzeug.security import generate_password_hash

from ..auth.models import Role, User
from ..audit.trail import summarised
from ..extensions import db
from ..facilities.models import Facility, FacilityKind
from ..facilities.services import create_facility
from .deliveries import seed_demo_routes
from .orders import seed_orders_demo
from .shortages import seed_demo_shortages
from .stock import seed_demo_stock

log = logging.getLogger(__name__)

COUNTY_CODE = "QH"
TOWNSHIPS = ["城关", "东坝", "西河", "南岭", "北山", "柳林", "石桥", "青石", "白马", "黄土坡", "龙泉", "高庙"]
VILLAGE_STEMS = ["李家", "王家", "张家", "刘家", "陈家", "杨家", "赵家", "黄家", "周家", "吴家", "徐家", "孙家",
                 "马家", "朱家", "胡家", "郭家", "何家", "高家", "林家", "罗家", "郑家", "梁家", "谢家", "宋家"]
VILLAGE_SUFFIXES = ["庄", "湾", "坪", "沟", "岭", "坝", "营", "寨", "店", "河", "桥", "洼"]

# Extra steps a domain adds to the demo (stock, shortages, routes ...): each receives the DemoCounty.
SEED_STEPS: list[Callable[["DemoCounty"], None]] = [
    seed_demo_stock,
    seed_demo_shortages,
    seed_orders_demo,
    seed_demo_routes,
]


@dataclass
class DemoCounty:
    county: Facility
    central_pharmacy: Facility
    townships: list[Facility] = field(default_factory=list)
    villages: dict[int, list[Facility]] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    passwords: dict[str, str] = field(default_factory=dict)


def _village_names(rng: random.Random, count: int) -> list[str]:
    pool = [s + x for s in VILLAGE_STEMS for x in VILLAGE_SUFFIXES]
    rng.shuffle(pool)
    return pool[:count]


def existing_county() -> Facility | None:
    return db.session.scalar(select(Facility).where(Facility.code == COUNTY_CODE))


@summarised("demo seed")
def seed_demo(*, townships: int = 12, villages_per_township: int = 20, passwords: dict[str, str] | None = None,
              seed: int = 2018) -> DemoCounty:
    """Create the demo county; flush, never commit. `passwords` maps role → password (random when absent)."""
    rng = random.Random(seed)
    passwords = dict(passwords or {})
    for role in Role:
        passwords.setdefault(role.value, secrets.token_urlsafe(9))
    hashes = {role: generate_password_hash(pw) for role, pw in passwords.items()}

    county = create_facility(code=COUNTY_CODE, name="清河县人民医院", kind=FacilityKind.COUNTY_HOSPITAL,
                             address="清河县人民路1号", phone="0316-1234567")
    central = create_facility(code=f"{COUNTY_CODE}-CP", name="清河县区域中心药房", kind=FacilityKind.CENTRAL_PHARMACY,
                              parent=county, address="清河县人民路1号院内")
    demo = DemoCounty(county=county, central_pharmacy=central, passwords=passwords)
    names = _village_names(rng, townships * villages_per_township)
    for t_index, town in enumerate(TOWNSHIPS[:townships], start=1):
        township = create_facility(code=f"T{t_index:02d}", name=f"{town}镇卫生院", kind=FacilityKind.HEALTH_CENTRE,
                                   parent=county, population=rng.randint(18000, 52000))
        demo.townships.append(township)
        demo.villages[township.id] = [
            create_facility(code=f"T{t_index:02d}V{v_index:02d}", name=f"{town}镇{names.pop()}村卫生室",
                            kind=FacilityKind.VILLAGE_POINT, parent=township,
                            population=rng.choice([rng.randint(450, 790), rng.randint(800, 3200)]))
            for v_index in range(1, villages_per_township + 1)
        ]

    def add_user(username, display_name, role, facility):
        user = User(username=username, display_name=display_name, role=role, facility=facility,
                    password_hash=hashes[role], session_token=secrets.token_hex(16))
        db.session.add(user)
        demo.users[username] = user
        return user

    add_user("county", "县药房 周药师", Role.COUNTY_PHARMACIST, central)
    add_user("formulary", "药事委员会 吴主任", Role.FORMULARY_ADMIN, county)
    add_user("viewer", "卫健局 观察员", Role.VIEWER, county)
    surnames = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗"
    for t_index, township in enumerate(demo.townships, start=1):
        add_user(f"t{t_index:02d}", f"{township.name[:-3]} {surnames[t_index % 20]}药师", Role.TOWNSHIP_PHARMACIST,
                 township)
        for v_index, village in enumerate(demo.villages[township.id], start=1):
            add_user(f"t{t_index:02d}v{v_index:02d}", f"{surnames[(t_index + v_index) % 20]}医生",
                     Role.VILLAGE_DOCTOR, village)
    db.session.flush()
    for step in SEED_STEPS:
        step(demo)
    db.session.flush()
    log.info("demo county seeded: %s townships, %s villages", len(demo.townships),
             sum(len(v) for v in demo.villages.values()))
    return demo
