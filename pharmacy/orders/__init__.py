"""Unified orders (统一采购、统一配送): a township's order for itself and its villages, county approval,
FEFO allocation from the central pharmacy, shipment and township receipt."""
