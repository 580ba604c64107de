"""Moving goods between facilities: consignments, their dispatch, proof of delivery and the dispatch policy."""
