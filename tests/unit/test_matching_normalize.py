"""Normalisation, parsing and unit conversion of local drug names: pure functions, no database."""

import pytest

from pharmacy.matching.normalize import (Quantity, canonical_form, drug_words, form_penalty, format_quantities,
                                         normalize_text, parse_name, parse_quantities, salt_variants,
                                         strengths_compatible, strip_form_suffix, variant_number)
from pharmacy.catalog.pinyin import full_pinyin, pinyin_initials, pinyin_syllables


def strength(text: str) -> str:
    return format_quantities(parse_quantities(text))


@pytest.mark.parametrize("raw, expected", [
    ("０．２５ｇ＊２４粒", "0.25g*24粒"),
    ("阿莫西林胶囊　0.25g×24s", "阿莫西林胶囊 0.25g*24s"),
    ("硝苯地平缓释片（Ⅱ）", "硝苯地平缓释片(ii)"),
    ("【联邦】阿莫仙", "(联邦)阿莫仙"),
    ("0.25gx24", "0.25g*24"),
    ("AMXL", "amxl"),
    ("500微克", "500ug"),
    ("0.25克", "0.25g"),
    ("80万单位", "80万u"),
    ("400国际单位", "400iu"),
    ("10毫升", "10ml"),
    ("654-2片", "654-2片"),
    ("头孢克洛 缓释片", "头孢克洛 缓释片"),
])
def test_normalize_text(raw, expected):
    assert normalize_text(raw) == expected


def test_normalize_keeps_drug_words_that_look_like_units():
    # 克 is a unit only after a number: 克拉霉素, 头孢克洛 and 克霉唑 keep it.
    assert normalize_text("克拉霉素片 0.25克") == "克拉霉素片 0.25g"
    assert normalize_text("头孢克洛") == "头孢克洛"


@pytest.mark.parametrize("written, canonical", [
    ("0.25g", "250mg"),
    ("250mg", "250mg"),
    ("0.5mg", "0.5mg"),
    ("500μg", "0.5mg"),
    ("500µg", "0.5mg"),  # the micro sign, not Greek mu
    ("500ug", "0.5mg"),
    ("500mcg", "0.5mg"),
    ("500 微克", "0.5mg"),
    ("1.5g", "1500mg"),
    ("80万单位", "800000iu"),
    ("80万U", "800000iu"),
    ("80万IU", "800000iu"),
    ("80万", "800000iu"),
    ("4000IU", "4000iu"),
    ("400单位", "400iu"),
    ("1L", "1000ml"),
    ("10ml:0.5g", "10ml:500mg"),
    ("0.5g/10ml", "10ml:500mg"),
    ("0.25g(25万单位)", "250mg:250000iu"),
    ("2.25g(2.0g:0.25g)", "250mg:2000mg:2250mg"),
    ("0.9%", "0.9%"),
])
def test_strength_units_are_converted_to_one_scale(written, canonical):
    assert strength(written) == canonical


def test_percent_of_a_volume_is_also_a_mass():
    quantities = parse_quantities("5% 250ml")
    assert Quantity("mass", 12500.0) in quantities
    assert next(q for q in quantities if q.dimension == "mass").derived


def test_numbers_inside_names_are_not_strengths():
    assert parse_quantities("维生素B12") == []
    assert parse_quantities("辅酶Q10 10mg") == [Quantity("mass", 10.0)]
    assert parse_quantities("654-2片") == []


@pytest.mark.parametrize("wanted, offered, expected", [
    ("0.25g", "250mg", True),
    ("0.25g", "0.5g", False),
    ("", "0.5g", None),
    ("80万单位", "0.48g(80万单位)", True),
    ("0.48g", "0.48g(80万单位)", True),
    ("100ml:0.5g", "100ml:0.5g", True),
    ("250ml:0.5g", "100ml:0.5g", False),
    ("10g", "每袋装10g", True),
    ("10g*10袋", "每袋装15g", False),
    ("10ml", "每支装10ml", True),
    ("5% 250ml", "250ml:12.5g(5%)", True),
    ("10% 250ml", "250ml:12.5g(5%)", False),
    ("0.1% 500ml", "0.1%", True),
    ("20% 250ml", "250ml:50g", True),
    ("20% 250ml", "100ml:20g", False),
])
def test_strengths_compatible(wanted, offered, expected):
    assert strengths_compatible(parse_quantities(wanted), parse_quantities(offered)) is expected


@pytest.mark.parametrize("written, canonical", [
    ("片剂", "片"), ("片", "片"), ("薄膜衣片", "片"), ("缓释片", "缓释片"), ("肠溶片", "肠溶片"),
    ("胶囊", "胶囊"), ("胶囊剂", "胶囊"), ("颗粒剂", "颗粒"), ("冲剂", "颗粒"), ("注射剂", "注射液"),
    ("针", "注射液"), ("注射用无菌粉末", "注射用粉"), ("粉针", "注射用粉"), ("口服溶液剂", "口服液"),
    ("滴眼剂", "滴眼液"), ("大蜜丸", "蜜丸"), ("丸剂", "丸"), ("氯化钠注射液", "注射液"), ("乳状注射液", "注射液"),
])
def test_dosage_form_synonyms(written, canonical):
    assert canonical_form(written) == canonical


def test_form_penalties_tell_release_kinds_apart():
    assert form_penalty("片", "片") == 0
    assert form_penalty("", "胶囊") == 0
    assert form_penalty("丸", "蜜丸") == 0
    assert 0 < form_penalty("胶囊", "软胶囊") < form_penalty("片", "缓释片")
    assert 0 < form_penalty("注射液", "注射用粉") < form_penalty("片", "胶囊")
    assert form_penalty("浓缩丸", "蜜丸") > form_penalty("胶囊", "软胶囊")
    assert form_penalty("缓释片", "控释片") == form_penalty("片", "胶囊")


def test_parse_splits_drug_form_strength_pack_and_maker():
    parsed = parse_name("络活喜 苯磺酸氨氯地平片 5mg*7片 辉瑞")
    assert parsed.segments == ("络活喜", "苯磺酸氨氯地平")
    assert parsed.form == "片"
    assert parsed.strength == "5mg"
    assert parsed.pack == "*7片"
    assert parsed.pack_unit == "片"
    assert parsed.manufacturer == "辉瑞"


@pytest.mark.parametrize("name, words, form, strength, pack", [
    ("阿莫西林胶囊 0.25g*24粒", ("阿莫西林",), "胶囊", "250mg", "*24粒"),
    ("阿莫西林胶囊0.25g×24s 联邦", ("阿莫西林",), "胶囊", "250mg", "*24s"),
    ("阿莫西林胶囊 250mg 24粒/盒", ("阿莫西林",), "胶囊", "250mg", "24粒/盒"),
    ("头孢氨苄胶囊0.25g12粒*2板", ("头孢氨苄",), "胶囊", "250mg", "*2板 12粒"),
    ("注射用青霉素钠 80万单位", ("青霉素钠",), "注射用粉", "800000iu", ""),
    ("硝苯地平缓释片(Ⅱ) 20mg*30片", ("硝苯地平",), "缓释片", "20mg", "*30片"),
    ("维生素B12注射液 1ml:0.5mg*10支", ("维生素b12",), "注射液", "1ml:0.5mg", "*10支"),
    ("银翘解毒丸 每丸重9g*10丸", ("银翘解毒",), "丸", "9000mg", "*10丸"),
    ("六味地黄丸(浓缩丸) 200丸/瓶", ("六味地黄",), "浓缩丸", "", "200丸/瓶"),
    ("ＡＭＸＬ", ("amxl",), "", "", ""),
    ("片仔癀 3g", ("片仔癀",), "", "3000mg", ""),
    ("灭菌注射用水 5ml", ("灭菌注射用",), "水", "5ml", ""),
    ("吸入用布地奈德混悬液 2ml:1mg", ("布地奈德",), "雾化混悬液", "2ml:1mg", ""),
    ("维生素D2注射液 5mg:1ml10支/盒", ("维生素d2",), "注射液", "1ml:5mg", "10支/盒"),
    ("JXZ 0.2g片", ("jxz",), "片", "200mg", ""),
    ("马来酸左旋氨氯地平片", ("马来酸左氨氯地平",), "片", "", ""),
])
def test_parse_name(name, words, form, strength, pack):
    parsed = parse_name(name)
    assert (parsed.segments, parsed.form, parsed.strength, parsed.pack) == (words, form, strength, pack)


def test_parse_keeps_a_bare_number_for_names_that_leave_out_the_unit():
    parsed = parse_name("阿莫西林胶 0.25")
    assert parsed.form == "胶囊"
    assert parsed.bare_numbers == (0.25,)
    assert parse_name("先锋6号").segments == ("先锋6号",)


def test_parse_uses_separate_spec_and_maker_columns():
    parsed = parse_name("阿莫西林胶囊", spec="0.25g*24粒", manufacturer="石药欧意")
    assert (parsed.strength, parsed.pack, parsed.manufacturer) == ("250mg", "*24粒", "石药欧意")
    assert parse_name("阿莫西林胶囊 0.25g 石药欧意", manufacturer="石药欧意").key == parsed.key


def test_company_names_are_not_drug_words():
    parsed = parse_name("头孢呋辛酯片 0.25g*12片 华北制药股份有限公司")
    assert parsed.segments == ("头孢呋辛酯",)


def test_key_ignores_pack_maker_width_and_spelling():
    key = parse_name("阿莫西林胶囊 0.25g*24粒 联邦").key
    assert key == "阿莫西林|胶囊|250mg"
    assert parse_name("阿莫西林胶囊剂　２５０ｍｇ×２４ｓ").key == key


def test_roman_numeral_variants():
    assert parse_name("硝苯地平缓释片(Ⅱ)").variant == 2
    assert variant_number("Ⅲ型(5.125g)") == 3
    assert variant_number("0.25g") is None


def test_salts_and_forms_are_stripped_for_lookup():
    assert salt_variants("苯磺酸氨氯地平") == ["氨氯地平"]
    assert salt_variants("头孢曲松钠") == ["头孢曲松"]
    assert salt_variants("盐酸") == []
    assert strip_form_suffix("银翘解毒丸") == "银翘解毒"
    assert strip_form_suffix("参麦注射液") == "参麦"
    assert strip_form_suffix("片仔癀") == "片仔癀"
    assert drug_words("左旋氨氯地平") == drug_words("左氨氯地平")
    assert drug_words("地尔硫卓") == drug_words("地尔硫䓬")


@pytest.mark.parametrize("text, initials", [
    ("阿莫西林", "AMXL"),
    ("硝苯地平", "XBDP"),
    ("参麦注射液", "SMZSY"),
    ("川芎茶调丸", "CXCTW"),
    ("维生素B1", "WSSB1"),
    ("地尔硫䓬", "DELZ"),
    ("苯二氮䓬", "BEDZ"),
    ("六味地黄丸", "LWDHW"),
    ("还少丹", "HSD"),
])
def test_pinyin_initials(text, initials):
    assert pinyin_initials(text) == initials


def test_pinyin_reads_drug_polyphones_as_pharmacists_do():
    assert pinyin_syllables("参麦") == ("shen", "mai")
    assert pinyin_syllables("川芎") == ("chuan", "xiong")
    assert pinyin_syllables("川芎茶调丸")[2:4] == ("cha", "tiao")
    assert pinyin_syllables("地尔硫䓬")[-1] == "zhuo"  # 䓬 is kept, not dropped
    assert pinyin_syllables("白术") == ("bai", "zhu")
    assert pinyin_syllables("枸橼酸铋钾")[:2] == ("ju", "yuan")
    assert full_pinyin("重组人胰岛素").startswith("chongzu")
    assert full_pinyin("还少丹") == "huanshaodan"
