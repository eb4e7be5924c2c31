"""Write the docs' screenshots of the web admin: docs/web/*.png.

    .venv/bin/python tests/web/screenshots.py [OUT_DIR]

Starts a real mock ERP server and a real `erpsync web` with the browser tests' demo data in
a throw-away home, signs in with Debian's Chromium and saves the Sync tab, the connection
dialog and a connection's Sync settings. The browser tests
`test_screenshots_script_writes_the_sync_tab_and_the_dialog` and
`test_the_sync_settings_screenshot` run the same functions.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS))

from helpers import MOCK_PASSWORD  # noqa: E402
from helpers.mock_server import start_mock_server, stop_process  # noqa: E402
from helpers.web import (  # noqa: E402
    ADMIN,
    ADMIN_PASSWORD,
    CHROMIUM_ARGS,
    WebHome,
    fill_demo_data,
    find_chromium,
    start_web_server,
    take_screenshots,
    take_sync_settings_screenshot,
)


def main(out_dir: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    executable = find_chromium()
    if executable is None:
        raise SystemExit("Chromium is not installed (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="erpsync-screenshots-") as scratch:
        root = Path(scratch)
        (root / "mock").mkdir()
        mock = start_mock_server(root / "mock")
        home = WebHome(root / "home")
        home.add_admin()
        web = None
        try:
            fill_demo_data(home, mock.url, mock.token_file, MOCK_PASSWORD)
            web = start_web_server(home)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                written = take_screenshots(page, web.url, ADMIN, ADMIN_PASSWORD, out_dir)
                written.append(take_sync_settings_screenshot(page, web.url, out_dir))
                browser.close()
        finally:
            if web is not None:
                stop_process(web.process)
            stop_process(mock.process)
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else TESTS.parent / "docs" / "web"
    for path in main(target):
        print(path)
