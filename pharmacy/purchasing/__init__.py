"""Purchasing (统一采购): suppliers and their prices, purchase orders for what central stock cannot cover, and the
goods receipts that create lots at the central pharmacy and release back-orders."""
