"""Domain events: what one domain announces and others react to (blinker signals, as Flask itself uses them).

A sender passes the object the event is about; receivers run in the same transaction, so a receiver that raises
rolls the whole change back. Receivers live in each domain's `handlers.py`, listed in `HANDLER_MODULES` and
imported once by the application factory.
"""

from blinker import Namespace

_events = Namespace()

# Supply (pharmacy.supply): goods left their source / the destination signed for them. Sender: the Consignment.
consignment_dispatched = _events.signal("consignment-dispatched")
consignment_received = _events.signal("consignment-received")
consignment_cancelled = _events.signal("consignment-cancelled")

# Orders (pharmacy.orders): lines went onto a live order / came off it (rejected, removed, cancelled).
# Sender: the Order; keyword `shortage_ids` (and `note` for releases), `user`.
order_lines_placed = _events.signal("order-lines-placed")
order_lines_released = _events.signal("order-lines-released")

# Purchasing (pharmacy.purchasing): a supplier's goods were booked into a central pharmacy's stock.
# Sender: the GoodsReceipt; keywords `facility` (the central pharmacy), `product_ids`, `user`.
goods_received = _events.signal("goods-received")

HANDLER_MODULES = (
    "pharmacy.shortages.handlers",
    "pharmacy.orders.handlers",
    "pharmacy.deliveries.handlers",
)
