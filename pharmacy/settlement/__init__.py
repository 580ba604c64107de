"""Settlement (统一结算): each facility's monthly statement of the goods it received, at the unified price of the
receipt date; a closed month is stored and never changes."""
