"""Delivery from a township to its village service points: routes, planned runs, dispatch, receipt, manifests."""
