"""医保药品代码 in Chromium: upload the NHSA table, decide the unsure rows with the keyboard, see the report."""

from pharmacy.config import ROOT
from tests.e2e.conftest import english_words_on, has_horizontal_scroll, screenshot, sign_in

SAMPLE = ROOT / "tests" / "data" / "nhsa_codes_sample.csv"


def test_upload_review_by_keyboard_and_report(live_server, new_page):
    page = new_page()
    sign_in(page, live_server, "formulary")
    page.goto(f"{live_server}/catalog")
    assert page.locator("nav a[href$='/catalog/insurance']").count() == 1  # in the 目录 group of the menu
    page.goto(f"{live_server}/catalog/insurance")
    page.set_input_files("input[name=file]", str(SAMPLE))
    with page.expect_navigation():
        page.click("form.upload-form button[type=submit]")
    assert page.locator("h1").inner_text().startswith("医保代码审核")
    assert [w for w in english_words_on(page) if w not in SAMPLE.stem.split("_")] == []  # but the file's name
    assert not has_horizontal_scroll(page)
    screenshot(page, "insurance-review")
    rows = page.locator("tr.review-row")
    assert rows.count() == 3  # the amoxicillin 0.25 g row was attached without review
    first = rows.nth(0)
    assert "苯磺酸氨氯地平片" in first.inner_text() and "包装数量与产品不同" in first.inner_text()

    page.keyboard.press("1")  # the first row has the focus: confirm its first candidate
    first.locator(".row-result").filter(has_text="已确认").wait_for()
    page.keyboard.press("n")  # the focus moved on: the 0.5 g row is none of ours
    rows.nth(1).locator(".row-result").filter(has_text="不对应").wait_for()

    page.reload()
    assert page.locator("tr.review-row").count() == 1 and "托伐普坦片" in page.locator("tr.review-row").inner_text()

    page.goto(f"{live_server}/catalog/insurance/uncoded?q=氨氯地平")
    body = page.inner_text("table")
    assert "X170-01" not in body  # amlodipine 5 mg tablets have their code now
    assert english_words_on(page) == []
