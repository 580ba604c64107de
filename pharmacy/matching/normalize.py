"""Normalise and split a drug name as people write it: pure functions, no Flask, no database.

A local name such as ``络活喜 苯磺酸氨氯地平片 5mg*7片 辉瑞`` is split into the part that names the drug, the
dosage form, the strength (with units converted to one scale: 0.25g = 250mg, 80万单位 = 800000 IU) and the pack.
rapidfuzz's ``default_process`` would break ``0.25g`` into ``0 25g``; everything here goes through NFKC and the unit
map below instead.
"""

import functools
import re
import unicodedata
from dataclasses import dataclass, field

# ---------------------------------------------------------------------------------------------------------------
# Text

_BRACKETS = str.maketrans({"【": "(", "】": ")", "〔": "(", "〕": ")", "[": "(", "]": ")", "{": "(", "}": ")",
                           "〈": "(", "〉": ")", "《": "(", "》": ")", "「": "(", "」": ")", "<": "(", ">": ")",
                           "『": "(", "』": ")", "〖": "(", "〗": ")"})
_SEPARATORS = re.compile(r"[,，、;；|\\_~`'\"“”‘’!！?？#＃@&=+]+")
_TIMES = re.compile(r"[×✕✖╳]")
# An "x" or "X" is a multiplication sign only between a number (or unit) and a number: 0.25gx24, 12x2.
_LATIN_TIMES = re.compile(r"(?<=[\d%a-z)\u4e00-\u9fff])\s*x\s*(?=\d)")
_DASHES = re.compile(r"[-‐‑‒–—―－~～]+")
_SPACES = re.compile(r"\s+")
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_CHAR = re.compile(f"[{_CJK}]")

# Chinese unit words after a number, rewritten to their symbols so one regular expression reads every strength.
_UNIT_WORDS = [
    (re.compile(r"(?<=\d)\s*万\s*国际单位"), "万iu"),
    (re.compile(r"(?<=\d)\s*国际单位"), "iu"),
    (re.compile(r"(?<=\d)\s*万\s*单位"), "万u"),
    (re.compile(r"(?<=\d)\s*单位"), "u"),
    (re.compile(r"(?<=\d)\s*毫克"), "mg"),
    (re.compile(r"(?<=\d)\s*微克"), "ug"),
    (re.compile(r"(?<=\d)\s*纳克"), "ng"),
    (re.compile(r"(?<=\d)\s*千克"), "kg"),
    (re.compile(r"(?<=\d)\s*克"), "g"),
    (re.compile(r"(?<=\d)\s*毫升"), "ml"),
    (re.compile(r"(?<=\d)\s*升"), "l"),
    (re.compile(r"(?<=\d)\s*mcg"), "ug"),
    (re.compile(r"(?<=\d)\s*μg"), "ug"),
]


@functools.lru_cache(maxsize=65536)
def normalize_text(text: str) -> str:
    """Return `text` in one canonical spelling: NFKC (full width → half width, Ⅱ → II), lower case, one kind of
    bracket, ``*`` for every multiplication sign, unit words as symbols, single spaces."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", str(text)).lower()
    text = text.replace("µ", "μ").translate(_BRACKETS)
    text = _TIMES.sub("*", text)
    text = _LATIN_TIMES.sub("*", text)
    text = _SEPARATORS.sub(" ", text)
    # A dash joins two numbers in names like 654-2; anywhere else it only separates words.
    text = re.sub(r"(?<!\d)[-‐‑‒–—―－~～]+|[-‐‑‒–—―－~～]+(?!\d)", " ", text)
    text = _DASHES.sub("-", text)
    for pattern, symbol in _UNIT_WORDS:
        text = pattern.sub(symbol, text)
    text = text.replace("μl", "ul").replace("μ", "u")
    text = re.sub(r"\(\s*\)", " ", text)
    return _SPACES.sub(" ", text).strip()


@functools.lru_cache(maxsize=65536)
def compact(text: str) -> str:
    """Normalised text without spaces or brackets: the form names are compared in."""
    return re.sub(r"[\s()]+", "", normalize_text(text))


def has_cjk(text: str) -> bool:
    return bool(_CJK_CHAR.search(text))


# ---------------------------------------------------------------------------------------------------------------
# Strength and units

MASS_MG = {"kg": 1e6, "g": 1e3, "mg": 1.0, "ug": 1e-3, "mcg": 1e-3, "ng": 1e-6}
VOLUME_ML = {"l": 1e3, "ml": 1.0, "ul": 1e-3}
UNITS_IU = {"万iu": 1e4, "万u": 1e4, "万": 1e4, "iu": 1.0, "u": 1.0, "ku": 1e3, "miu": 1e6}
PERCENT = {"%": 1.0}
_UNIT_DIMENSION = {**{u: "mass" for u in MASS_MG}, **{u: "volume" for u in VOLUME_ML},
                   **{u: "units" for u in UNITS_IU}, "%": "percent"}
_UNIT_FACTOR = {**MASS_MG, **VOLUME_ML, **UNITS_IU, **PERCENT}
_CANONICAL_UNIT = {"mass": "mg", "volume": "ml", "units": "iu", "percent": "%"}

_NUMBER = r"(?<![a-z\d.\-])(\d+(?:\.\d+)?|\.\d+)"
_UNIT_ALTERNATIVES = "|".join(sorted((re.escape(u) for u in _UNIT_FACTOR), key=len, reverse=True))
# A unit must not run on into a word (10mg, not the "g" of "gbq"); "万" may stand alone (80万).
_UNIT_ALTERNATIVES = "|".join(sorted((re.escape(u) for u in _UNIT_FACTOR if u != "%"), key=len, reverse=True))
_QUANTITY = re.compile(_NUMBER + r"\s*(%|(?:" + _UNIT_ALTERNATIVES + r")(?![a-z]))")


@dataclass(frozen=True, order=True)
class Quantity:
    """An amount on one scale per dimension: mass in mg, volume in ml, units in IU, concentration in %."""

    dimension: str
    value: float
    # Computed from other amounts (the mass a percentage of a volume means), not written.
    derived: bool = field(default=False, compare=False)

    def __str__(self) -> str:
        return f"{_format_number(self.value)}{_CANONICAL_UNIT[self.dimension]}"

    def same_as(self, other: "Quantity") -> bool:
        return self.dimension == other.dimension and abs(self.value - other.value) <= 1e-6 * max(
            abs(self.value), abs(other.value), 1e-9)


def _format_number(value: float) -> str:
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return text or "0"


def to_quantity(number: str, unit: str) -> Quantity:
    """Convert one written amount (``0.25``, ``g``) to its canonical quantity (250 mg)."""
    unit = unit.replace(" ", "")
    return Quantity(_UNIT_DIMENSION[unit], round(float(number) * _UNIT_FACTOR[unit], 9))


def parse_quantities(text: str) -> list[Quantity]:
    """Every amount written in `text`, converted (``10ml:0.5g`` → [10 ml, 500 mg]).

    A percentage written next to a volume also yields the mass it means (5% 250ml → 12500 mg), since a
    formulary writes ``250ml:12.5g`` for what a label calls ``5% 250ml``.
    """
    text = normalize_text(text)
    quantities = [to_quantity(number, unit) for number, unit in _QUANTITY.findall(text)]
    percents = [q for q in quantities if q.dimension == "percent"]
    volumes = [q for q in quantities if q.dimension == "volume"]
    if len(percents) == 1 and len(volumes) == 1:
        mass = Quantity("mass", round(percents[0].value * volumes[0].value * 10, 6), derived=True)  # g/100ml → mg
        if not any(q.same_as(mass) for q in quantities):
            quantities.append(mass)
    out: list[Quantity] = []
    for q in quantities:
        if not any(q.same_as(seen) for seen in out):
            out.append(q)
    return out


def format_quantities(quantities) -> str:
    """A stable text for a set of quantities: volume first, then the rest in a fixed order (10ml:500mg)."""
    order = {"volume": 0, "mass": 1, "units": 2, "percent": 3}
    return ":".join(str(q) for q in sorted(quantities, key=lambda q: (order[q.dimension], q.value)))


def strengths_compatible(wanted, offered) -> bool | None:
    """Whether a product of strength `offered` can be what a name of strength `wanted` means.

    None when the name gives no strength. Every mass and unit amount the name gives must be among the product's
    amounts; a volume or a concentration must match only when the product states one (a TCM ``每袋装10g`` has no
    volume), and the mass a concentration implies only when the product states both a volume and a mass.
    """
    wanted, offered = list(wanted), list(offered)
    if not wanted:
        return None
    if not offered:
        return False
    dimensions = {o.dimension for o in offered}
    if dimensions == {"percent"}:
        # An ointment of 2%: a mass or volume in the name (5g, 10g) is the tube, only the percentage decides.
        percents = [q for q in wanted if q.dimension == "percent"]
        if not percents:
            return None
        return all(any(q.same_as(o) for o in offered) for q in percents)
    matched = 0
    for q in wanted:
        if any(q.same_as(o) for o in offered):
            matched += 1
        elif q.derived and not {"mass", "volume"} <= dimensions:
            continue
        elif q.dimension in ("volume", "percent") and q.dimension not in dimensions:
            continue
        else:
            return False
    return matched > 0


# ---------------------------------------------------------------------------------------------------------------
# Dosage forms

# Written form → canonical form. Longer spellings win over shorter ones ("缓释片" before "片").
FORM_SYNONYMS: dict[str, str] = {}
_FORM_GROUPS = {
    "片": ["片剂", "片", "薄膜衣片", "糖衣片", "普通片", "薄膜片", "包衣片"],  # not 素片: 黄连素片, 红霉素片
    "缓释片": ["缓释片", "缓释片剂", "缓释薄膜衣片", "缓释包衣片"],
    "控释片": ["控释片", "控释片剂"],
    "肠溶片": ["肠溶片", "肠溶片剂", "肠溶薄膜衣片", "肠溶衣片", "肠衣片"],
    "分散片": ["分散片"],
    "咀嚼片": ["咀嚼片"],
    "泡腾片": ["泡腾片"],
    "含片": ["含片", "口含片"],
    "舌下片": ["舌下片"],
    "口崩片": ["口腔崩解片", "口崩片"],
    "阴道片": ["阴道片", "阴道泡腾片"],
    "阴道软胶囊": ["阴道软胶囊"],
    "灌肠剂": ["灌肠剂", "灌肠液"],
    "胶浆剂": ["胶浆剂", "胶浆"],
    "滴剂": ["滴剂", "口服滴剂"],
    "缓释颗粒": ["缓释颗粒剂", "缓释颗粒"],
    "透析液": ["腹膜透析液", "透析液"],
    "胶囊": ["胶囊剂", "胶囊", "硬胶囊", "胶丸", "胶"],
    "软胶囊": ["软胶囊", "软胶囊剂"],
    "缓释胶囊": ["缓释胶囊", "缓释胶囊剂"],
    "肠溶胶囊": ["肠溶胶囊", "肠溶胶囊剂"],
    "颗粒": ["颗粒剂", "颗粒", "冲剂", "干糖浆", "冲服剂"],
    "干混悬剂": ["干混悬剂", "干混悬颗粒"],
    "混悬液": ["混悬液", "口服混悬液", "混悬剂", "混悬滴剂"],
    "口服液": ["口服溶液剂", "口服溶液", "口服液", "溶液剂", "溶液", "饮"],
    "合剂": ["合剂"],
    "糖浆": ["糖浆剂", "糖浆"],
    "酊剂": ["酊剂", "酊"],
    "注射液": ["注射液", "注射剂", "针剂", "针", "水针", "注射用溶液", "大输液", "输液", "乳状注射液", "氯化钠注射液"],
    "注射用粉": ["注射用无菌粉末", "注射用冻干粉", "注射用冻干粉针", "冻干粉针剂", "冻干粉针", "冻干粉", "粉针剂",
               "粉针", "冻干", "无菌粉末"],
    "滴眼液": ["滴眼剂", "滴眼液", "眼药水"],
    "眼膏": ["眼膏剂", "眼膏"],
    "眼用凝胶": ["眼用凝胶"],
    "滴耳液": ["滴耳剂", "滴耳液"],
    "滴鼻液": ["滴鼻剂", "滴鼻液"],
    "软膏": ["软膏剂", "软膏"],
    "乳膏": ["乳膏剂", "乳膏", "霜剂", "霜"],
    "凝胶": ["凝胶剂", "凝胶"],
    "膏": ["煎膏剂", "煎膏", "膏滋", "膏"],
    "贴膏": ["贴膏剂", "贴膏", "橡胶膏剂", "橡胶膏", "膏药", "黑膏药"],
    "贴剂": ["贴剂", "贴片", "透皮贴剂", "贴"],
    "栓": ["栓剂", "栓", "肛栓", "阴道栓"],
    "气雾剂": ["气雾剂", "吸入气雾剂"],
    "喷雾剂": ["喷雾剂", "鼻喷雾剂", "喷剂"],
    "粉雾剂": ["吸入粉雾剂", "粉雾剂", "吸入粉"],
    "吸入剂": ["吸入溶液剂", "吸入溶液", "吸入用溶液", "雾化吸入剂", "吸入剂", "雾化液"],
    "雾化混悬液": ["雾化吸入用混悬液", "吸入用混悬液", "雾化混悬液"],
    "散": ["散剂", "散", "粉剂"],  # not 粉: 羟乙基淀粉
    "丸": ["丸剂", "丸"],
    "蜜丸": ["蜜丸", "大蜜丸", "小蜜丸"],
    "水丸": ["水丸", "包衣水丸"],
    "浓缩丸": ["浓缩丸"],
    "水蜜丸": ["水蜜丸", "浓缩水蜜丸"],
    "糊丸": ["糊丸"],
    "微丸": ["微丸"],
    "滴丸": ["滴丸", "滴丸剂"],
    "丹": ["丹"],
    "搽剂": ["搽剂", "涂剂", "涂膜剂", "外用溶液剂", "外用溶液", "洗剂", "擦剂"],
    "水": ["水", "露"],
    "茶": ["茶剂", "袋泡茶"],
    "膜剂": ["膜剂", "口腔贴片"],
}
for _canonical, _spellings in _FORM_GROUPS.items():
    for _spelling in _spellings:
        FORM_SYNONYMS.setdefault(_spelling, _canonical)

# Kinds of form that are easily confused in a local name and stand in for each other with a small penalty.
_FORM_FAMILIES = [
    {"片", "分散片", "咀嚼片", "泡腾片", "含片", "口崩片"},
    {"胶囊", "软胶囊"},
    {"注射液", "注射用粉"},
    {"口服液", "合剂", "糖浆", "水"},
    {"水", "酊剂"},
    {"混悬液", "干混悬剂"},
    {"软膏", "乳膏", "凝胶", "膏"},
    {"贴膏", "贴剂"},
    {"颗粒", "茶"},
    {"搽剂", "酊剂"},
    {"吸入剂", "雾化混悬液"},
    {"气雾剂", "粉雾剂", "喷雾剂"},
]
# A plain 丸 may be any kind of pill; two named kinds of pill are different products.
_PILLS = {"蜜丸", "水丸", "浓缩丸", "水蜜丸", "糊丸", "微丸"}
FORM_PENALTY_FAMILY = 8
FORM_PENALTY_OTHER_PILL = 15
FORM_PENALTY_OTHER = 30

# Spellings that are only a form when they end a word: "片" would otherwise cut 片仔癀, "水" 水合氯醛.
_SUFFIX_ONLY_FORMS = {"片", "丸", "散", "水", "膏", "栓", "贴", "胶", "针", "丹", "霜", "露", "饮", "酊", "溶液",
                      "冻干", "冲剂", "液"}
_FORM_SPELLINGS = sorted(FORM_SYNONYMS, key=len, reverse=True)
# Spellings a formulary uses as a form but a local name reads as drug + form: 左氧氟沙星氯化钠注射液, 0.9%氯化钠注射液.
_PARSE_SPELLINGS = [s for s in _FORM_SPELLINGS if s not in ("氯化钠注射液",)]
_PARSE_SPELLING_SET = frozenset(_PARSE_SPELLINGS)
_LONGEST_SPELLING = max(len(s) for s in _PARSE_SPELLINGS)


@functools.lru_cache(maxsize=4096)
def canonical_form(form: str) -> str:
    """The canonical dosage form for a written form (片剂 → 片, 冲剂 → 颗粒); "" when unknown."""
    form = compact(form)
    if form in FORM_SYNONYMS:
        return FORM_SYNONYMS[form]
    for spelling in _FORM_SPELLINGS:
        if form.endswith(spelling) and len(spelling) >= 2:
            return FORM_SYNONYMS[spelling]
    return FORM_SYNONYMS.get(form[-1:], "") if form else ""


def form_penalty(wanted: str, offered: str) -> int:
    """How far a product's canonical form is from the one a name asks for (0 = same; the larger, the further)."""
    if not wanted or not offered or wanted == offered:
        return 0
    if wanted == "丸" and offered in _PILLS:
        return 0
    if wanted in _PILLS and offered in _PILLS | {"丸"}:
        return FORM_PENALTY_OTHER_PILL if offered != "丸" else 0
    if any(wanted in family and offered in family for family in _FORM_FAMILIES):
        return FORM_PENALTY_FAMILY
    return FORM_PENALTY_OTHER


@functools.lru_cache(maxsize=16384)
def strip_form_suffix(name: str) -> str:
    """A TCM name without the form it ends with (银翘解毒丸 → 银翘解毒), when at least two characters remain."""
    name = compact(name)
    for spelling in _FORM_SPELLINGS:
        if name.endswith(spelling) and len(name) - len(spelling) >= 2:
            return name[: -len(spelling)]
    return name


# ---------------------------------------------------------------------------------------------------------------
# Salts, manufacturers, noise

# Acid and salt words in front of a base name (苯磺酸氨氯地平 → 氨氯地平); longest first.
SALT_PREFIXES = sorted([
    "盐酸", "硫酸", "硫酸氢", "苯磺酸", "甲磺酸", "乙磺酸", "马来酸", "富马酸", "酒石酸", "重酒石酸", "琥珀酸",
    "枸橼酸", "醋酸", "乙酸", "磷酸", "磷酸钠", "氢溴酸", "门冬氨酸", "乳酸", "葡萄糖酸", "苯甲酸", "硝酸", "碳酸",
    "萘磺酸", "草酸", "丙酸", "戊酸", "依地酸", "棕榈酸", "双羟萘酸", "羟苯磺酸", "精氨酸", "赖氨酸", "谷氨酸",
    "水杨酸", "硬脂酸", "甲硫酸", "氢氯", "地磷酸", "磷酸氢", "盐酸左", "帕莫酸", "樟脑磺酸", "对甲苯磺酸", "苯丙酸",
], key=len, reverse=True)
# Salt and ester words after a base name (青霉素钠 → 青霉素, 阿托伐他汀钙 → 阿托伐他汀).
_SUFFIX_ACIDS = ("磷酸", "琥珀酸", "醋酸", "丁酸", "丙酸", "戊酸", "棕榈酸", "乳糖酸", "盐酸", "硫酸", "甲磺酸",
                 "马来酸", "富马酸", "酒石酸", "枸橼酸", "乳酸", "琥珀酸乙")
SALT_SUFFIXES = sorted({
    "钠", "钾", "钙", "镁", "二钠", "钠盐", "钾盐", "盐", "一水合物", "水合物", "二水合物", "三水合物", "叔丁胺", "酯",
    "氨丁三醇", "葡甲胺", "赖氨酸",
    # 克林霉素磷酸酯, 地塞米松磷酸钠, 甲泼尼龙琥珀酸钠, 红霉素琥珀酸乙酯
    *(acid + tail for acid in _SUFFIX_ACIDS for tail in ("钠", "钾", "钙", "酯", "盐", "二钠")),
}, key=len, reverse=True)

# Makers people put in a local name; a name is also stripped of words ending like a company (…制药, …药业).
MANUFACTURERS = sorted({
    "联邦", "珠海联邦", "华北制药", "华药", "石药", "石药欧意", "欧意", "扬子江", "齐鲁", "恒瑞", "辉瑞", "拜耳",
    "诺华", "赛诺菲", "阿斯利康", "默沙东", "默克", "葛兰素", "葛兰素史克", "罗氏", "礼来", "施贵宝", "中美施贵宝",
    "西安杨森", "杨森", "中美史克", "史克", "哈药", "修正", "仁和", "太极", "同仁堂", "北京同仁堂", "九芝堂",
    "白云山", "天士力", "以岭", "步长", "华润三九", "三九", "鲁南", "科伦", "双鹤", "华润双鹤", "京新", "信立泰",
    "海正", "国药", "上药", "新华制药", "鲁抗", "东北制药", "四药", "石家庄四药", "华东医药", "康恩贝", "亚宝",
    "葵花", "江中", "敬修堂", "达仁堂", "乐仁堂", "中新药业", "汇仁", "康缘", "济川", "神威", "珍宝岛", "正大天晴",
    "豪森", "先声", "悦康", "远大", "华海", "浙江医药", "天津药业", "天药", "上海信谊", "信谊", "昆药", "桂龙",
    "广药", "诺和诺德", "施维雅", "勃林格", "勃林格殷格翰", "武田", "第一三共", "卫材", "大冢", "安斯泰来", "雅培",
    "强生", "益普生", "博福益普生", "优时比", "百特", "费森尤斯", "利君", "西南药业", "太太", "哈三联", "石四药",
    "华邦", "力生", "天方", "新亚", "东阳光", "海南海药", "白敬宇", "仲景", "宛西", "天津天士力", "石家庄以岭",
    "陕西步长", "吉林敖东", "敖东",
}, key=len, reverse=True)
_MAKERS = re.compile("|".join(re.escape(m) for m in MANUFACTURERS))
# Words a company's name ends with; not 生物 alone (衍生物) nor 化学.
_COMPANY = re.compile(f"[{_CJK}a-z]{{2,4}}?(?:制药厂|制药|药业|药厂|医药|生物制药|生物科技|生物工程|大药房|实业)"
                      f"(?:集团)?(?:股份)?(?:有限)?(?:责任)?(?:公司)?(?:分公司)?|[{_CJK}]{{2,6}}?(?:集团|有限公司|公司)")
# Words that say something about a product, never which product it is.
NOISE_WORDS = sorted({
    "基药", "国基", "省基", "基本药物", "集采", "国采", "带量", "中选", "医保", "甲类", "乙类", "非医保", "自费",
    "处方药", "非处方", "otc", "rx", "精二", "精一", "麻醉", "毒性", "限", "限制", "小包装", "大包装", "新包装",
    "老包装", "新", "进口分装", "分装", "国药准字", "口服", "外用", "内服", "常用", "规格", "厂家", "儿童型",
    "成人型", "成人", "原料", "药品", "药", "剂", "进口", "国产", "原研", "合资",
}, key=len, reverse=True)
_ROMAN = re.compile(r"\((i{1,3}|iv|vi{0,3}|ix|x)\)|(?<=[" + _CJK + r"])(i{1,3}|iv|vi{0,3})(?![a-z])")
_ROMAN_VALUE = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6, "vii": 7, "viii": 8, "ix": 9, "x": 10}

# ---------------------------------------------------------------------------------------------------------------
# Packs

_COUNT_UNITS = "片|粒|丸|袋|支|瓶|贴|枚|板|盒|包|揿|喷|条|块|只|听|罐|桶|张|管|粒装|片装|s|pcs|pc|t|c|cap|caps|tab|tabs"
_PACK_UNITS = "盒|瓶|袋|板|包|支|合|箱|件|听|罐|桶|管|盒装|瓶装|袋装"
# "每袋装10g", "每片重0.3g", "每10丸重1.25g", "每1ml含": the amount after it is the strength, not a pack.
_PER_UNIT = re.compile(r"每\s*\d*\s*(?:片|粒|丸|袋|支|瓶|贴|丸|包|张|ml|g|揿|喷|盒|管)?\s*(?:装量|装|重|含|净重)?")
_PACK_PATTERNS = [
    # *24粒, ×24s, *12片*2板, *10
    re.compile(r"(?:\*\s*\d+(?:\.\d+)?\s*(?:" + _COUNT_UNITS + r")?(?![a-z\d]))+(?:\s*/\s*(?:" + _PACK_UNITS + r"))?"),
    # 24粒/盒, 10袋/盒, 100片/瓶装, 24s
    re.compile(r"(?:(?<![a-z\d.\-])|(?<=mg)|(?<=ml)|(?<=g)|(?<=u)|(?<=%))\d+\s*(?:" + _COUNT_UNITS
               + r")(?![a-z\d])(?:\s*/\s*(?:" + _PACK_UNITS + r"))?"),
    # trailing /盒, 盒装
    re.compile(r"/\s*(?:" + _PACK_UNITS + r")(?![a-z])"),
    re.compile(r"(?<![a-z\d])(?:盒装|瓶装|袋装|板装)"),
]


_FOR_INJECTION = re.compile(r"注射用(?!水)")
# A number left without a unit (阿莫西林胶囊 0.25): compared with the numbers a product's strength is written with.
_BARE_NUMBER = re.compile(r"(?<![a-z\d.\-])(\d+\.\d+|\d+)(?![\d.a-z%\-号])")


_PACK_COUNT_UNIT = re.compile(r"\d\s*(片|粒|丸|袋|支|瓶|贴|枚)")
# Count units that say what a product is counted in (片 tablets, 粒 capsules, 支 ampoules ...).
_PACK_BASE_UNITS = {"片", "粒", "丸", "袋", "支", "瓶", "贴", "枚"}


@dataclass
class ParsedName:
    """A local name split into the parts that decide a product."""

    text: str
    drug_text: str = ""
    segments: tuple[str, ...] = ()
    form: str = ""
    form_text: str = ""
    quantities: tuple[Quantity, ...] = ()
    pack: str = ""
    manufacturer: str = ""
    variant: int | None = None
    bare_numbers: tuple[float, ...] = ()
    pack_unit: str = ""
    noise: tuple[str, ...] = field(default_factory=tuple)

    @property
    def strength(self) -> str:
        return format_quantities(self.quantities)

    @property
    def key(self) -> str:
        """What identifies the product a name means, whatever its pack or maker: drug words|form|strength."""
        return f"{''.join(self.segments)}|{self.form}|{self.strength}"


def _cut(text: str, start: int, end: int) -> str:
    # Cut out a span, leaving a separator so the words on either side stay apart.
    return text[:start] + " " + text[end:]


def _extract_packs(text: str) -> tuple[str, list[str]]:
    packs: list[str] = []
    for pattern in _PACK_PATTERNS:
        while True:
            match = pattern.search(text)
            if not match:
                break
            packs.append(match.group(0).strip())
            text = _cut(text, match.start(), match.end())
    return text, packs


def _extract_quantities(text: str) -> tuple[str, list[Quantity]]:
    quantities = parse_quantities(text)
    text = _QUANTITY.sub(" ", text)
    # Ratio marks and the "per" slash left behind between two amounts.
    text = re.sub(r"(?<=[\s(])[:/](?=[\s)])|^[:/]|[:/]$", " ", text)
    text = re.sub(r"\s[:/]\s", " ", text)
    return text, quantities


def _extract_manufacturers(text: str, known: tuple[str, ...] = ()) -> tuple[str, list[str]]:
    found = []
    patterns = [re.compile("|".join(re.escape(k) for k in known if len(k) >= 2))] if any(len(k) >= 2 for k in known) \
        else []
    for pattern in (*patterns, _MAKERS):
        for match in list(pattern.finditer(text)):
            # Only a whole segment or a segment's end/start: a maker's name never sits inside a drug word.
            before = text[match.start() - 1] if match.start() else " "
            after = text[match.end()] if match.end() < len(text) else " "
            if before in " ()/" or after in " ()/":
                found.append(match.group(0))
                text = text[:match.start()] + " " * (match.end() - match.start()) + text[match.end():]
    for match in list(_COMPANY.finditer(text)):
        found.append(match.group(0))
    text = _COMPANY.sub(" ", text)
    return text, found


def _find_form(segment: str) -> tuple[str, int, int] | None:
    """The right-most dosage form written in a segment, as (spelling, start, end); longer spellings first."""
    n = len(segment)
    for end in range(n, 0, -1):
        for length in range(min(_LONGEST_SPELLING, end), 0, -1):
            start = end - length
            spelling = segment[start:end]
            if spelling not in _PARSE_SPELLING_SET:
                continue
            if spelling in _SUFFIX_ONLY_FORMS:
                # 片 in 片仔癀 or 水 in 水合氯醛 is part of the name: a one-character form only ends a word.
                if end < n and segment[end] not in " ()":
                    continue
                if start == 0 and length == 1 and segment != spelling:
                    continue
            return spelling, start, end
    return None


def parse_name(name: str, *, spec: str = "", manufacturer: str = "") -> ParsedName:
    """Split a local name (with an optional separate spec and maker) into drug words, form, strength and pack."""
    text = normalize_text(" ".join(p for p in (name, spec) if p))
    parsed = ParsedName(text=text)
    work = _PER_UNIT.sub(" ", text)

    roman = _ROMAN.search(work)
    if roman:
        parsed.variant = _ROMAN_VALUE.get(roman.group(1) or roman.group(2))
        work = _cut(work, roman.start(), roman.end())

    work, packs = _extract_packs(work)
    parsed.pack = " ".join(packs)
    units = [u for pack in packs for u in _PACK_COUNT_UNIT.findall(pack) if u in _PACK_BASE_UNITS]
    parsed.pack_unit = units[0] if units else ""
    work, quantities = _extract_quantities(work)
    parsed.quantities = tuple(quantities)

    known = (normalize_text(manufacturer),) if manufacturer else ()
    work, makers = _extract_manufacturers(work, known)
    parsed.manufacturer = normalize_text(manufacturer) or " ".join(makers)

    # "注射用X" is X as a powder for injection.
    forms: list[str] = []
    if _FOR_INJECTION.search(work):
        forms.append("注射用粉")
        parsed.form_text = "注射用"
        work = _FOR_INJECTION.sub(" ", work)
    inhaled = "吸入用" in work
    work = work.replace("吸入用", " ")
    parsed.bare_numbers = tuple(float(n) for n in _BARE_NUMBER.findall(work))
    work = _BARE_NUMBER.sub(" ", work)

    segments: list[str] = []
    noise: list[str] = []
    for raw in re.split(r"[\s()/:*]+", work):
        segment = raw.strip(".-")
        while segment:
            found = _find_form(segment)
            if found is None:
                break
            spelling, start, end = found
            # A form must end what names the drug: text after it is a maker, a brand or noise, not more name.
            forms.append(FORM_SYNONYMS[spelling])
            parsed.form_text = parsed.form_text or spelling
            if end < len(segment):
                segments.append(segment[end:])
            segment = segment[:start]
        if segment:
            segments.append(segment)
    cleaned = []
    for segment in segments:
        stripped = segment
        for word in NOISE_WORDS:
            if stripped == word:
                noise.append(word)
                stripped = ""
                break
        if stripped and not re.fullmatch(r"[\d.]+", stripped):
            cleaned.append(drug_words(stripped))
    # Keep the written order: segments were collected right-to-left inside each raw segment.
    parsed.segments = tuple(_order_like(cleaned, text))
    parsed.noise = tuple(noise)
    parsed.drug_text = " ".join(parsed.segments)
    # The most specific form wins: 缓释片 over 片 when both were written; an injection powder over a bare 注射.
    if forms:
        parsed.form = _most_specific(forms)
    if inhaled:
        # 吸入用布地奈德混悬液 is the nebuliser suspension, 吸入用乙酰半胱氨酸溶液 the solution for inhalation.
        parsed.form = {"混悬液": "雾化混悬液", "口服液": "吸入剂", "": "吸入剂"}.get(parsed.form, parsed.form)
    return parsed


def _order_like(segments: list[str], text: str) -> list[str]:
    positions = []
    for segment in segments:
        positions.append((text.find(segment), segment))
    return [s for _, s in sorted(positions, key=lambda p: p[0])]


_GENERIC_FORMS = {"注射液", "片", "胶囊", "丸", "膏", "水", "散"}


def _most_specific(forms: list[str]) -> str:
    specific = [f for f in forms if f not in _GENERIC_FORMS]
    if "注射用粉" in forms:
        return "注射用粉"
    return specific[0] if specific else forms[0]


# ---------------------------------------------------------------------------------------------------------------
# Drug words


def salt_variants(word: str) -> list[str]:
    """`word` without a leading acid or a trailing salt word, shortest first; only when two characters remain."""
    out = []
    for prefix in SALT_PREFIXES:
        if word.startswith(prefix) and len(word) - len(prefix) >= 2:
            out.append(word[len(prefix):])
            break
    base = out[-1] if out else word
    for suffix in SALT_SUFFIXES:
        if base.endswith(suffix) and len(base) - len(suffix) >= 2:
            out.append(base[: -len(suffix)])
            break
    return out


def name_key(text: str) -> str:
    """The compact key of a drug word: normalised, without spaces and brackets."""
    return compact(text)


# 䓬 is not in GBK: dictionaries kept in GBK write 地尔硫卓 for 地尔硫䓬.
_DRUG_WORD_SPELLINGS = [("左旋", "左"), ("右旋", "右"), ("䓬", "卓")]


def drug_words(text: str) -> str:
    """Drug words in one spelling on both sides of a comparison (左旋氨氯地平 = 左氨氯地平)."""
    text = compact(text)
    for written, canonical in _DRUG_WORD_SPELLINGS:
        text = text.replace(written, canonical)
    return text


def written_numbers(text: str) -> set[float]:
    """The numbers a strength is written with (0.25g(25万单位) → {0.25, 25}), for names that omit the unit."""
    return {float(n) for n in re.findall(r"\d+\.\d+|\d+", normalize_text(text))}


_VARIANT = re.compile(r"(?<![a-z])(i{1,3}|iv)(?:型|\)|$)")


def variant_number(text: str) -> int | None:
    """The Roman-numbered variant a name or strength states (口服补液盐散(Ⅱ), Ⅱ型), if any."""
    match = _VARIANT.search(normalize_text(text))
    return _ROMAN_VALUE[match.group(1)] if match else None
