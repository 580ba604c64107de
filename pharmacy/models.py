"""Every domain's models, imported so that the metadata knows all tables (Alembic, create_all)."""

from .auth.models import User  # noqa: F401
from .catalog.models import Alias, CatalogChange, Drug, Product, ProductPrice  # noqa: F401
from .facilities.models import Facility  # noqa: F401
from .matching.models import DictionaryImport, LocalDrug, MatchDecision  # noqa: F401
