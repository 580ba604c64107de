#!/usr/bin/env python
"""Write tests/data/matching_dev_variants.csv: local spellings of a seeded sample of formulary products.

The hand-written part of the development set (tests/data/matching_dev_set.csv) covers brands, common names, typos,
pinyin and medicines outside the formulary; this part covers the everyday spellings a township dictionary has for
products that are in it: the salt written out, another form spelling, the strength in other units, the pack, the
maker, full-width characters. The writing rules below come from real dictionaries, not from the matcher; each row
is labelled by the product it was written from (generic name, dosage form, strength), so labels survive code changes.

    .venv/bin/python scripts/make_matching_dev_variants.py [--catalog catalog_data] [--count 330]
"""

import argparse
import csv
import random
import re
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pharmacy.catalog.loader import read_catalog  # noqa: E402

# How a township writes the acid or salt of a drug whose formulary name leaves it out.
SALT_NAMES = {
    "氨氯地平": ["苯磺酸氨氯地平", "马来酸氨氯地平"], "二甲双胍": ["盐酸二甲双胍"], "氯吡格雷": ["硫酸氢氯吡格雷"],
    "阿托伐他汀": ["阿托伐他汀钙"], "瑞舒伐他汀": ["瑞舒伐他汀钙"], "依那普利": ["马来酸依那普利"],
    "比索洛尔": ["富马酸比索洛尔"], "雷尼替丁": ["盐酸雷尼替丁"], "氨溴索": ["盐酸氨溴索"], "溴己新": ["盐酸溴己新"],
    "多奈哌齐": ["盐酸多奈哌齐"], "帕罗西汀": ["盐酸帕罗西汀"], "氟西汀": ["盐酸氟西汀"], "舍曲林": ["盐酸舍曲林"],
    "文拉法辛": ["盐酸文拉法辛"], "艾司西酞普兰": ["草酸艾司西酞普兰"], "喹硫平": ["富马酸喹硫平"],
    "坦洛新": ["盐酸坦洛新"], "特拉唑嗪": ["盐酸特拉唑嗪"], "左氧氟沙星": ["盐酸左氧氟沙星", "乳酸左氧氟沙星"],
    "环丙沙星": ["盐酸环丙沙星"], "莫西沙星": ["盐酸莫西沙星"], "克林霉素": ["盐酸克林霉素"],
    "多西环素": ["盐酸多西环素"],
    "胺碘酮": ["盐酸胺碘酮"], "普罗帕酮": ["盐酸普罗帕酮"], "普萘洛尔": ["盐酸普萘洛尔"], "地尔硫䓬": ["盐酸地尔硫䓬"],
    "维拉帕米": ["盐酸维拉帕米"], "曲美他嗪": ["盐酸曲美他嗪"], "氟桂利嗪": ["盐酸氟桂利嗪"], "小檗碱": ["盐酸小檗碱"],
    "吡格列酮": ["盐酸吡格列酮"], "昂丹司琼": ["盐酸昂丹司琼"], "伊马替尼": ["甲磺酸伊马替尼"],
    "奥司他韦": ["磷酸奥司他韦"],
    "氯苯那敏": ["马来酸氯苯那敏"], "苯海拉明": ["盐酸苯海拉明"], "异丙嗪": ["盐酸异丙嗪"], "赛庚啶": ["盐酸赛庚啶"],
    "西替利嗪": ["盐酸西替利嗪"], "氯丙嗪": ["盐酸氯丙嗪"], "阿米替林": ["盐酸阿米替林"], "多塞平": ["盐酸多塞平"],
    "苯海索": ["盐酸苯海索"], "金刚烷胺": ["盐酸金刚烷胺"], "普拉克索": ["盐酸普拉克索"], "溴隐亭": ["甲磺酸溴隐亭"],
    "莫沙必利": ["枸橼酸莫沙必利"], "洛哌丁胺": ["盐酸洛哌丁胺"], "山莨菪碱": ["消旋山莨菪碱"],
    "阿托品": ["硫酸阿托品"],
    "肾上腺素": ["盐酸肾上腺素"], "去甲肾上腺素": ["重酒石酸去甲肾上腺素"], "异丙肾上腺素": ["盐酸异丙肾上腺素"],
    "多巴胺": ["盐酸多巴胺"], "多巴酚丁胺": ["盐酸多巴酚丁胺"], "间羟胺": ["重酒石酸间羟胺"],
    "利多卡因": ["盐酸利多卡因"],
    "布比卡因": ["盐酸布比卡因"], "罗哌卡因": ["盐酸罗哌卡因"], "氯胺酮": ["盐酸氯胺酮"], "哌替啶": ["盐酸哌替啶"],
    "吗啡": ["盐酸吗啡", "硫酸吗啡"], "芬太尼": ["枸橼酸芬太尼"], "布桂嗪": ["盐酸布桂嗪"], "纳洛酮": ["盐酸纳洛酮"],
    "新斯的明": ["甲硫酸新斯的明"], "庆大霉素": ["硫酸庆大霉素"], "阿米卡星": ["硫酸阿米卡星"],
    "链霉素": ["硫酸链霉素"],
    "头孢曲松": ["头孢曲松钠"], "头孢唑林": ["头孢唑林钠"], "哌拉西林": ["哌拉西林钠"], "氨苄西林": ["氨苄西林钠"],
    "苯唑西林": ["苯唑西林钠"], "乙胺丁醇": ["盐酸乙胺丁醇"], "替诺福韦二吡呋酯": ["富马酸替诺福韦二吡呋酯"],
    "氯喹": ["磷酸氯喹"], "羟氯喹": ["硫酸羟氯喹"], "伯氨喹": ["磷酸伯氨喹"], "洛贝林": ["盐酸洛贝林"],
    "咖啡因": ["枸橼酸咖啡因"], "哌甲酯": ["盐酸哌甲酯"], "坦度螺酮": ["枸橼酸坦度螺酮"], "丁螺环酮": ["盐酸丁螺环酮"],
    "美西律": ["盐酸美西律"], "艾司洛尔": ["盐酸艾司洛尔"], "拉贝洛尔": ["盐酸拉贝洛尔"], "乌拉地尔": ["盐酸乌拉地尔"],
    "酚妥拉明": ["甲磺酸酚妥拉明"], "哌唑嗪": ["盐酸哌唑嗪"], "喷托维林": ["枸橼酸喷托维林"], "可待因": ["磷酸可待因"],
    "沙丁胺醇": ["硫酸沙丁胺醇"], "孟鲁司特": ["孟鲁司特钠"], "精氨酸": ["盐酸精氨酸"], "华法林": ["华法林钠"],
    "泼尼松": ["醋酸泼尼松"], "地塞米松": ["醋酸地塞米松", "地塞米松磷酸钠"], "甲羟孕酮": ["醋酸甲羟孕酮"],
    "他莫昔芬": ["枸橼酸他莫昔芬"], "埃克替尼": ["盐酸埃克替尼"], "特比萘芬": ["盐酸特比萘芬"],
    "咪康唑": ["硝酸咪康唑"],
    "毛果芸香碱": ["硝酸毛果芸香碱"], "噻吗洛尔": ["马来酸噻吗洛尔"], "麻黄碱": ["盐酸麻黄碱"],
    "羟甲唑啉": ["盐酸羟甲唑啉"], "地芬尼多": ["盐酸地芬尼多"], "麦角新碱": ["马来酸麦角新碱"],
    "依沙吖啶": ["乳酸依沙吖啶"],
    "美托洛尔": ["酒石酸美托洛尔"], "左氨氯地平": ["苯磺酸左旋氨氯地平", "马来酸左旋氨氯地平"],
    "格列齐特": ["格列齐特"],
    "胞磷胆碱钠": ["胞磷胆碱钠"], "倍他司汀": ["盐酸倍他司汀"], "吉西他滨": ["盐酸吉西他滨"],
    "阿仑膦酸钠": ["阿仑膦酸钠"],
    "苯妥英钠": ["苯妥英钠"], "奥美拉唑": ["奥美拉唑"], "维生素B1": ["维生素B1"], "维生素B6": ["维生素B6"],
}
# Salts that follow the product, not the drug (the formulary's remarks column).
REMARK_SALTS = {"钠盐": "{g}钠", "钾盐": "{g}钾", "盐酸盐": "盐酸{g}", "琥珀酸钠": "{g}琥珀酸钠", "磷酸酯": "{g}磷酸酯",
                "头孢呋辛酯": "头孢呋辛酯", "酒石酸盐": "酒石酸{g}", "琥珀酸盐": "琥珀酸{g}", "甲磺酸盐": "甲磺酸{g}",
                "醋酸酯": "醋酸{g}", "钙盐": "{g}钙"}

FORM_SPELLINGS = {
    "片剂": ["片", "片", "片", "片剂", "薄膜衣片"], "胶囊": ["胶囊", "胶囊", "胶囊剂", "胶"],
    "颗粒剂": ["颗粒", "颗粒剂", "冲剂"],
    "注射液": ["注射液", "注射液", "针", "注射剂"], "口服溶液剂": ["口服溶液", "口服液"], "缓释片": ["缓释片"],
    "肠溶片": ["肠溶片", "肠溶片"], "干混悬剂": ["干混悬剂"], "混悬液": ["混悬液", "口服混悬液"], "滴眼剂": ["滴眼液"],
    "乳膏剂": ["乳膏"], "软膏剂": ["软膏"], "栓剂": ["栓"], "眼膏剂": ["眼膏"], "吸入气雾剂": ["气雾剂", "吸入气雾剂"],
    "肠溶胶囊": ["肠溶胶囊"], "缓释胶囊": ["缓释胶囊"], "分散片": ["分散片"], "软胶囊": ["软胶囊"], "糖浆剂": ["糖浆"],
    "散剂": ["散"], "滴鼻剂": ["滴鼻液"], "凝胶剂": ["凝胶"], "咀嚼片": ["咀嚼片"], "泡腾片": ["泡腾片"],
    "蜜丸": ["丸", "大蜜丸", "蜜丸"], "水丸": ["丸", "水丸"], "浓缩丸": ["浓缩丸"], "口服液": ["口服液"],
    "合剂": ["合剂"],
    "注射剂": ["注射液"], "滴丸": ["滴丸"], "贴膏剂": ["贴膏"], "煎膏剂": ["膏"], "氯化钠注射液": ["氯化钠注射液"],
}
TCM_SUFFIXES = ["滴眼液", "注射液", "口服液", "颗粒", "胶囊", "滴丸", "合剂", "糖浆", "软膏", "贴膏", "丸", "片",
                "散", "膏", "水", "液", "栓", "饮", "丹"]
MAKERS = ["华北制药", "石药集团", "扬子江", "齐鲁制药", "哈药六厂", "国药集团", "上海信谊", "华润双鹤", "鲁南制药",
          "修正药业", "同仁堂", "太极集团", "广州白云山", "天津力生", "浙江京新", "科伦药业", "东北制药", "新华制药",
          "仁和药业", "九芝堂", "四川科伦", "昆药集团", "联邦制药", "山东鲁抗", "亚宝药业", "辰欣药业", "吉林敖东",
          "西南药业", "天津中新", "湖南千金"]
SKIP_DRUGS = {"艾滋病用药", "青蒿素类药物", "避孕药", "国家免疫规划用疫苗", "抗蛇毒血清", "腹膜透析液"}
FULL_WIDTH = {c: chr(ord(c) + 0xFEE0) for c in "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ*:()%/."}


def _number(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".")


def local_amount(amount: str, unit: str, rng: random.Random) -> str:
    """An amount as a label may write it: the same, or in the neighbouring unit."""
    value = float(amount)
    unit = unit.lower()
    choices = [f"{amount}{unit}"]
    if unit == "g" and value < 1:
        choices += [f"{_number(value * 1000)}mg", f"{_number(value * 1000)}mg"]
    if unit == "mg" and value >= 100 and value % 50 == 0:
        choices.append(f"{_number(value / 1000)}g")
    if unit == "mg" and value < 1:
        choices += [f"{_number(value * 1000)}μg", f"{_number(value * 1000)}ug"]
    if unit in ("μg", "ug"):
        choices += [f"{amount}ug", f"{amount}mcg", f"{amount}μg"]
    if unit == "g" and value < 10:
        choices.append(f"{amount}克")
    return rng.choice(choices)


def local_strength(strength: str, rng: random.Random) -> str | None:
    """The strength as a township writes it, or None when the formulary's text has no plain amount."""
    text = strength.replace("（", "(").replace("）", ")")
    if any(word in text for word in ("复方", "+", "见注释", "cm", "型")):
        return None
    text = re.sub(r"^每\d*[片粒丸袋支瓶贴张]?(?:装|重|含|净重)?", "", text)
    subtype = re.match(r"^(α\w+)\s+", text)
    if subtype:
        rest = local_strength(text[subtype.end():], rng)
        return f"{subtype.group(1)} {rest}" if rest else None
    units = re.findall(r"(\d+(?:\.\d+)?)\s*(万单位|万IU|mg|μg|g|ml|IU|单位|%)", text)
    if not units:
        return None
    ratio = re.match(r"^(\d+(?:\.\d+)?)(ml):(\d+(?:\.\d+)?)(mg|g|μg|万单位|单位|IU)", text)
    if ratio:
        volume = f"{ratio.group(1)}ml"
        amount = local_amount(ratio.group(3), ratio.group(4), rng) if ratio.group(4) in ("mg", "g", "μg") else \
            ratio.group(3) + ratio.group(4)
        return rng.choice([f"{volume}:{amount}", f"{amount}/{volume}", f"{amount}:{volume}", f"{amount}({volume})",
                           f"{volume}:{amount}"])
    wan = re.search(r"(\d+(?:\.\d+)?)万单位", text)
    first = units[0]
    if wan and rng.random() < 0.4:
        return rng.choice([f"{wan.group(1)}万单位", f"{wan.group(1)}万u", f"{wan.group(1)}万U"])
    return local_amount(first[0], first[1], rng)


def local_pack(base_unit: str, pack_size: int, pack_unit: str, rng: random.Random) -> str:
    choices = ["", f"*{pack_size}{base_unit}", f"{pack_size}{base_unit}/{pack_unit}", f"x{pack_size}",
               f"*{pack_size}{base_unit}/{pack_unit}", f"×{pack_size}{base_unit}"]
    if base_unit in ("片", "粒"):
        choices += [f"×{pack_size}s", f"*{pack_size}s"]
        if pack_size % 2 == 0 and pack_size >= 12:
            choices.append(f"{pack_size // 2}{base_unit}*2板")
    return rng.choice(choices)


def tcm_stem(name: str) -> str:
    name = re.sub(r"[（(].*?[)）]", "", name)
    for suffix in TCM_SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


def local_name(drug: dict, product: dict, siblings: list[dict], rng: random.Random) -> tuple[str, str] | None:
    generic, form = drug["generic_name"], product["dosage_form"]
    kinds = []
    forms = {p["dosage_form"] for p in siblings}
    same_form = [p for p in siblings if p["dosage_form"] == form]
    strength = local_strength(product["strength"], rng)
    if strength is None and len(same_form) > 1:
        return None
    bare = re.sub(r"[（(].*?[)）]", "", product["strength"])
    if any(re.sub(r"[（(].*?[)）]", "", p["strength"]) == bare for p in same_form if p is not product):
        return None  # 开塞露 20ml(含甘油) and 20ml(含山梨醇): a label cannot tell them apart
    if drug["category"] == "中成药":
        spelling = rng.choice(FORM_SPELLINGS.get(form, [form]))
        stem = tcm_stem(generic)
        name = generic if generic.endswith(spelling) and rng.random() < 0.7 else stem + spelling
        if form.startswith("注射用") or generic.startswith("注射用"):
            name = re.sub(r"[（(].*?[)）]", "", generic)
    else:
        base = generic
        remark_salt = next((tpl for key, tpl in REMARK_SALTS.items() if key in product["remarks"]), None)
        if remark_salt and rng.random() < 0.7:
            base, kinds = remark_salt.format(g=generic), ["salt"]
        elif generic in SALT_NAMES and rng.random() < 0.7:
            # The salt the product states (左氨氯地平 2.5mg(马来酸盐)) decides which spelling fits it.
            stated = [n for n in SALT_NAMES[generic] if any(
                word in product["strength"] + product["remarks"] for word in re.findall(r"^[^左]*?酸|钠|钾|钙", n))]
            base = rng.choice(stated or SALT_NAMES[generic])
            kinds = ["salt"] if base != generic else []
        base = base.replace("左氨氯地平", "左旋氨氯地平") if "左旋" in base else base
        if form == "注射用无菌粉末":
            name = "注射用" + base if rng.random() < 0.8 else base + "粉针"
        elif form == "氯化钠注射液":
            name = base + "氯化钠注射液"
        else:
            spelling = rng.choice(FORM_SPELLINGS.get(form, [form]))
            if base.endswith(("注射液", "注射用水")):
                spelling = ""
            if len(forms) == 1 and rng.random() < 0.15:
                spelling = ""
            name = base + spelling
    if strength is not None and (len(same_form) > 1 or rng.random() < 0.85):
        kinds.append("unit" if not re.search(re.escape(strength.split(":")[0]), product["strength"]) else "strength")
        name += rng.choice([" ", "", " "]) + strength
    pack = local_pack(product["base_unit"], int(product["pack_size"]), product["pack_unit"], rng)
    if pack:
        kinds.append("pack")
        name += pack
    if rng.random() < 0.45:
        maker = rng.choice(MAKERS)
        name += rng.choice([f" {maker}", f"({maker})", f" {maker}", f"【{maker}】", f" {maker}有限公司"])
        kinds.append("maker")
    if rng.random() < 0.12:
        name = "".join(FULL_WIDTH.get(c, c) for c in name)
        kinds.append("fullwidth")
    return name, "variant:" + ",".join(kinds or ["plain"])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalog", type=Path, default=ROOT / "catalog_data")
    parser.add_argument("--count", type=int, default=330)
    parser.add_argument("--seed", type=int, default=2018)
    parser.add_argument("--out", type=Path, default=ROOT / "tests" / "data" / "matching_dev_variants.csv")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    drugs, products = read_catalog(args.catalog)
    by_code = {d["code"]: d for d in drugs}
    siblings = defaultdict(list)
    for product in products:
        siblings[product["drug_code"]].append(product)
    pool = [p for p in products if by_code[p["drug_code"]]["generic_name"] not in SKIP_DRUGS]
    rng.shuffle(pool)
    rows, seen = [], set()
    for product in pool:
        if len(rows) >= args.count:
            break
        drug = by_code[product["drug_code"]]
        written = local_name(drug, product, siblings[product["drug_code"]], rng)
        if written is None or written[0] in seen:
            continue
        seen.add(written[0])
        rows.append({"name": written[0], "generic_name": drug["generic_name"], "dosage_form": product["dosage_form"],
                     "strength": product["strength"], "kind": written[1], "note": ""})
    with args.out.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=["name", "generic_name", "dosage_form", "strength", "kind", "note"])
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {len(rows)} rows to {args.out}")


if __name__ == "__main__":
    main()
