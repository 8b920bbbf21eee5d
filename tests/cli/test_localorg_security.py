"""``gateway localorg`` with its security model: demo users listed and logging in, --security, --jwt-cert."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import jwt
import requests

from gateway.localorg.security import DEMO_SECURITY_PATH
from tests.cli.test_cli import localorg  # noqa: F401  (the fixture that starts and stops local orgs)
from tests.support import make_key_and_certificate

DEMO_USERS = (
    "admin@localorg.test",
    "manager@localorg.test",
    "rep.east@localorg.test",
    "rep.west@localorg.test",
)


def token(url: str, **form: str) -> requests.Response:
    return requests.post(f"{url}/services/oauth2/token", data=form, timeout=10)


def password_token(url: str, username: str) -> str:
    response = token(
        url,
        grant_type="password",
        username=username,
        password="localorg",
        client_id="localorg-client",
        client_secret="localorg-secret",
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def account_count(url: str, access_token: str) -> int:
    response = requests.get(
        f"{url}/services/data/v59.0/query/",
        params={"q": "SELECT COUNT() FROM Account"},
        headers={"Authorization": f"Bearer {access_token}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()["totalSize"]


def test_the_demo_org_lists_its_users_and_each_logs_in_as_themselves(localorg, tmp_path):  # noqa: F811
    private_pem, certificate, _ = make_key_and_certificate()
    cert_file = tmp_path / "localorg.crt"
    cert_file.write_bytes(certificate)
    url, lines = localorg("--rows", "40", "--jwt-cert", str(cert_file))

    printed = "\n".join(lines)
    for username in DEMO_USERS:
        assert username in printed
    counts = {u: account_count(url, password_token(url, u)) for u in DEMO_USERS}
    assert counts["admin@localorg.test"] == 40
    assert (
        counts["admin@localorg.test"] > counts["manager@localorg.test"] > counts["rep.east@localorg.test"] > 0
    )
    assert 0 < counts["rep.west@localorg.test"] < 40

    assertion = jwt.encode(
        {"iss": "localorg-client", "sub": "rep.east@localorg.test", "aud": url, "exp": 4102444800},
        private_pem,
        algorithm="RS256",
    )
    granted = token(url, grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer", assertion=assertion)
    assert granted.status_code == 200, granted.text
    assert account_count(url, granted.json()["access_token"]) == counts["rep.east@localorg.test"]


def test_security_option_loads_another_model(localorg, tmp_path):  # noqa: F811
    model = DEMO_SECURITY_PATH.read_text().replace('Account = "Private"', 'Account = "Public Read Only"')
    path = tmp_path / "model.toml"
    path.write_text(model)
    url, _ = localorg("--rows", "20", "--security", str(path))
    assert account_count(url, password_token(url, "rep.west@localorg.test")) == 20


def test_a_bad_security_file_stops_start_up_with_a_message(tmp_path):
    path = tmp_path / "model.toml"
    path.write_text('[defaults]\nAccount = "Secret"\n')
    gateway = Path(sys.executable).with_name("gateway")
    command = [str(gateway)] if gateway.exists() else [sys.executable, "-m", "gateway.cli"]
    done = subprocess.run(
        [*command, "localorg", "--port", "0", "--rows", "5", "--security", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "defaults.Account is 'Secret'" in done.stderr
    assert "Traceback" not in done.stderr
