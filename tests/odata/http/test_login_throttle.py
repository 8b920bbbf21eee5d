"""Issue 8, item 2: failed Basic logins cannot burn memory and CPU — password verifications are bounded per
process, a client whose logins keep failing gets 429 with Retry-After without any verification, and valid
users are not slowed (their verified credentials are remembered, another client is unaffected)."""

from __future__ import annotations

import base64
import secrets
import threading

import pytest
from werkzeug.security import generate_password_hash

from gateway.app import create_app
from gateway.odata.http.access import Access
from gateway.odata.http.login_throttle import MAX_CONCURRENT_VERIFICATIONS, MAX_FAILURES, LoginThrottle
from gateway.source.embedded import embedded_source

# a cheap hash keeps the test fast; the bounds do not depend on the hash's cost
FAST_HASH = generate_password_hash("s3cret", method="pbkdf2:sha256:20000")


def basic(user: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture()
def client():
    source, _ = embedded_source(2)
    app = create_app(source=source, environ={"GATEWAY_USERS": f"connect:{FAST_HASH}"}, host="0.0.0.0")
    return app.test_client(), app.extensions["odata_gateway"].access


def get(client, headers: dict, address: str = "203.0.113.7"):
    return client.get("/odata/Account?$top=1", headers=headers, environ_base={"REMOTE_ADDR": address})


def test_repeated_failures_from_one_client_get_429_with_retry_after_and_no_verification(client):
    client, access = client
    for _ in range(MAX_FAILURES):
        assert get(client, basic(secrets.token_hex(4), "wrong")).status_code == 401
    checks = access.password_checks

    refused = get(client, basic("connect", "wrong"))

    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert refused.get_json()["error"]["code"] == "TooManyRequests"
    assert access.password_checks == checks  # refused before any hash was computed


def test_valid_users_are_not_slowed_by_another_clients_failures(client):
    client, access = client
    assert get(client, basic("connect", "s3cret"), "198.51.100.1").status_code == 200  # verified once
    for _ in range(MAX_FAILURES + 2):
        get(client, basic("mallory", "guess"), "198.51.100.1")
    # the same client's valid credentials are remembered: no verification, no throttle
    assert get(client, basic("connect", "s3cret"), "198.51.100.1").status_code == 200
    # a valid user elsewhere logs in as usual
    assert get(client, basic("connect", "s3cret"), "192.0.2.55").status_code == 200


def test_a_success_clears_the_clients_failures():
    throttle = LoginThrottle(max_failures=3)
    for _ in range(2):
        throttle.failed("c")
    throttle.succeeded("c")
    for _ in range(2):
        throttle.failed("c")
    throttle.check("c")  # 2 failures since the success: below the limit


def test_failures_leave_the_window():
    now = [0.0]
    throttle = LoginThrottle(max_failures=2, window=60, clock=lambda: now[0])
    throttle.failed("c")
    throttle.failed("c")
    with pytest.raises(Exception) as refused:
        throttle.check("c")
    assert refused.value.status == 429 and refused.value.headers["Retry-After"] == "60"
    now[0] = 61
    throttle.check("c")


def test_concurrent_logins_with_random_users_run_a_bounded_number_of_verifications():
    access = Access({"connect": FAST_HASH}, [])
    barrier = threading.Barrier(40)
    outcomes: list[int] = []

    def login() -> None:
        barrier.wait()
        try:
            access.authenticate(basic(secrets.token_hex(6), "x"), client=None)
        except Exception as error:  # noqa: BLE001 - the status is what the test looks at
            outcomes.append(getattr(error, "status", 500))

    threads = [threading.Thread(target=login) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(set(outcomes)) == [401]
    assert 1 <= access.throttle.peak <= MAX_CONCURRENT_VERIFICATIONS
