"""The officer's review page in Debian chromium (Playwright, never a downloaded browser).

Officer A logs in with a token, approves one item and withholds the other, sees the counts
change, and finds the release button disabled for herself; officer B, in a fresh browser
context, releases the batch.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from .conftest import SECRET_STREET, Site

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        # CI (and `make test`) install Debian's chromium; only a bare machine without apt may skip
        if shutil.which("apt-get") is None and not os.environ.get("CI"):
            pytest.skip("no chromium and no apt-get")
        pytest.fail(f"{CHROMIUM} is missing: run `make chromium` (apt-get install chromium)")
    from playwright import sync_api as playwright

    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def _login(page: Any, site: Site, batch_id: str, account: str) -> None:
    page.goto(f"{site.url}/review/{batch_id}")
    page.get_by_label("Officer token").fill(site.tokens[account])
    page.get_by_role("button", name="Log in").click()
    page.locator("#who").filter(has_text=account).wait_for()
    page.locator("#items .item").first.wait_for()


def test_two_officers_review_and_release(site: Site, browser: Any, tmp_path: Path) -> None:
    batch_id = site.make_batch(prefix="WEB")
    errors: list[str] = []

    a_ctx = browser.new_context()
    page = a_ctx.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    response = page.goto(f"{site.url}/review/{batch_id}")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert page.get_by_label("Officer token").is_visible()
    _login(page, site, batch_id, "alvarez")

    assert page.locator("#count-pending").inner_text() == "2"
    item1 = page.locator("#item-R1")
    assert SECRET_STREET in item1.inner_text()  # the officer sees the candidate's address
    assert "María" in item1.inner_text()
    assert page.locator("#approve-clean").inner_text() == "Approve all clean (1)"
    assert page.locator("#release").is_disabled()

    page.get_by_role("button", name="Approve request R1").click()
    page.locator("#count-approved").filter(has_text="1").wait_for()
    assert page.locator("#count-pending").inner_text() == "1"
    assert page.locator("#item-R1").get_attribute("data-state") == "approved"
    assert page.get_by_role("button", name="Approve request R1").is_disabled()

    # Keyboard: focus the withhold button and press Enter.
    page.get_by_role("button", name="Withhold request R2").focus()
    page.keyboard.press("Enter")
    page.locator("#count-withheld").filter(has_text="1").wait_for()
    assert page.locator("#count-pending").inner_text() == "0"
    assert "alvarez" in page.locator("#reviewers").inner_text()
    assert page.locator("#release").is_disabled()
    assert "four eyes" in page.locator("#release-why").inner_text()
    shots = Path(os.environ.get("FTIGATE_SCREENSHOTS") or tmp_path)  # to look at the page
    page.screenshot(path=str(shots / "officer-a.png"), full_page=True)
    a_ctx.close()

    b_ctx = browser.new_context()
    page = b_ctx.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    _login(page, site, batch_id, "brennan")
    assert page.locator("#release").is_enabled()
    assert page.get_by_role("button", name="Approve request R1").is_disabled()
    page.get_by_role("button", name="Release batch").click()
    page.locator("#batch-status").filter(has_text="RELEASED").wait_for()
    assert "Released 5 decisions" in page.locator("#status").inner_text()
    assert page.locator("#release").is_disabled()
    # The token lives in this tab's sessionStorage only, and logging out forgets it.
    assert page.evaluate("sessionStorage.length") == 1
    page.get_by_role("button", name="Log out").click()
    assert page.evaluate("sessionStorage.length") == 0
    assert page.get_by_label("Officer token").is_visible()
    b_ctx.close()
    assert errors == []


def test_page_refuses_non_officers_and_escapes_values(site: Site, browser: Any) -> None:
    ctx = browser.new_context()
    page = ctx.new_page()
    evil = '<img src=x onerror="alert(1)">'
    page.goto(f"{site.url}/review/{quote(evil)}")
    assert page.locator("img").count() == 0
    assert page.evaluate("document.body.dataset.batchId") == evil
    page.get_by_label("Officer token").fill(site.tokens["audra"])
    page.get_by_role("button", name="Log in").click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "auditor" in alert.inner_text()
    assert page.evaluate("sessionStorage.length") == 0
    ctx.close()
