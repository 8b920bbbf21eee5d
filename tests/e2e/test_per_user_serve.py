"""Per-user identity as it is deployed: ``gateway localorg`` (the demo sales team, a JWT certificate) and
``gateway serve`` with ``GATEWAY_IDENTITY=per-user`` in front of it, two processes over real sockets.

Users bring their own local-org OAuth tokens (pass-through) or HTTP Basic credentials mapped to a local-org
user (JWT bearer grant); each gets the rows that SOQL run as them directly on the local org returns.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator

import pytest
import requests
from werkzeug.security import generate_password_hash

from tests.operation.test_server import clean_env, gateway_command
from tests.support import EAST, MANAGER, WEST, make_key_and_certificate, password_form, start_localorg


@pytest.fixture(scope="module")
def deployed(tmp_path_factory) -> Iterator[tuple[str, str]]:
    """(local org URL, gateway URL)."""
    folder = tmp_path_factory.mktemp("deployed")
    private_pem, certificate, _ = make_key_and_certificate()
    (folder / "app.key").write_bytes(private_pem)
    (folder / "app.crt").write_bytes(certificate)
    (folder / "users.map").write_text(f"alice = {EAST}\n")
    org, org_url, _ = start_localorg("--rows", "40", "--jwt-cert", str(folder / "app.crt"))
    env = clean_env(
        SF_INSTANCE_URL=org_url,
        SF_LOGIN_URL=org_url,
        SF_USERNAME="admin@localorg.test",
        SF_CLIENT_ID="localorg-client",
        SF_PRIVATE_KEY_FILE=str(folder / "app.key"),
        GATEWAY_IDENTITY="per-user",
        GATEWAY_USER_MAP=str(folder / "users.map"),
        GATEWAY_USERS="alice:" + generate_password_hash("pw", method="pbkdf2:sha256:1000"),
        GATEWAY_SECRET="deployed-per-user-secret-0123456789",
    )
    gateway = subprocess.Popen(
        [*gateway_command(), "serve", "--port", "0", "--dev"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        banner = ""
        for line in gateway.stderr:
            banner += line
            if re.search(r"serving http://\S+/odata/", line):
                break
        found = re.search(r"serving (http://\S+)/odata/", banner)
        assert found, banner
        yield org_url, found.group(1)
    finally:
        for process in (gateway, org):
            process.terminate()
            process.wait(timeout=20)


def token(org_url: str, username: str) -> str:
    response = requests.post(f"{org_url}/services/oauth2/token", data=password_form(username), timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def soql_ids(org_url: str, access_token: str) -> list[str]:
    response = requests.get(
        f"{org_url}/services/data/v59.0/query/",
        params={"q": "SELECT Id FROM Account ORDER BY Id"},
        headers={"Authorization": f"Bearer {access_token}"},
        timeout=10,
    )
    return [r["Id"] for r in response.json()["records"]]


def gateway_ids(gateway_url: str, **kwargs) -> list[str]:
    for _ in range(100):  # the server may still be starting
        try:
            response = requests.get(
                f"{gateway_url}/odata/Account",
                params={"$select": "Id", "$orderby": "Id"},
                timeout=10,
                **kwargs,
            )
            break
        except requests.ConnectionError:
            time.sleep(0.05)
    assert response.status_code == 200, response.text
    return [row["Id"] for row in response.json()["value"]]


def test_each_user_reads_their_own_slice_through_the_deployed_gateway(deployed):
    org_url, gateway_url = deployed
    slices = {}
    for username in (MANAGER, EAST, WEST):
        access_token = token(org_url, username)
        slices[username] = gateway_ids(gateway_url, headers={"Authorization": f"Bearer {access_token}"})
        assert slices[username] == soql_ids(org_url, access_token)
    assert set(slices[EAST]) < set(slices[MANAGER]) and not set(slices[WEST]) & set(slices[MANAGER])
    assert gateway_ids(gateway_url, auth=("alice", "pw")) == slices[EAST]
    refused = requests.get(
        f"{gateway_url}/odata/Account", headers={"Authorization": "Bearer nope"}, timeout=10
    )
    assert refused.status_code == 401 and 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
