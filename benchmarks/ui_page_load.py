"""`breakfix ui` page load: each page's HTML, its scripts and styles, and the JSON it fetches, as a browser's
first visit loads them (fresh connections, one after another), cold (the server's first request: the
catalog probes this machine's requirements) and warm (the probe reused for a minute); with --browser also the
time headless chromium takes from navigation to a drawn catalog.

    .venv/bin/python benchmarks/ui_page_load.py --rounds 5 [--browser]
"""

from __future__ import annotations

import argparse
import shutil
import time

from ui_common import median, ui_server

PAGES = {
    "catalog": ["/", "/static/style.css", "/static/common.js", "/api/catalog"],
    "entry (502-storm)": ["/entry/502-storm", "/static/style.css", "/static/common.js", "/api/entry/502-storm"],
    "active instance": ["/active", "/static/style.css", "/static/uPlot.min.css", "/static/uPlot.iife.min.js", "/static/common.js",
                        "/static/signals.js", "/api/status"],
}


def browser_load(port: int, token: str) -> float:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(shutil.which("chromium"))
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(str(shutil.which("chromedriver"))), options=options)
    try:
        started = time.perf_counter()
        driver.get(f"http://127.0.0.1:{port}/?token={token}")
        while driver.execute_script("return document.body.dataset.loaded") != "1":
            time.sleep(0.01)
        return time.perf_counter() - started
    finally:
        driver.quit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--browser", action="store_true", help="also time headless chromium to a drawn catalog")
    args = parser.parse_args()
    cold: list[float] = []
    warm: dict[str, list[float]] = {name: [] for name in PAGES}
    sizes: dict[str, int] = {}
    browser: list[float] = []
    for _ in range(args.rounds):
        with ui_server() as page:
            first = sum(page.get(path)[2] for path in PAGES["catalog"])
            cold.append(first)
            for name, paths in PAGES.items():
                total, size = 0.0, 0
                for path in paths:
                    status, body, seconds = page.get(path)
                    assert status == 200, f"{path}: {status}"
                    total, size = total + seconds, size + len(body)
                warm[name].append(total)
                sizes[name] = size
            if args.browser:
                browser.append(browser_load(page.port, page.token))
    print(f"breakfix ui page load, median of {args.rounds} rounds (a fresh server each round)\n")
    print("| page | requests | bytes | load time |")
    print("|---|---|---|---|")
    print(f"| catalog, cold (first request of the server) | {len(PAGES['catalog'])} | {sizes['catalog']} | {median(cold)} |")
    for name, paths in PAGES.items():
        print(f"| {name}, warm | {len(paths)} | {sizes[name]} | {median(warm[name])} |")
    if args.browser:
        print(f"| catalog in headless chromium, navigation to drawn table (warm) | | | {median(browser)} |")


if __name__ == "__main__":
    main()
