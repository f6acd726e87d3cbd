"""Registry demo data: 44 units across Hengyang's twelve county-level divisions.

A civil-explosives plant in 衡南县, explosives sellers, blasting contractors (one a coal mine's own
blasting team), a storage-and-transport company, fireworks makers, wholesalers and retailers,
explosive-precursor users (mining, smelting, water works, reagent dealers, a test lab) and
highly-toxic-chemicals users — each with the permits its kinds require, its sites and magazines,
its people and their certificates.

Everything comes from one seeded random.Random(2026), so every database gets the same rows. The
only input besides the seed is the day of the first load: permit and certificate dates are set
relative to it, so that most are valid, some expire within 60 days, a few have expired. Later
runs reuse that day (the creation date of the earliest demo unit), so numbers that contain a
year stay the same and a second run creates nothing and changes nothing.

A handful of units are deliberately out of order, so that every compliance rule fires somewhere:
a required permit missing or expired, a principal uncertified long after appointment, a safety
manager whose qualification has lapsed, a blaster and a custodian without a valid certificate,
units without a safety officer, permits and certificates about to expire.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import cache

from django.db import transaction
from django.db.models import Min, Model
from django.utils import timezone
from stdnum.cn import ric

from weibao.registry.models import Certificate, Enterprise, Permit, Person, Site
from weibao.registry.validators import make_identity_number, make_uscc

SEED = 2026

# Compliance faults a unit may be given on purpose (see UnitSpec.faults).
PRINCIPAL_UNCERTIFIED = "principal_uncertified"  # appointed years ago, never certified
PRINCIPAL_NEW = "principal_new"  # appointed 2 months ago, not yet certified: no finding
MANAGER_CERT_EXPIRED = "manager_cert_expired"
BLASTER_EXPIRED = "blaster_expired"
CUSTODIAN_UNCERTIFIED = "custodian_uncertified"
CUSTODIAN_EXPIRED = "custodian_expired"
NO_SAFETY_OFFICER = "no_safety_officer"
CERT_EXPIRING = "cert_expiring"

VALID, EXPIRING, EXPIRED, MISSING = "valid", "expiring", "expired", "missing"
# Which certificate a fault touches: (post, n-th holder of that post) → its state.
FAULTY_CERTS: dict[str, dict[tuple[str, int], str]] = {
    MANAGER_CERT_EXPIRED: {("safety_manager", 1): EXPIRED},
    BLASTER_EXPIRED: {("blaster", 1): EXPIRED},
    CUSTODIAN_UNCERTIFIED: {("custodian", 1): MISSING},
    CUSTODIAN_EXPIRED: {("custodian", 1): EXPIRED},
    CERT_EXPIRING: {("custodian", 1): EXPIRING, ("blaster", 2): EXPIRING},
}


@dataclass(frozen=True)
class County:
    code: str
    name: str
    short: str  # as in licence numbers: （衡东）YH经零…
    lat: float
    lon: float
    towns: tuple[str, ...]
    # Codes an identity number may carry for someone born before `code` existed (GB/T 2260
    # history as python-stdnum knows it), most specific first.
    older_codes: tuple[str, ...]


COUNTIES = {
    c.code: c
    for c in (
        County(
            "430405", "珠晖区", "珠晖", 26.894, 112.626,
            ("茶山坳镇", "东阳渡街道", "和平乡", "广东路街道"), ("430402", "432721"),
        ),
        County(
            "430406", "雁峰区", "雁峰", 26.868, 112.612,
            ("白沙洲街道", "岳屏镇", "先锋街道"), ("430403", "432722"),
        ),
        County(
            "430407", "石鼓区", "石鼓", 26.944, 112.598,
            ("松木经开区", "角山镇", "人民路街道", "合江街道"), ("430404", "432721"),
        ),
        County(
            "430408", "蒸湘区", "蒸湘", 26.911, 112.567,
            ("呆鹰岭镇", "雨母山镇", "红湘街道", "联合街道"), ("430411", "432721"),
        ),
        County(
            "430412", "南岳区", "南岳", 27.254, 112.738,
            ("南岳镇", "寿岳乡"), ("430423", "432723"),
        ),
        County(
            "430421", "衡阳县", "衡阳", 26.967, 112.373,
            ("西渡镇", "界牌镇", "演陂镇", "台源镇", "渣江镇", "金兰镇"), ("432721",),
        ),
        County(
            "430422", "衡南县", "衡南", 26.739, 112.677,
            ("云集街道", "三塘镇", "车江街道", "茶市镇", "廖田镇", "泉溪镇"), ("432722",),
        ),
        County(
            "430423", "衡山县", "衡山", 27.230, 112.868,
            ("开云镇", "店门镇", "白果镇", "萱洲镇", "长江镇"), ("432723",),
        ),
        County(
            "430424", "衡东县", "衡东", 27.081, 112.953,
            ("洣水镇", "大浦镇", "新塘镇", "霞流镇", "甘溪镇", "杨林镇"), ("432724",),
        ),
        County(
            "430426", "祁东县", "祁东", 26.787, 112.090,
            ("洪桥街道", "归阳镇", "白地市镇", "风石堰镇", "黄土铺镇", "过水坪镇"), ("432726",),
        ),
        County(
            "430481", "耒阳市", "耒阳", 26.422, 112.860,
            ("蔡子池街道", "灶市街街道", "导子镇", "大市镇", "小水镇", "公平圩镇"),
            ("430427", "432830"),
        ),
        County(
            "430482", "常宁市", "常宁", 26.421, 112.400,
            ("宜阳街道", "泉峰街道", "水口山镇", "柏坊镇", "松柏镇", "大堡乡"),
            ("430425", "432725"),
        ),
    )
}  # fmt: skip
# Every year 1950–2007 is covered by one of these two (衡阳县 before and after 1983).
FALLBACK_CODES = ("430421", "432721")


@dataclass(frozen=True)
class UnitSpec:
    """What is written by hand about a demo unit; the rest is drawn from the seeded generator."""

    key: str  # stable handle for personas and tests
    county: str
    name: str
    kinds: tuple[str, ...]
    address: str
    individual: bool = False  # 个体工商户: USCC starts with 92, not 91
    status: str = Enterprise.Status.ACTIVE
    permits: dict[str, str] = field(default_factory=dict)  # permit kind → state (or "missing")
    faults: tuple[str, ...] = ()
    principal: tuple[str, bool] | None = None  # (name, male) when a persona needs a fixed name
    safety_officer: tuple[str, bool] | None = None
    employee: tuple[str, bool] | None = None
    blast_site: str = ""
    magazine: str = ""
    precursors: str = ""  # what the precursor filing covers
    level: str = ""  # blasting-unit grade, e.g. 营业性三级


PRODUCTION = Enterprise.Kind.EXPLOSIVES_PRODUCTION.value
SALE = Enterprise.Kind.EXPLOSIVES_SALE.value
BLASTING = Enterprise.Kind.BLASTING.value
STORAGE = Enterprise.Kind.EXPLOSIVES_STORAGE.value
TRANSPORT = Enterprise.Kind.EXPLOSIVES_TRANSPORT.value
FW_PRODUCTION = Enterprise.Kind.FIREWORKS_PRODUCTION.value
FW_WHOLESALE = Enterprise.Kind.FIREWORKS_WHOLESALE.value
FW_RETAIL = Enterprise.Kind.FIREWORKS_RETAIL.value
PRECURSOR = Enterprise.Kind.PRECURSOR_CHEMICALS.value
TOXIC = Enterprise.Kind.TOXIC_CHEMICALS.value

NANLING = "nanling"
HENGDONG_FIREWORKS = "hengdong_fireworks"

UNITS: tuple[UnitSpec, ...] = (
    # 衡南县
    UnitSpec(
        NANLING, "430422", "衡阳南岭民用爆破器材有限公司", (PRODUCTION, STORAGE),
        "衡南县三塘镇南岭工业园1号", faults=(CERT_EXPIRING,),
        principal=("陈建国", True), safety_officer=("刘志强", True), employee=("谭小军", True),
    ),
    UnitSpec(
        "hn_blasting", "430422", "衡南县宏安爆破工程有限公司", (BLASTING,),
        "衡南县云集街道雁栖路88号", blast_site="衡南县茶市镇石灰石矿爆破作业点",
        level="营业性三级",
    ),
    UnitSpec(
        "hn_mining", "430422", "衡南县金源矿业有限公司", (PRECURSOR,),
        "衡南县廖田镇矿山路16号", faults=(CUSTODIAN_UNCERTIFIED,),
        precursors="硝酸铵（使用，选矿及井下作业）",
    ),
    UnitSpec(
        "hn_retail", "430422", "衡南县云集街道福源烟花爆竹经营部", (FW_RETAIL,),
        "衡南县云集街道建设路102号", individual=True,
    ),
    UnitSpec(
        "hn_retail2", "430422", "衡南县车江街道鸿福烟花爆竹经营部", (FW_RETAIL,),
        "衡南县车江街道新街23号", individual=True, permits={"fireworks_retail": EXPIRING},
    ),
    # 衡东县
    UnitSpec(
        HENGDONG_FIREWORKS, "430424", "衡东县鸿运烟花爆竹批发有限公司", (FW_WHOLESALE,),
        "衡东县洣水镇工业大道168号", permits={"fireworks_wholesale": EXPIRING},
        faults=(CUSTODIAN_EXPIRED,), principal=("彭卫东", True),
        safety_officer=("罗丽华", False),
    ),
    UnitSpec(
        "hd_retail", "430424", "衡东县大浦镇兴旺烟花爆竹经营部", (FW_RETAIL,),
        "衡东县大浦镇大浦街56号", individual=True,
    ),
    UnitSpec(
        "hd_retail2", "430424", "衡东县新塘镇平安烟花爆竹经营部", (FW_RETAIL,),
        "衡东县新塘镇新塘街18号", individual=True, status=Enterprise.Status.SUSPENDED,
        permits={"fireworks_retail": EXPIRED},
    ),
    UnitSpec(
        "hd_water", "430424", "衡东县洣水供水有限公司", (PRECURSOR,),
        "衡东县洣水镇滨江路9号", precursors="高锰酸钾（使用，水处理）",
    ),
    # 祁东县
    UnitSpec(
        "qd_wholesale", "430426", "祁东县祥和烟花爆竹批发有限公司", (FW_WHOLESALE,),
        "祁东县洪桥街道永昌路210号",
    ),
    UnitSpec(
        "qd_retail", "430426", "祁东县归阳镇吉庆烟花爆竹经营部", (FW_RETAIL,),
        "祁东县归阳镇正街77号", individual=True, faults=(NO_SAFETY_OFFICER,),
    ),
    UnitSpec(
        "qd_blasting", "430426", "祁东县宏源爆破工程有限公司", (BLASTING,),
        "祁东县洪桥街道育贤路35号", permits={"blasting_unit": EXPIRING},
        blast_site="祁东县风石堰镇石灰石矿爆破作业点", level="营业性四级",
    ),
    UnitSpec(
        "qd_chem", "430426", "祁东县恒达化工有限公司", (PRECURSOR,),
        "祁东县白地市镇工业园2号", precursors="硝酸钾、硫磺（使用）",
    ),
    # 耒阳市
    UnitSpec(
        "ly_sale", "430481", "耒阳市民爆器材专营有限公司", (SALE, STORAGE, TRANSPORT),
        "耒阳市蔡子池街道五一西路66号", permits={"transport": MISSING},
    ),
    UnitSpec(
        "ly_blasting", "430481", "耒阳市安泰爆破工程有限公司", (BLASTING,),
        "耒阳市灶市街街道金南路28号", blast_site="耒阳市大市镇花岗岩矿爆破作业点",
        level="营业性三级",
    ),
    UnitSpec(
        "ly_coal", "430481", "耒阳市导子煤业有限公司", (BLASTING,),
        "耒阳市导子镇导子村", faults=(BLASTER_EXPIRED,), blast_site="导子煤矿井下采掘工作面",
        magazine="井下爆炸材料发放硐室", level="非营业性",
    ),
    UnitSpec(
        "ly_wholesale", "430481", "耒阳市蔡伦烟花爆竹批发有限公司", (FW_WHOLESALE,),
        "耒阳市蔡子池街道蔡伦大道318号",
    ),
    UnitSpec(
        "ly_retail", "430481", "耒阳市灶市街街道顺发烟花爆竹经营部", (FW_RETAIL,),
        "耒阳市灶市街街道南正街41号", individual=True,
    ),
    UnitSpec(
        "ly_retail2", "430481", "耒阳市小水镇红火烟花爆竹经营部", (FW_RETAIL,),
        "耒阳市小水镇小水街12号", individual=True, status=Enterprise.Status.CLOSED,
        permits={"fireworks_retail": EXPIRED},
    ),
    # 常宁市
    UnitSpec(
        "cn_sale", "430482", "常宁市民用爆破器材有限责任公司", (SALE, STORAGE),
        "常宁市宜阳街道建设中路52号",
    ),
    UnitSpec(
        "cn_blasting", "430482", "常宁市顺达爆破工程有限公司", (BLASTING,),
        "常宁市泉峰街道培元路19号", faults=(MANAGER_CERT_EXPIRED,),
        blast_site="常宁市水口山镇铅锌矿采场爆破作业点", level="营业性四级",
    ),
    UnitSpec(
        "cn_smelter", "430482", "常宁市水口山康达有色金属有限公司", (TOXIC, PRECURSOR),
        "常宁市水口山镇康家湾", precursors="硝酸、过氧化氢（使用，湿法冶炼）",
    ),
    UnitSpec(
        "cn_retail", "430482", "常宁市宜阳街道鑫旺烟花爆竹经营部", (FW_RETAIL,),
        "常宁市宜阳街道青阳路88号", individual=True,
    ),
    # 衡阳县
    UnitSpec(
        "hy_wholesale", "430421", "衡阳县西渡鑫盛烟花爆竹批发有限公司", (FW_WHOLESALE,),
        "衡阳县西渡镇蒸阳北路258号",
    ),
    UnitSpec(
        "hy_retail", "430421", "衡阳县界牌镇福满堂烟花爆竹经营部", (FW_RETAIL,),
        "衡阳县界牌镇界牌街31号", individual=True, faults=(PRINCIPAL_UNCERTIFIED,),
    ),
    UnitSpec(
        "hy_blasting", "430421", "衡阳县华兴爆破工程有限公司", (BLASTING,),
        "衡阳县西渡镇衡州大道76号", blast_site="衡阳县金兰镇公路隧道爆破作业点",
        level="营业性三级",
    ),
    UnitSpec(
        "hy_plating", "430421", "衡阳县恒信电镀有限公司", (TOXIC, PRECURSOR),
        "衡阳县演陂镇工业集中区5号", permits={"precursor_filing": EXPIRED},
        precursors="硝酸、重铬酸钾（使用，电镀）",
    ),
    # 衡山县
    UnitSpec(
        "hs_fireworks", "430423", "衡山县岳峰花炮制造有限公司", (FW_PRODUCTION,),
        "衡山县店门镇花炮工业园", faults=(PRINCIPAL_NEW,),
    ),
    UnitSpec(
        "hs_retail", "430423", "衡山县开云镇吉祥烟花爆竹经营部", (FW_RETAIL,),
        "衡山县开云镇紫巾路45号", individual=True,
    ),
    UnitSpec(
        "hs_material", "430423", "衡山县恒鑫新材料有限公司", (PRECURSOR,),
        "衡山县萱洲镇工业园3号", permits={"precursor_filing": MISSING},
        precursors="过氧化氢、硝酸钠（使用）",
    ),
    # 南岳区
    UnitSpec(
        "ny_retail", "430412", "衡阳市南岳区南岳镇祝融烟花爆竹经营部", (FW_RETAIL,),
        "衡阳市南岳区南岳镇祝融路138号", individual=True,
    ),
    UnitSpec(
        "ny_water", "430412", "衡阳市南岳区自来水有限公司", (PRECURSOR,),
        "衡阳市南岳区寿岳乡水厂路1号", precursors="高锰酸钾（使用，水处理）",
    ),
    # 珠晖区
    UnitSpec(
        "zh_transport", "430405", "衡阳市安运危险货物运输有限公司", (TRANSPORT, STORAGE),
        "衡阳市珠晖区东阳渡街道物流园8号",
    ),
    UnitSpec(
        "zh_reagent", "430405", "衡阳市湘南化学试剂有限公司", (PRECURSOR,),
        "衡阳市珠晖区广东路街道东风南路116号", permits={"precursor_filing": EXPIRING},
        precursors="硝酸、高锰酸钾、过氧化氢、硝酸银（经营，试剂）",
    ),
    UnitSpec(
        "zh_retail", "430405", "衡阳市珠晖区茶山坳镇兴隆烟花爆竹经营部", (FW_RETAIL,),
        "衡阳市珠晖区茶山坳镇茶山街21号", individual=True,
    ),
    # 雁峰区
    UnitSpec(
        "yf_sale", "430406", "衡阳市雁城民爆器材销售有限公司", (SALE,),
        "衡阳市雁峰区先锋街道先锋路201号",
    ),
    UnitSpec(
        "yf_water", "430406", "衡阳市雁城水处理科技有限公司", (PRECURSOR,),
        "衡阳市雁峰区白沙洲街道白沙工业园12号", precursors="高锰酸钾、过氧化氢（使用）",
    ),
    UnitSpec(
        "yf_retail", "430406", "衡阳市雁峰区白沙洲街道红运烟花爆竹经营部", (FW_RETAIL,),
        "衡阳市雁峰区白沙洲街道湘江南路63号", individual=True,
    ),
    # 石鼓区
    UnitSpec(
        "sg_chem", "430407", "衡阳市松亭化工有限公司", (PRECURSOR, TOXIC),
        "衡阳市石鼓区松木经开区化工路18号", precursors="硝酸、硝酸钾、硫磺（生产使用）",
    ),
    UnitSpec(
        "sg_blasting", "430407", "湖南衡岳爆破工程有限公司", (BLASTING,),
        "衡阳市石鼓区人民路街道蒸湘北路99号", faults=(CERT_EXPIRING,),
        blast_site="衡阳市石鼓区角山镇城市道路基坑爆破作业点", level="营业性二级",
    ),
    UnitSpec(
        "sg_retail", "430407", "衡阳市石鼓区角山镇平安烟花爆竹经营部", (FW_RETAIL,),
        "衡阳市石鼓区角山镇角山街9号", individual=True,
        permits={"fireworks_retail": EXPIRED},
    ),
    # 蒸湘区
    UnitSpec(
        "zx_lab", "430408", "衡阳市科信检测技术有限公司", (PRECURSOR,),
        "衡阳市蒸湘区红湘街道长丰大道29号", faults=(NO_SAFETY_OFFICER,),
        precursors="硝酸、高氯酸（使用，实验室）",
    ),
    UnitSpec(
        "zx_wholesale", "430408", "衡阳市湘衡烟花爆竹专营有限公司", (FW_WHOLESALE,),
        "衡阳市蒸湘区呆鹰岭镇物流园16号",
    ),
    UnitSpec(
        "zx_retail", "430408", "衡阳市蒸湘区呆鹰岭镇鸿运烟花爆竹经营部", (FW_RETAIL,),
        "衡阳市蒸湘区呆鹰岭镇呆鹰岭街50号", individual=True,
        permits={"fireworks_retail": EXPIRING},
    ),
)  # fmt: skip

# --- what each kind brings ---------------------------------------------------------------

POST_ORDER = [p.value for p in Person.Post]
POSTS_BY_KIND: dict[str, dict[str, int]] = {
    PRODUCTION: {"safety_manager": 1, "safety_officer": 2, "custodian": 2},
    SALE: {"safety_manager": 1, "safety_officer": 1, "custodian": 1},
    STORAGE: {"safety_officer": 1, "custodian": 2},
    TRANSPORT: {"safety_officer": 1, "escort": 2, "driver": 2},
    BLASTING: {"safety_manager": 1, "safety_officer": 1, "blaster": 3, "custodian": 1},
    FW_PRODUCTION: {"safety_manager": 1, "safety_officer": 1, "custodian": 1},
    FW_WHOLESALE: {"safety_manager": 1, "safety_officer": 1, "custodian": 1},
    FW_RETAIL: {"safety_officer": 1},
    PRECURSOR: {"safety_officer": 1, "custodian": 2},
    TOXIC: {"safety_manager": 1, "safety_officer": 1, "custodian": 2},
}
CERT_FOR_POST: dict[str, str] = {
    "principal": Certificate.Kind.SAFETY_MANAGEMENT,
    "safety_manager": Certificate.Kind.SAFETY_MANAGEMENT,
    "safety_officer": Certificate.Kind.SAFETY_OFFICER,
    "blaster": Certificate.Kind.BLASTER,
    "custodian": Certificate.Kind.CUSTODIAN,
    "escort": Certificate.Kind.ESCORT,
    "driver": Certificate.Kind.DRIVER,
}
CERT_PREFIX: dict[str, str] = {
    Certificate.Kind.SAFETY_MANAGEMENT: "湘安考",
    Certificate.Kind.SAFETY_OFFICER: "湘安员",
    Certificate.Kind.BLASTER: "湘爆员",
    Certificate.Kind.CUSTODIAN: "湘保管",
    Certificate.Kind.ESCORT: "湘押运",
    Certificate.Kind.DRIVER: "湘危驾",
}
CERT_YEARS: dict[str, int] = {Certificate.Kind.DRIVER: 6}

# The permit each kind needs (the compliance rule's defaults), its term in years and scope.
PERMIT_FOR_KIND: dict[str, str] = {
    PRODUCTION: Permit.Kind.PRODUCTION,
    SALE: Permit.Kind.SALE,
    BLASTING: Permit.Kind.BLASTING_UNIT,
    TRANSPORT: Permit.Kind.TRANSPORT,
    FW_PRODUCTION: Permit.Kind.FIREWORKS_PRODUCTION,
    FW_WHOLESALE: Permit.Kind.FIREWORKS_WHOLESALE,
    FW_RETAIL: Permit.Kind.FIREWORKS_RETAIL,
    PRECURSOR: Permit.Kind.PRECURSOR_FILING,
    TOXIC: Permit.Kind.OTHER,  # 危险化学品安全使用许可证: not required by the default rules
}
PERMIT_YEARS: dict[str, int] = {Permit.Kind.FIREWORKS_RETAIL: 1}
PERMIT_NUMBER: dict[str, str] = {
    Permit.Kind.PRODUCTION: "MB生许证字-〔{seq:03d}〕",
    Permit.Kind.SALE: "（湘）民爆销字〔{year}〕第{seq:03d}号",
    Permit.Kind.TRANSPORT: "衡公民运字〔{year}〕第{seq:03d}号",
    Permit.Kind.BLASTING_UNIT: "{county}13{seq:05d}",
    Permit.Kind.FIREWORKS_PRODUCTION: "（湘）YH安许证字〔{year}〕{seq:04d}",
    Permit.Kind.FIREWORKS_WHOLESALE: "（湘）YH经批〔{year}〕第{seq:04d}号",
    Permit.Kind.FIREWORKS_RETAIL: "（{short}）YH经零〔{year}〕第{seq:04d}号",
    Permit.Kind.PRECURSOR_FILING: "衡公易制爆备〔{year}〕{county}{seq:03d}号",
    Permit.Kind.OTHER: "（湘）WH安使许证字〔{year}〕{seq:04d}",
}

SURNAMES = (
    "刘", "陈", "李", "王", "张", "唐", "周", "谭", "罗", "彭", "曾", "邓", "肖", "蒋", "胡",
    "谢", "贺", "廖", "颜", "邹", "旷", "阳", "文", "何", "黄", "杨", "欧阳", "毛", "龙", "雷",
)  # fmt: skip
MALE_NAMES = (
    "建国", "志强", "卫东", "国平", "海波", "红军", "建华", "新民", "立新", "伟", "勇", "军",
    "斌", "涛", "鹏", "俊杰", "文斌", "正华", "德胜", "春生", "长青", "湘军", "衡生", "国庆",
    "建军", "剑锋", "明亮", "浩然", "志刚", "小平", "向阳", "光明",
)  # fmt: skip
FEMALE_NAMES = (
    "丽华", "秀英", "桂芳", "玉兰", "小红", "美玲", "春梅", "芳", "敏", "静", "丽", "燕",
    "婷", "慧", "湘玲", "晓岚", "艳", "雪梅", "海燕", "红梅",
)  # fmt: skip
MALE_SHARE = {"safety_officer": 0.6, "blaster": 0.95, "escort": 0.9, "driver": 0.95}
VILLAGES = ("石塘", "新桥", "青山", "马安", "枫树", "杨柳", "龙泉", "黄沙", "白石", "长冲")
MOBILE_PREFIXES = ("133", "135", "137", "138", "139", "150", "151", "152", "158", "159",
                   "177", "180", "186", "187", "189")  # fmt: skip

MAGAZINE_NOTES = (
    "双人双锁、24小时专人值守；视频监控和入侵报警已接入公安机关；防雷装置年检合格；"
    "出入库逐笔登记，日清月结。"
)
CHEMICAL_NOTES = "专库专储、双人收发、双人保管；视频监控保存90天以上；出入库台账电子化。"


# --- the plan: pure data, independent of the database and of the date ----------------------


@dataclass(frozen=True)
class CertPlan:
    kind: str
    seq: int
    offset: int  # expiry, in days from the anchor date
    years: int


@dataclass(frozen=True)
class PersonPlan:
    name: str
    identity_number: str
    post: str
    appointed: int  # days before the anchor date
    phone: str
    certificates: tuple[CertPlan, ...]


@dataclass(frozen=True)
class PermitPlan:
    kind: str
    template: str
    seq: int
    offset: int
    years: int
    scope: str


@dataclass(frozen=True)
class SitePlan:
    name: str
    kind: str
    address: str
    lat: Decimal
    lon: Decimal
    capacity_kg: Decimal | None = None
    capacity_detonators: int | None = None
    security_notes: str = ""


@dataclass(frozen=True)
class UnitPlan:
    spec: UnitSpec
    uscc: str
    phone: str
    lat: Decimal
    lon: Decimal
    permits: tuple[PermitPlan, ...]
    sites: tuple[SitePlan, ...]
    people: tuple[PersonPlan, ...]

    @property
    def principal(self) -> str:
        return next(p.name for p in self.people if p.post == Person.Post.PRINCIPAL)


def _offset(rng: random.Random, state: str, years: int) -> int:
    """Days from the anchor date to an expiry date in the given state (valid: > 60 days)."""
    if state == EXPIRING:
        return rng.randint(8, 52)
    if state == EXPIRED:
        return -rng.randint(20, 240)
    return rng.randint(75, 365 * years - 20)


def _coord(rng: random.Random, centre: float, spread: float) -> Decimal:
    return Decimal(f"{centre + rng.uniform(-spread, spread):.6f}")


def _identity(rng: random.Random, county: County, male: bool, born: tuple[int, int]) -> str:
    home = county if rng.random() < 0.85 else rng.choice(list(COUNTIES.values()))
    birth = date(rng.randint(*born), 1, 1) + timedelta(days=rng.randrange(365))
    serial = rng.randrange(500) * 2 + (1 if male else 0)  # 17th digit: odd for men
    for code in (home.code, *home.older_codes, *FALLBACK_CODES):
        number = make_identity_number(code, birth, serial)
        if ric.is_valid(number):
            return number
    raise AssertionError(f"no region code fits {birth}")  # pragma: no cover


def _name(rng: random.Random, male: bool) -> str:
    surname = rng.choice(SURNAMES)
    given = rng.choice(MALE_NAMES if male else FEMALE_NAMES)
    while given.startswith(surname):  # no 文文斌
        given = rng.choice(MALE_NAMES if male else FEMALE_NAMES)
    return surname + given


def _posts(spec: UnitSpec) -> list[str]:
    counts: dict[str, int] = {"principal": 1}
    for kind in spec.kinds:
        for post, n in POSTS_BY_KIND.get(kind, {}).items():
            counts[post] = max(counts.get(post, 0), n)
    if NO_SAFETY_OFFICER in spec.faults:
        counts.pop("safety_officer", None)
    if spec.employee:
        counts["other"] = 1
    return [post for post in POST_ORDER for _ in range(counts.get(post, 0))]


def _people(
    rng: random.Random, spec: UnitSpec, county: County, seqs: dict[str, int]
) -> tuple[PersonPlan, ...]:
    people: list[PersonPlan] = []
    numbers: set[str] = set()
    fixed = {
        "principal": spec.principal,
        "safety_officer": spec.safety_officer,
        "other": spec.employee,
    }
    seen: dict[str, int] = {}
    for post in _posts(spec):
        nth = seen[post] = seen.get(post, 0) + 1
        named = fixed.get(post) if nth == 1 else None
        male = named[1] if named else rng.random() < MALE_SHARE.get(post, 0.8)
        name = named[0] if named else _name(rng, male)
        born = (1963, 1985) if post in ("principal", "safety_manager") else (1968, 2001)
        identity = _identity(rng, county, male, born)
        while identity in numbers:  # pragma: no cover - a one-in-a-million draw
            identity = _identity(rng, county, male, born)
        numbers.add(identity)
        appointed = rng.randint(240, 3650)
        kind = CERT_FOR_POST.get(post)
        state = VALID
        for fault in spec.faults:
            state = FAULTY_CERTS.get(fault, {}).get((post, nth), state)
        if post == "principal" and PRINCIPAL_UNCERTIFIED in spec.faults:
            state, appointed = MISSING, rng.randint(600, 1500)
        elif post == "principal" and PRINCIPAL_NEW in spec.faults:
            state, appointed = MISSING, 60
        if state == MISSING:
            kind = None
        certificates: tuple[CertPlan, ...] = ()
        if kind is not None:
            years = CERT_YEARS.get(kind, 3)
            if kind not in seqs:
                seqs[kind] = rng.randint(100, 900)
            seqs[kind] += rng.randint(1, 40)
            certificates = (CertPlan(kind, seqs[kind], _offset(rng, state, years), years),)
        phone = rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
        people.append(PersonPlan(name, identity, post, appointed, phone, certificates))
    return tuple(people)


def _permit_scope(spec: UnitSpec, kind: str) -> str:
    scopes: dict[str, str] = {
        Permit.Kind.PRODUCTION: "乳化炸药（胶状）15000吨/年；膨化硝铵炸药6000吨/年",
        Permit.Kind.SALE: "工业炸药、工业雷管（电子雷管）、工业索类火工品",
        Permit.Kind.TRANSPORT: "道路运输民用爆炸物品（第1类爆炸品1.1项、1.4项）",
        Permit.Kind.BLASTING_UNIT: (
            f"{spec.level}爆破作业单位：岩土爆破"
            if spec.level.startswith("营业性")
            else "非营业性爆破作业单位：本单位煤矿井下爆破作业"
        ),
        Permit.Kind.FIREWORKS_PRODUCTION: "组合烟花类、爆竹类（C级、D级）",
        Permit.Kind.FIREWORKS_WHOLESALE: "批发A级、B级、C级、D级烟花爆竹",
        Permit.Kind.FIREWORKS_RETAIL: "零售C级、D级个人燃放类烟花爆竹，限量存放不超过200千克",
        Permit.Kind.PRECURSOR_FILING: spec.precursors or "易制爆危险化学品（使用）",
        Permit.Kind.OTHER: "危险化学品安全使用：氰化钠等剧毒化学品（使用）",
    }
    return scopes[kind]


def _permits(rng: random.Random, spec: UnitSpec, seqs: dict[str, int]) -> tuple[PermitPlan, ...]:
    permits: list[PermitPlan] = []
    for unit_kind in spec.kinds:
        kind = PERMIT_FOR_KIND.get(unit_kind)
        if kind is None:
            continue
        state = spec.permits.get(kind, VALID)
        years = PERMIT_YEARS.get(kind, 3)
        if kind not in seqs:
            seqs[kind] = rng.randint(1, 60)
        seqs[kind] += rng.randint(1, 9)
        offset = _offset(rng, state, years)
        if state != MISSING:
            permits.append(
                PermitPlan(
                    kind,
                    PERMIT_NUMBER[kind],
                    seqs[kind],
                    offset,
                    years,
                    _permit_scope(spec, kind),
                )
            )
    return tuple(permits)


def _sites(rng: random.Random, spec: UnitSpec, county: County) -> tuple[SitePlan, ...]:
    kinds = set(spec.kinds)
    sites: list[SitePlan] = []

    def add(
        name: str,
        kind: str,
        *,
        remote: bool = False,
        kg: int | None = None,
        detonators: int | None = None,
        notes: str = "",
        address: str = "",
    ) -> None:
        if not address:
            address = spec.address
            if remote:
                village = rng.choice(VILLAGES)
                address = f"{county.name}{rng.choice(county.towns)}{village}村"
        spread = 0.08 if remote else 0.03
        sites.append(
            SitePlan(
                name,
                kind,
                address,
                _coord(rng, county.lat, spread),
                _coord(rng, county.lon, spread),
                Decimal(kg) if kg is not None else None,
                detonators,
                notes,
            )
        )

    magazine, workshop, office = Site.Kind.MAGAZINE, Site.Kind.WORKSHOP, Site.Kind.OFFICE
    if PRODUCTION in kinds:
        add(
            "乳化炸药生产线", workshop, notes="在线人员不超过核定定员；联锁与自动控制系统每班点检。"
        )
        add("总库区1号工业炸药库", magazine, remote=True, kg=60000, notes=MAGAZINE_NOTES)
        add("总库区2号工业雷管库", magazine, remote=True, detonators=300000, notes=MAGAZINE_NOTES)
        add("行政办公楼", office)
    elif STORAGE in kinds:
        add(
            "民爆物品储存库区炸药库",
            magazine,
            remote=True,
            kg=rng.choice((10000, 15000, 20000, 30000)),
            notes=MAGAZINE_NOTES,
        )
        add(
            "民爆物品储存库区雷管库",
            magazine,
            remote=True,
            detonators=rng.choice((50000, 80000, 100000)),
            notes=MAGAZINE_NOTES,
        )
    if SALE in kinds:
        add("营业部", office)
    if TRANSPORT in kinds:
        add(
            "危险货物运输车辆专用停车场",
            office,
            remote=True,
            notes="专用车辆安装卫星定位装置并接入监控平台；车辆停放期间专人看守。",
        )
    if BLASTING in kinds:
        add(
            spec.magazine or "爆炸物品临时储存库",
            magazine,
            remote=True,
            kg=rng.choice((1000, 1500, 2000, 3000)),
            detonators=rng.choice((5000, 8000, 10000)),
            notes=MAGAZINE_NOTES,
        )
        add(
            spec.blast_site,
            Site.Kind.BLASTING_SITE,
            remote=True,
            address=spec.blast_site,
            notes="作业时设置警戒区（半径不小于200米），专人警戒；爆后检查不少于15分钟。",
        )
        add("公司办公室", office)
    if FW_PRODUCTION in kinds:
        add("药物混合工房", workshop, remote=True, notes="单人单间操作，限量限员，防静电地面。")
        add(
            "成品仓库（1.3级）",
            workshop,
            remote=True,
            kg=rng.choice((2000, 3000)),
            notes="核定存药量以许可证为准；防火、防雷、防静电设施齐全。",
        )
        add("办公区", office)
    if FW_WHOLESALE in kinds:
        add(
            "烟花爆竹专用仓库（1.3级）",
            workshop,
            remote=True,
            kg=rng.choice((3000, 5000, 8000)),
            notes="按核定药量存放，分类分级堆码；防火、防雷、防静电设施齐全。",
        )
        add("批发营业部", office)
    if FW_RETAIL in kinds:
        add("零售门店", office, notes="专店销售，限量存放，店内配备灭火器材，严禁住人。")
    if PRECURSOR in kinds:
        add("易制爆危险化学品专用仓库", workshop, notes=CHEMICAL_NOTES)
    if TOXIC in kinds:
        add("剧毒化学品专用仓库", workshop, notes=CHEMICAL_NOTES + "剧毒化学品实行“五双”管理。")
    return tuple(sites)


@cache
def demo_plan() -> tuple[UnitPlan, ...]:
    """Every demo row, drawn once from random.Random(SEED); dates are offsets from the anchor."""
    rng = random.Random(SEED)  # noqa: S311 - reproducible demo data, not secrets
    permit_seqs: dict[str, int] = {}
    cert_seqs: dict[str, int] = {}
    plans = []
    for spec in UNITS:
        county = COUNTIES[spec.county]
        serial = rng.randrange(10**8, 10**9)
        uscc = make_uscc(spec.county, serial, "92" if spec.individual else "91")
        phone = f"0734-{rng.choice('2345678')}{rng.randrange(10**6):06d}"
        lat, lon = _coord(rng, county.lat, 0.03), _coord(rng, county.lon, 0.03)
        permits = _permits(rng, spec, permit_seqs)
        sites = _sites(rng, spec, county)
        people = _people(rng, spec, county, cert_seqs)
        plans.append(UnitPlan(spec, uscc, phone, lat, lon, permits, sites, people))
    assert len({p.uscc for p in plans}) == len(plans), "demo USCCs must be unique"
    return tuple(plans)


def demo_uscc(key: str) -> str:
    """The unified social credit code of the demo unit with this key (e.g. "nanling")."""
    return next(p.uscc for p in demo_plan() if p.spec.key == key)


# --- writing it ----------------------------------------------------------------------------


def _today() -> date:
    return timezone.localdate()


def _anchor(usccs: list[str]) -> date:
    """The day of the first load: the creation day of the earliest demo unit, else today."""
    first = Enterprise.objects.filter(uscc__in=usccs).aggregate(first=Min("created_at"))["first"]
    return timezone.localdate(first) if first is not None else _today()


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _term(anchor: date, offset: int, years: int) -> tuple[date, date]:
    """(issued_on, expires_on): a term of `years` ending `offset` days after the anchor."""
    expires = anchor + timedelta(days=offset)
    return _years_before(expires, years) + timedelta(days=1), expires


def _save(obj: Model) -> None:
    obj.full_clean()
    obj.save()  # AuditedModel.save records the history


@transaction.atomic
def load_registry_demo() -> dict[str, int]:
    """Create the demo units, permits, sites, people and certificates that do not exist yet.

    Rows are keyed by natural keys (unit USCC; permit kind and number; site unit and name;
    person unit and identity number; certificate person and number) and never updated, so a
    second run creates nothing and changes nothing. Returns how many rows of each were created.
    """
    plans = demo_plan()
    created = {"units": 0, "permits": 0, "sites": 0, "people": 0, "certificates": 0}
    usccs = [p.uscc for p in plans]
    anchor = _anchor(usccs)
    units = {e.uscc: e for e in Enterprise.objects.filter(uscc__in=usccs)}
    permits = set(
        Permit.objects.filter(enterprise__in=units.values()).values_list("kind", "number")
    )
    sites = set(
        Site.objects.filter(enterprise__in=units.values()).values_list("enterprise", "name")
    )
    people = {
        (p.enterprise_id, p.identity_number): p
        for p in Person.objects.filter(enterprise__in=units.values())
    }
    certificates = set(
        Certificate.objects.filter(person__enterprise__in=units.values()).values_list(
            "person", "number"
        )
    )
    for plan in plans:
        spec, county = plan.spec, COUNTIES[plan.spec.county]
        unit = units.get(plan.uscc)
        if unit is None:
            unit = Enterprise(
                uscc=plan.uscc,
                name=spec.name,
                kinds=",".join(spec.kinds),
                jurisdiction_id=spec.county,
                address=spec.address,
                latitude=plan.lat,
                longitude=plan.lon,
                principal=plan.principal,
                phone=plan.phone,
                status=spec.status,
            )
            _save(unit)
            created["units"] += 1

        for pp in plan.permits:
            issued, expires = _term(anchor, pp.offset, pp.years)
            number = pp.template.format(
                year=issued.year, seq=pp.seq, county=county.code, short=county.short
            )
            if (pp.kind, number) in permits:
                continue
            _save(
                Permit(
                    enterprise=unit,
                    kind=pp.kind,
                    number=number,
                    scope=pp.scope,
                    issued_on=issued,
                    expires_on=expires,
                )
            )
            permits.add((pp.kind, number))
            created["permits"] += 1

        for sp in plan.sites:
            if (unit.pk, sp.name) in sites:
                continue
            _save(
                Site(
                    enterprise=unit,
                    name=sp.name,
                    kind=sp.kind,
                    address=sp.address,
                    latitude=sp.lat,
                    longitude=sp.lon,
                    capacity_kg=sp.capacity_kg,
                    capacity_detonators=sp.capacity_detonators,
                    security_notes=sp.security_notes,
                )
            )
            sites.add((unit.pk, sp.name))
            created["sites"] += 1

        for hp in plan.people:
            person = people.get((unit.pk, hp.identity_number))
            if person is None:
                person = Person(
                    enterprise=unit,
                    name=hp.name,
                    identity_number=hp.identity_number,
                    post=hp.post,
                    appointed_on=anchor - timedelta(days=hp.appointed),
                    phone=hp.phone,
                )
                _save(person)
                people[(unit.pk, hp.identity_number)] = person
                created["people"] += 1
            for cp in hp.certificates:
                issued, expires = _term(anchor, cp.offset, cp.years)
                number = f"{CERT_PREFIX[cp.kind]}{issued.year}{cp.seq:05d}"
                if (person.pk, number) in certificates:
                    continue
                _save(
                    Certificate(
                        person=person,
                        kind=cp.kind,
                        number=number,
                        issued_on=issued,
                        expires_on=expires,
                    )
                )
                certificates.add((person.pk, number))
                created["certificates"] += 1
    return created
