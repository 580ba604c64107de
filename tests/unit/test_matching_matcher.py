"""Candidates, scores and decisions over a small in-memory index: no database."""

import pytest

from pharmacy.matching.brands import alias_key
from pharmacy.matching.index import AliasRecord, DrugRecord, ProductRecord, build_index
from pharmacy.matching.matcher import AUTO_MATCHED, AUTO_THRESHOLD, FUZZY_CAP, NEEDS_REVIEW, NO_MATCH, match_name
from pharmacy.matching.search import search_products

DRUGS = [
    (1, "阿莫西林", "化学药品和生物制品"), (2, "氨氯地平", "化学药品和生物制品"), (3, "硝苯地平", "化学药品和生物制品"),
    (4, "青霉素", "化学药品和生物制品"), (5, "奥美拉唑", "化学药品和生物制品"), (6, "葡萄糖", "化学药品和生物制品"),
    (7, "葡萄糖氯化钠", "化学药品和生物制品"), (8, "氯化钠", "化学药品和生物制品"), (9, "维生素B1",
                                 "化学药品和生物制品"),
    (10, "维生素B12", "化学药品和生物制品"), (11, "六味地黄丸", "中成药"), (12, "缬沙坦", "化学药品和生物制品"),
    (13, "二甲双胍", "化学药品和生物制品"), (14, "血塞通片", "中成药"), (15, "参麦注射液", "中成药"),
    (16, "左氧氟沙星", "化学药品和生物制品"),
]
PRODUCTS = [
    # id, drug, form, strength, tier, remarks, base unit
    (101, 1, "片剂", "0.25g", "village", "", "片"), (102, 1, "胶囊", "0.125g", "village", "", "粒"),
    (103, 1, "胶囊", "0.25g", "village", "", "粒"), (104, 1, "颗粒剂", "0.125g", "village", "", "袋"),
    (201, 2, "片剂", "5mg", "village", "苯磺酸盐、马来酸盐", "片"),
    (301, 3, "片剂", "10mg", "village", "", "片"), (302, 3, "缓释片", "10mg", "village", "", "片"),
    (303, 3, "缓释片", "20mg", "village", "", "片"),
    (401, 4, "注射用无菌粉末", "0.48g(80万单位)", "township", "钠盐", "支"),
    (402, 4, "注射用无菌粉末", "0.5g(80万单位)", "township", "钾盐", "支"),
    (501, 5, "肠溶胶囊", "20mg", "village", "", "粒"),
    (601, 6, "注射液", "250ml:12.5g(5%)", "township", "", "瓶"), (602, 6, "注射液", "250ml:25g(10%)", "township", "",
                                 "瓶"),
    (701, 7, "注射液", "250ml(葡萄糖12.5g+氯化钠2.25g)", "township", "", "瓶"),
    (801, 8, "注射液", "250ml:2.25g(0.9%)", "township", "", "瓶"),
    (901, 9, "片剂", "10mg", "village", "", "片"), (1001, 10, "注射液", "1ml:0.5mg", "township", "", "支"),
    (1101, 11, "蜜丸", "每丸重9g", "village", "", "丸"), (1102, 11, "颗粒剂", "每袋装5g", "village", "", "袋"),
    (1201, 12, "片剂", "80mg", "village", "", "片"), (1202, 12, "胶囊", "80mg", "village", "", "粒"),
    (1301, 13, "片剂", "0.5g", "village", "", "片"), (1302, 13, "缓释片", "0.5g", "village", "", "片"),
    (1401, 14, "片剂", "每片含三七总皂苷50mg", "village", "", "片"),
    (1501, 15, "注射剂", "每支装10ml", "township", "", "支"),
    (1601, 16, "片剂", "0.5g", "village", "", "片"), (1602, 16, "氯化钠注射液", "100ml:0.5g", "township", "", "瓶"),
]
BRANDS = [
    (1, "络活喜", 2, 201, "片剂", "5mg"),
    (2, "格华止", 13, 1301, "片剂", "0.5g"),
    (3, "拜新同", 3, None, "控释片", "30mg"),  # controlled release: not in this formulary
    (4, "VC", 9, None, "", ""),
]


def records(*, withdrawn=(), aliases=()):
    drugs = [DrugRecord(id=i, code=f"D{i:03d}", generic_name=name, category=category) for i, name, category in DRUGS]
    products = [ProductRecord(id=i, code=f"P{i}", drug_id=d, dosage_form=f, strength=s, lowest_tier=t, remarks=r,
                              base_unit=u, is_active=i not in withdrawn)
                for i, d, f, s, t, r, u in PRODUCTS]
    alias_records = [AliasRecord(id=i, text=text, normalized_text=alias_key(text, form, strength), drug_id=d,
                                 product_id=p, source="brand") for i, text, d, p, form, strength in BRANDS]
    return drugs, products, alias_records + list(aliases)


@pytest.fixture(scope="module")
def index():
    return build_index(*records())


def top_product(result):
    return result.top.product_id if result.top else None


@pytest.mark.parametrize("name, product_id", [
    ("阿莫西林胶囊 0.25g*24粒", 103),
    ("阿莫西林胶囊0.25g×24s 联邦", 103),
    ("阿莫西林胶囊　２５０ｍｇ＊２４粒 石药欧意", 103),
    ("阿莫西林颗粒 125mg*12袋", 104),
    ("苯磺酸氨氯地平片 5mg*7片", 201),
    ("马来酸氨氯地平片", 201),
    ("硝苯地平缓释片(Ⅱ) 20mg*30片", 303),
    ("硝苯地平缓释片 10mg", 302),
    ("注射用青霉素钠 80万单位", 401),
    ("注射用青霉素钾 80万U", 402),
    ("奥美拉唑肠溶胶囊 20mg*14粒", 501),
    ("5%葡萄糖注射液 250ml", 601),
    ("葡萄糖注射液 10% 250ml", 602),
    ("葡萄糖氯化钠注射液 250ml", 701),
    ("0.9%氯化钠注射液 250ml", 801),
    ("维生素B1片 10mg*100片", 901),
    ("维生素B12注射液 0.5mg/1ml", 1001),
    ("六味地黄丸 9g*10丸", 1101),
    ("六味地黄颗粒 5g*10袋", 1102),
    ("盐酸左氧氟沙星片 0.5g", 1601),
    ("左氧氟沙星氯化钠注射液 100ml:0.5g", 1602),
    ("络活喜 5mg*7片 辉瑞", 201),
    ("格华止 0.5g*20片", 1301),
])
def test_known_names_are_auto_matched_to_their_product(index, name, product_id):
    result = match_name(index, name)
    assert (result.status, top_product(result)) == (AUTO_MATCHED, product_id)
    assert result.product_id == product_id
    assert result.score >= AUTO_THRESHOLD


def test_strength_absent_from_the_formulary_matches_the_drug_but_never_another_strength(index):
    result = match_name(index, "阿莫西林胶囊 0.5g*24粒")
    assert result.status == NEEDS_REVIEW
    assert result.product_id is None
    assert result.top.drug_id == 1
    assert result.reason == "目录中没有该规格"


def test_dosage_form_absent_from_the_formulary_is_reviewed(index):
    result = match_name(index, "奥美拉唑肠溶片 20mg")
    assert result.status == NEEDS_REVIEW and result.top.drug_id == 5


def test_brand_of_a_product_outside_the_formulary_is_not_taken_for_another(index):
    result = match_name(index, "拜新同 30mg*7片")
    assert result.status != AUTO_MATCHED
    assert result.top.drug_id == 3


@pytest.mark.parametrize("name", [
    "头孢克肟胶囊 0.1g*6粒",
    "艾司奥美拉唑镁肠溶片 20mg*7片",
    "复方氨酚烷胺胶囊",
    "维生素E软胶囊 100mg",
    "阿莫西林克拉维酸钾片 0.375g",
    "小儿氨酚黄那敏颗粒",
])
def test_medicines_outside_the_formulary_are_never_auto_matched(index, name):
    assert match_name(index, name).status in (NO_MATCH, NEEDS_REVIEW)


def test_unrelated_names_come_out_no_match(index):
    assert match_name(index, "头孢克肟胶囊 0.1g").status == NO_MATCH
    assert match_name(index, "风油精 3ml").status == NO_MATCH
    assert match_name(index, "").status == NO_MATCH


def test_brand_names_need_the_alias_table():
    drugs, products, _ = records()
    bare = build_index(drugs, products, [])
    assert match_name(bare, "络活喜 5mg").status == NO_MATCH


def test_ambiguous_names_are_reviewed(index):
    assert match_name(index, "硝苯地平 10mg").status == NEEDS_REVIEW  # tablet or sustained-release tablet
    result = match_name(index, "阿莫西林")
    assert result.status == NEEDS_REVIEW and {c.drug_id for c in result.candidates} == {1}


@pytest.mark.parametrize("name, drug_id", [
    ("阿莫西休胶囊 0.25g", 1),
    ("硝笨地平片 10mg", 3),
    ("氨录地平片 5mg", 2),
    ("六味地皇丸 9g", 11),
])
def test_typos_are_reviewed_with_the_right_candidate_first(index, name, drug_id):
    result = match_name(index, name)
    assert result.status == NEEDS_REVIEW
    assert result.top.drug_id == drug_id
    assert result.score <= FUZZY_CAP


@pytest.mark.parametrize("name, product_id", [
    ("AMXL胶囊 0.25g", 103),
    ("amxljn 0.25g", 103),
    ("阿莫xl胶囊 0.25g", 103),
    ("XBDPHSP 20mg", 303),
    ("lwdhw", 1101),
])
def test_pinyin_initials(index, name, product_id):
    assert top_product(match_name(index, name)) == product_id


def test_initials_shared_by_two_drugs_are_told_apart_by_strength(index):
    result = match_name(index, "XST 80mg")  # 缬沙坦 and 血塞通片 are both XST
    assert result.top.drug_id == 12
    assert result.status == NEEDS_REVIEW  # tablets and capsules of 80mg


def test_a_number_inside_a_drug_name_is_not_split(index):
    result = match_name(index, "维生素B12片 25μg")
    assert result.top.drug_id == 10 and result.status == NEEDS_REVIEW


def test_withdrawn_products_are_never_candidates():
    index = build_index(*records(withdrawn={103}))
    result = match_name(index, "阿莫西林胶囊 0.25g")
    assert 103 not in [c.product_id for c in result.candidates]
    assert result.status != AUTO_MATCHED


def test_a_confirmed_local_name_wins_and_only_where_it_was_confirmed():
    local = AliasRecord(id=99, text="阿莫 胶 0.25", normalized_text="阿莫|胶囊|", drug_id=1, product_id=103,
                        source="local_confirmed", facility_id=7)
    index = build_index(*records(aliases=[local]))
    here = match_name(index, "阿莫 胶 0.25", facility_ids=(7, 1))
    assert (here.status, here.product_id, here.score, here.source) == (AUTO_MATCHED, 103, 100.0, "local_confirmed")
    elsewhere = match_name(index, "阿莫 胶 0.25", facility_ids=(8, 1))
    assert elsewhere.status != AUTO_MATCHED or elsewhere.source != "local_confirmed"
    # Its words name the drug at this facility, but not a strength the confirmation did not cover.
    other_strength = match_name(index, "阿莫 胶 0.125g", facility_ids=(7, 1))
    assert top_product(other_strength) == 102


def test_results_carry_at_most_five_candidates(index):
    assert len(match_name(index, "阿莫西林").candidates) <= 5


def test_search_by_chinese_prefix_initials_mix_and_brand(index):
    def first(query, **kw):
        hits = search_products(index, query, **kw)
        return hits[0].product_id if hits else None

    assert index.products[first("阿莫")].drug_id == 1
    assert index.products[first("amx")].drug_id == 1
    assert index.products[first("阿莫xl")].drug_id == 1
    assert first("AMXLJN") in (102, 103)
    assert first("络活") == 201
    assert first("硝苯地平缓释 20") == 303
    assert index.products[first("二甲双胍缓")].form == "缓释片"
    assert first("vc") == 901
    assert search_products(index, "") == []


def test_search_keeps_to_the_tiers_a_facility_may_stock(index):
    village = search_products(index, "参麦", allowed_tiers={"village"})
    township = search_products(index, "参麦", allowed_tiers={"village", "township"})
    assert 1501 not in [h.product_id for h in village]
    assert township[0].product_id == 1501


def test_search_never_offers_withdrawn_products():
    index = build_index(*records(withdrawn={103}))
    assert 103 not in [h.product_id for h in search_products(index, "阿莫西林胶囊", limit=20)]
