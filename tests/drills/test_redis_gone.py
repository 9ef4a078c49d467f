"""Drill: Redis, the throttles' store, killed under load. Signing in answers 503 with
Retry-After (an attempt that cannot be counted is not let through); every signed-in page and the
wallet's APIs keep working; once Redis is back, signing in works again."""
from __future__ import annotations

import re
import time

from .conftest import DEMO_EMAIL, DEMO_PASSWORD, Browser, Load, report, request

SIGNED_IN_PATHS = ("/", "/api/balance", "/activity", "/api/activity", "/api/history?range=1w", "/gains",
                   "/api/gains", "/gains/report", "/security", "/api-keys")


def try_sign_in(base: str):
    page = request(base, "/login")
    assert page.status == 200, page
    token = re.search(rb'name="csrf_token" value="([^"]+)"', page.body).group(1).decode()
    cookie = "; ".join(line.split(";", 1)[0] for line in page.cookies)
    body = f"email={DEMO_EMAIL.replace('@', '%40')}&password={DEMO_PASSWORD}&csrf_token={token}".encode()
    started = time.monotonic()
    answer = request(base, "/login", method="POST", body=body, cookie=cookie,
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    return answer, time.monotonic() - started


def test_redis_gone(stage):
    base = stage.server.base
    browsers = [Browser(base) for _ in range(3)]
    assert try_sign_in(base)[0].status == 302
    with Load(browsers, paths=SIGNED_IN_PATHS) as load:
        time.sleep(1)
        killed = time.monotonic()
        stage.redis.kill()
        refused = [try_sign_in(base) for _ in range(3)]
        ready = [request(base, "/readyz") for _ in range(4)]
        # The switches' forms and the API's preferences write on: no throttle on them.
        switched = browsers[0].post_json("/api/preferences", {"hide_zero_balances": True})
        time.sleep(2)
        restarted = time.monotonic()
        stage.redis.start()
        back = None
        while back is None or back[0].status != 302:
            assert time.monotonic() - restarted < 30, back
            back = try_sign_in(base)
        signs_in_after = time.monotonic() - restarted
        time.sleep(0.5)
    samples = load.snapshot()
    outage = [sample for sample in samples if killed <= sample.started <= restarted]
    report("Redis gone", {
        "outage": f"{restarted - killed:.1f} s", "sign-in answered": f"{refused[0][0].status} in {max(took for _, took in refused):.2f} s",
        "Retry-After": refused[0][0].headers.get("retry-after"), "signed-in requests meanwhile": len(outage),
        "of them failed": sum(sample.answer.status != 200 for sample in outage),
        "sign-in works again after Redis's return": f"{signs_in_after:.2f} s",
    })
    for answer, _took in refused:
        assert answer.status == 503, answer
        assert answer.headers.get("retry-after", "").isdigit()
    assert {sample.path for sample in outage} == set(SIGNED_IN_PATHS)
    assert all(sample.answer.status == 200 for sample in samples), \
        sorted({(sample.path, sample.answer.status) for sample in samples if sample.answer.status != 200})
    assert switched.status == 200
    assert all(answer.status == 503 and answer.json()["checks"]["redis"]["ok"] is False for answer in ready), ready
    assert request(base, "/readyz").status == 200
