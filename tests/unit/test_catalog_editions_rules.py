"""The pure side of editions: which drug is the same drug, and the badges a comparison gives."""

from pharmacy.catalog.editions import DrugFacts, compare_editions, drug_key, is_list_edition, product_key


def facts(drug_id, name, *strengths):
    return DrugFacts(id=drug_id, key=drug_key("化学药品和生物制品", name), strengths=frozenset(strengths))


def test_badges_against_the_previous_and_the_next_edition():
    old = [facts(1, "阿莫西林", "0.25g"), facts(2, "氨氯地平", "5mg"), facts(3, "青霉素", "0.5g")]
    new = [facts(11, "阿莫西林", "0.25g"), facts(12, "氨氯地平", "2.5mg", "5mg"), facts(13, "达格列净", "10mg")]
    assert compare_editions(new, old, None) == {12: "strength_changed", 13: "added"}
    assert compare_editions(old, None, new) == {2: "strength_changed", 3: "removed"}
    assert compare_editions(old, None, None) == {}


def test_the_same_drug_and_product_whatever_the_spelling():
    assert drug_key("中成药", "藿香正气水") == drug_key("中成药", " 藿香正气水 ")
    assert product_key("化学药品和生物制品", "阿莫西林", "胶囊", "0.25g") == \
        product_key("化学药品和生物制品", "阿莫西林", "胶囊剂", "0.25 g")
    assert product_key("化学药品和生物制品", "阿莫西林", "胶囊", "0.25g") != \
        product_key("化学药品和生物制品", "阿莫西林", "片剂", "0.25g")


def test_only_years_name_list_editions():
    assert is_list_edition("2018") and is_list_edition("2026")
    assert not any(is_list_edition(code) for code in ("TEST", "T", "", "20261", "２０１８"))
