"""Which candidates a typed name proposes on the tablet and in the township's queue: no database."""

from pharmacy.matching.index import build_index
from pharmacy.matching.matcher import NO_MATCH, PROPOSAL_LIMIT, PROPOSAL_SPREAD, match_name, shortlist
from tests.unit.test_matching_matcher import records

INDEX = build_index(*records())


def proposed(name: str, **kwargs) -> list[int]:
    return [c.product_id for c in shortlist(match_name(INDEX, name), **kwargs)]


def test_a_brand_proposes_its_product_first():
    assert proposed("络活喜")[0] == 201
    assert proposed("格华止")[0] == 1301


def test_a_drug_without_form_proposes_its_products_at_most_the_limit():
    ids = proposed("阿莫西林")
    assert 1 < len(ids) <= PROPOSAL_LIMIT and set(ids) <= {101, 102, 103, 104}
    assert proposed("阿莫西林", limit=2) == ids[:2]


def test_candidates_far_below_the_best_are_left_out():
    result = match_name(INDEX, "硝苯地平缓释片")
    kept = shortlist(result)
    assert [c.product_id for c in kept] == [302, 303]
    assert all(c.score < kept[0].score - PROPOSAL_SPREAD for c in result.candidates[len(kept):])


def test_a_brand_outside_the_formulary_still_proposes_its_drug():
    # 拜新同 is a controlled-release tablet this formulary lacks: the doctor may still mean one of its products.
    assert set(proposed("拜新同")) == {301, 302, 303}


def test_nothing_is_proposed_for_a_name_nothing_resembles():
    result = match_name(INDEX, "风油精")
    assert result.status == NO_MATCH and shortlist(result) == []
    assert proposed("") == []
