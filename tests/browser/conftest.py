"""One headless Chromium (Debian's, driven by Selenium) at a phone's viewport, shared by
the browser tests. Without Chromium the tests fail, not skip: `make test` installs it
(.ci/ensure-browser); APPRAISAL_SKIP_BROWSER=1 says, on purpose, to skip them."""

import os
import shutil
from collections.abc import Iterator

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
PHONE = {"width": 390, "height": 844, "pixelRatio": 2}


@pytest.fixture(scope="session")
def browser() -> Iterator[webdriver.Chrome]:
    if os.environ.get("APPRAISAL_SKIP_BROWSER") == "1":
        pytest.skip("APPRAISAL_SKIP_BROWSER=1")
    for program in (CHROMIUM, CHROMEDRIVER):
        if shutil.which(program) is None:
            pytest.fail(
                f"{program} is missing: run .ci/ensure-browser (or APPRAISAL_SKIP_BROWSER=1)"
            )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--lang=zh-CN"):
        options.add_argument(flag)
    options.add_experimental_option("mobileEmulation", {"deviceMetrics": PHONE})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_window_size(PHONE["width"], PHONE["height"])
    try:
        yield driver
    finally:
        driver.quit()


from tests.e2e.conftest import app, client  # noqa: E402, F401  (the set-up's own HTTP client)
