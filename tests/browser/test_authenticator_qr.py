"""The authenticator set-up's QR code as a phone sees it: a screenshot of the page, decoded by
zbar's zbarimg, must give the otpauth:// URI whose secret is the key shown beside it, at a
phone's and a laptop's width, in both colour schemes."""
from __future__ import annotations

import shutil
import subprocess
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from conftest import missing

from .conftest import ARTIFACTS, screenshot

pytestmark = pytest.mark.browser


def zbarimg() -> str:
    found = shutil.which("zbarimg")
    if not found:
        missing("zbarimg not found: install Debian's zbar-tools (scripts/test.sh does, as root)")
    return found


def decode(path) -> list[str]:
    result = subprocess.run([zbarimg(), "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(path)],
                            capture_output=True, text=True, timeout=60, check=False)
    return [line for line in result.stdout.splitlines() if line]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [390, 1366])
def test_the_set_up_qr_decodes_to_the_uri_of_the_shown_key(live_server, demo, new_page, width, scheme):
    zbarimg()
    page = new_page(viewport={"width": width, "height": 900}, color_scheme=scheme)
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill("demo@example.com")
    page.get_by_label("Password").fill("demopass")
    page.locator("form.login-form button[type=submit]").click()
    page.wait_for_url(f"{live_server}/")
    page.goto(f"{live_server}/security")
    page.locator("#authenticator form button[type=submit]").click()
    qr = page.locator(".totp-qr svg")
    qr.wait_for()
    # The whole code is on the screen: its box is not cropped and is at least 160 px wide.
    box = qr.bounding_box()
    holder = page.locator(".totp-qr-box").bounding_box()
    assert box["width"] >= 160 and abs(box["width"] - holder["width"]) < 1 and abs(box["height"] - box["width"]) < 1
    qr.scroll_into_view_if_needed()
    path = ARTIFACTS / f"authenticator-qr-{width}-{scheme}.png"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path))  # the viewport, as a phone would photograph the screen
    screenshot(page, f"authenticator-setup-{width}-{scheme}")

    decoded = decode(path)
    assert len(decoded) == 1, f"zbarimg found {decoded!r} in {path}"
    uri = urlsplit(decoded[0])
    assert uri.scheme == "otpauth" and uri.netloc == "totp"
    assert unquote(uri.path).endswith("demo@example.com")
    shown_key = page.locator(".totp-secret").inner_text().replace(" ", "")
    assert parse_qs(uri.query)["secret"] == [shown_key]
    # The copy control (the script's) copies the same key.
    copy = page.get_by_role("button", name="Copy the key")
    assert copy.is_visible() and copy.get_attribute("data-copy") == shown_key
