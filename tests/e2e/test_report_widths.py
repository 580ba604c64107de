"""The shortage register and the delivery differences fit a 1280 × 800 screen with a county's real data: long
village and product names, free text, notes. Columns the page leaves out are in the downloads."""

import itertools
from datetime import timedelta

import pytest

from pharmacy import clock
from tests.e2e.conftest import screenshot
from tests.e2e.live_server import PASSWORD, start_live_server

pytest.importorskip("playwright.sync_api")

VILLAGE_NAMES = ["黄土坡镇郭家洼村卫生室", "黄土坡镇罗家寨村卫生室", "龙泉镇梁家坪村卫生室", "龙泉镇谢家店村卫生室"]
TOWNSHIP_NAMES = ["黄土坡镇卫生院", "龙泉镇卫生院"]
PRODUCTS = [("复方利血平氨苯蝶啶", "片剂", "复方"), ("单硝酸异山梨酯", "缓释胶囊", "50mg"),
            ("阿司匹林", "肠溶片", "0.1g"), ("血塞通片", "颗粒剂", "每袋装1.5g（含三七总皂苷50mg）"),
            ("二甲双胍", "缓释片", "0.5g")]
NOTES = ["外包装破损，两盒药品受潮无法使用，已拍照留存并退回乡镇卫生院", "少一盒", "",
         "批号与配送单不符（配送单写2410036，实物为2410063），暂不入库，等待乡镇核对后处理"]
FREE_TEXT = "络活喜 苯磺酸氨氯地平片 5mg×7片/盒（患者自带空盒，要同厂家）"


def realistic_county(county):
    from pharmacy.shortages.services import acknowledge, register_shortage, transition
    from tests.factories import key, make_delivery_run, make_product

    for facility, name in zip(county.townships, TOWNSHIP_NAMES, strict=True):
        facility.name = name
    for facility, name in zip(county.villages, VILLAGE_NAMES, strict=True):
        facility.name = name
    products = [make_product(name, dosage_form=form, strength=strength) for name, form, strength in PRODUCTS]
    doctor, pharmacist = county.users["village"], county.users["township"]
    cycle = itertools.cycle(["routine", "urgent", "emergency"])
    reasons = itertools.cycle(["out_of_stock", "running_low", "patient_need", "chronic_long_rx"])
    for n in range(60):
        village = county.villages[n % len(county.villages)]
        shortage, _ = register_shortage(facility=village, user=doctor, client_id=key("sh"), qty_packs=n % 9 + 1,
                                        product=None if n % 7 == 0 else products[n % len(products)],
                                        free_text=FREE_TEXT if n % 7 == 0 else "", urgency=next(cycle),
                                        reason=next(reasons), note="慢病长处方（两个月），患者每月初来取药")
        if n % 3 == 0:
            acknowledge(shortage, user=pharmacist, note="已安排本周配送")
        elif n % 5 == 0:
            transition(shortage, "cancelled", user=pharmacist, note="患者已转诊至县医院")
    now = clock.now_utc()
    for day in range(1, 9):
        stops = []
        for v_index, village in enumerate(county.villages[:2] if day % 2 else county.villages[2:]):
            lines = [(p, 240, 240, 240 - 24 * (1 + (day + i + v_index) % 3), "damaged" if i % 2 else "short",
                      NOTES[(day + i) % len(NOTES)]) for i, p in enumerate(products)]
            stops.append((village, now - timedelta(days=day, hours=-3), lines))
        township = county.townships[0] if day % 2 else county.townships[1]
        make_delivery_run(township, pharmacist, departed=now - timedelta(days=day), stops=stops,
                          signer="郭家洼村卫生室 欧阳医生（代签：村委会主任）")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    live = start_live_server(tmp_path_factory.mktemp("widths"), seed=realistic_county)
    yield live
    live.stop()


@pytest.mark.parametrize("language", ["zh-CN", "en"])
@pytest.mark.parametrize("report", ["shortages", "delivery_differences"])
def test_the_report_fits_1280_pixels(server, browser, report, language):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    page = context.new_page()
    page.goto(server.url + "/login")
    page.fill("input[name=username]", server.usernames["county"])
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")
    if language == "en":
        page.goto(server.url + "/lang/en")
    page.goto(f"{server.url}/reports/{report}")
    rows = page.locator("table.report-table tbody tr")
    assert rows.count() == 50  # a full page of realistic rows
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1280, f"{report} is {width} px wide at 1280 × 800 ({language})"
    table = page.evaluate("document.querySelector('table.report-table').getBoundingClientRect().right")
    assert table <= 1280, f"the table of {report} ends at {table} px"
    screenshot(page, f"report-{report}-1280-{language}")
    context.close()
