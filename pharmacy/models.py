"""Every domain's models, imported so that the metadata knows all tables (Alembic, create_all)."""

from .auth.models import User  # noqa: F401
from .catalog.models import Alias, CatalogChange, Drug, Product, ProductPrice  # noqa: F401
from .facilities.models import Facility  # noqa: F401
from .inventory.models import Lot, StockBalance, StockMovement, StockOperation, StockPolicy, Transfer, TransferLine  # noqa: F401
from .shortages.models import Shortage, ShortageEvent  # noqa: F401
from .reports.models import FigureSnapshot, TracerProduct  # noqa: F401
