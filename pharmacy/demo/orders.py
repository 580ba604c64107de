"""Demo data for unified supply: four suppliers with their products and prices, and one submitted township order."""

import logging
import random
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..catalog.models import Product, ProductStatus
from ..extensions import db
from ..purchasing.models import Supplier, SupplierProduct
from ..orders import services

log = logging.getLogger(__name__)

SUPPLIERS = [
    ("GYKG", "国药控股清河医药有限公司", "赵经理", "0316-2210001"),
    ("HRYY", "华润医药商业（河北）有限公司", "钱经理", "0316-2210002"),
    ("JZT", "九州通医药集团河北有限公司", "孙经理", "0316-2210003"),
    ("SYOY", "石药集团欧意药业配送中心", "李经理", "0316-2210004"),
]
PRODUCTS_PER_SUPPLIER = 40


def seed_orders_demo(demo) -> None:
    """Suppliers with prices for a slice of the formulary, and one submitted order from the first township."""
    rng = random.Random(5)
    products = list(db.session.scalars(
        select(Product).where(Product.status == ProductStatus.ACTIVE, Product.lowest_tier != "county")
        .options(joinedload(Product.drug)).order_by(Product.code).limit(PRODUCTS_PER_SUPPLIER * 3)))
    suppliers = []
    for code, name, contact, phone in SUPPLIERS:
        supplier = Supplier(code=code, name=name, contact=contact, phone=phone, is_active=True)
        db.session.add(supplier)
        suppliers.append(supplier)
    for index, product in enumerate(products):
        # Every product has one supplier, every third a second one a little dearer: proposals pick the cheaper.
        offers = [suppliers[index % len(suppliers)]]
        if index % 3 == 0:
            offers.append(suppliers[(index + 1) % len(suppliers)])
        for rank, supplier in enumerate(offers):
            factor = Decimal(rng.choice(["0.86", "0.90", "0.93", "0.95"])) + Decimal("0.03") * rank
            price = (Decimal(product.unified_price or 0) * factor).quantize(Decimal("0.01"), ROUND_HALF_UP)
            db.session.add(SupplierProduct(supplier=supplier, product=product, unit_price=price))
    db.session.flush()
    if not products or not demo.townships:
        log.info("demo orders: %s suppliers, no products in the formulary: no demo order", len(suppliers))
        return
    township = demo.townships[0]
    user = next((u for u in demo.users.values() if u.facility_id == township.id and u.role == "township_pharmacist"),
                None)
    order = services.create_order(township, user, note="演示订单")
    for position, product in enumerate(rng.sample(products, min(8, len(products)))):
        services.add_line(order, product, qty_packs=rng.randint(2, 12), user=user,
                          is_for_villages=product.lowest_tier == "village" and position % 2 == 0,
                          urgency="emergency" if position == 0 else "urgent" if position == 1 else "routine")
    services.submit_order(order, user)
    log.info("demo orders: %s suppliers, %s priced products, order %s submitted", len(suppliers), len(products),
             order.id)
