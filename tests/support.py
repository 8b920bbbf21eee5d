"""What several test folders share: repository paths, a tiny describe-JSON schema, the gateway on the
embedded demo org, a local org process started by the real command, a JWT signing key with its certificate,
and the demo org's users (with a password-grant login against a local org's Flask test client).

Fixtures built on these live in ``tests/conftest.py``; helpers that belong to one folder live there
(``tests/odata/read/model_fixture.py``, ``tests/odata/v4/csdl_support.py``).
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

REPOSITORY = Path(__file__).resolve().parent.parent
DEMO_METADATA = REPOSITORY / "metadata"

# The demo org's sales team (gateway/localorg/data/demo_security.toml); every password is "localorg".
ADMIN, MANAGER, EAST, WEST = (
    "admin@localorg.test",
    "manager@localorg.test",
    "rep.east@localorg.test",
    "rep.west@localorg.test",
)


def embedded_gateway(rows: int) -> tuple[Any, Any, Any]:
    """(the gateway app, its source, the local org store) on the embedded demo org of ``rows`` Accounts,
    open to anonymous requests as ``gateway serve`` on 127.0.0.1 serves it."""
    from gateway.app import create_app
    from gateway.source.embedded import embedded_source

    source, store = embedded_source(rows)
    return create_app(source=source, environ={}, host="127.0.0.1", embedded=True), source, store


def password_form(username: str, password: str = "localorg") -> dict[str, str]:
    """The OAuth password grant's form for a local org user (the demo connected app)."""
    return {
        "grant_type": "password",
        "username": username,
        "password": password,
        "client_id": "localorg-client",
        "client_secret": "localorg-secret",
    }


def login(client, username: str, password: str = "localorg") -> str:
    """An access token of ``username`` from the OAuth password grant of a local org's test client."""
    response = client.post("/services/oauth2/token", data=password_form(username, password))
    assert response.status_code == 200, response.get_json()
    return response.get_json()["access_token"]


def tiny_describes() -> list[dict]:
    """A few describes with as few keys as a saved schema may have; Salesforce's defaults fill the rest."""
    return [
        {
            "name": "Account",
            "fields": [
                {"name": "Name", "type": "string", "nillable": False},
                {"name": "AnnualRevenue", "type": "currency"},
                {"name": "NumberOfEmployees", "type": "int"},
                {"name": "Description", "type": "textarea", "length": 32000},
                {
                    "name": "Industry",
                    "type": "picklist",
                    "picklistValues": ["Banking", "Energy", "Retail"],
                },
                {"name": "Ext_Id__c", "type": "string", "length": 20, "externalId": True},
                {"name": "ParentId", "type": "reference", "referenceTo": ["Account"]},
            ],
        },
        {
            "name": "Contact",
            "fields": [
                {"name": "FirstName", "type": "string", "length": 40},
                {"name": "LastName", "type": "string", "length": 80, "nillable": False},
                {"name": "AccountId", "type": "reference", "referenceTo": ["Account"]},
                {"name": "Email", "type": "email"},
                {"name": "Birthdate", "type": "date"},
                {"name": "DoNotCall", "type": "boolean"},
            ],
        },
        {
            "name": "Widget__c",
            "label": "Widget",
            "fields": [
                {"name": "Name", "type": "string", "length": 80},
                {"name": "Account__c", "type": "reference", "referenceTo": ["Account"]},
                {"name": "Weight__c", "type": "double", "precision": 8, "scale": 2},
                {"name": "Ratio__c", "type": "percent"},
                {"name": "Due__c", "type": "datetime"},
                {"name": "Active__c", "type": "boolean"},
                {
                    "name": "Status__c",
                    "type": "picklist",
                    "restrictedPicklist": True,
                    "picklistValues": [
                        {"value": "New"},
                        {"value": "Done"},
                        {"value": "Old", "active": False},
                    ],
                },
                {
                    "name": "Colors__c",
                    "type": "multipicklist",
                    "restrictedPicklist": True,
                    "picklistValues": ["Red", "Green", "Blue"],
                },
                {"name": "Code__c", "type": "string", "length": 10, "externalId": True},
                {"name": "Formula__c", "type": "string", "calculated": True},
            ],
        },
    ]


def start_localorg(*args: str) -> tuple[subprocess.Popen, str, list[str]]:
    """Start ``gateway localorg --port 0 ARGS``; return the process, its URL and what it printed."""
    gateway = Path(sys.executable).with_name("gateway")
    command = [str(gateway)] if gateway.exists() else [sys.executable, "-m", "gateway.cli"]
    errors = tempfile.TemporaryFile(mode="w+")  # a file, not a pipe: the request log to stderr never blocks
    process = subprocess.Popen(
        [*command, "localorg", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=errors,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines: list[str] = []
    for line in process.stdout:
        lines.append(line.rstrip("\n"))
        if line.startswith("Press Ctrl+C"):
            break
    else:
        errors.seek(0)
        raise AssertionError(f"gateway localorg exited ({process.wait()}): {lines} {errors.read()[-2000:]}")
    url = next(line.split()[-1] for line in lines if line.startswith("Local org listening on"))
    return process, url, lines


def make_key_and_certificate() -> tuple[bytes, bytes, bytes]:
    """A fresh RSA private key (PEM), its self-signed certificate (PEM) and its public key (PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localorg test")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_pem, certificate.public_bytes(serialization.Encoding.PEM), public_pem
