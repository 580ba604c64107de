"""Every domain's models, imported so that the metadata knows all tables (Alembic, create_all)."""

from .auth.models import ApiToken, User  # noqa: F401
from .catalog.models import (Alias, CatalogChange, Drug, DrugClassPath, DrugGroup, DrugGroupMember,  # noqa: F401
                             EditionSetting, Product, ProductPrice)
from .facilities.models import Facility  # noqa: F401
from .inventory.models import AdjustmentRequest, Lot, StockBalance, StockMovement, StockOperation, StockPolicy, Transfer, TransferLine  # noqa: F401
from .shortages.models import Shortage, ShortageEvent  # noqa: F401
from .audit.models import AuditEvent  # noqa: F401
from .orders.models import Allocation, Order, OrderLine, OrderLineShortage, Shipment  # noqa: F401
from .purchasing.models import (GoodsReceipt, GoodsReceiptLine, PurchaseOrder, PurchaseOrderLine, Supplier,  # noqa: F401
                                SupplierProduct)
from .settlement.models import SettlementMonth, Statement, StatementLine  # noqa: F401
from .matching.models import DictionaryImport, LocalDrug, MatchDecision  # noqa: F401
from .insurance.models import NhsaImport, NhsaRow  # noqa: F401
from .deliveries.models import (DeliveryLine, DeliveryRun, DeliveryShortfall, DeliveryStop, Route, RouteStop,  # noqa: F401
                                StockAlert)
from .scheduler.models import JobRun, SchedulerLease  # noqa: F401
from .reports.models import FigureSnapshot, TracerProduct  # noqa: F401
