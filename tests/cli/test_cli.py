"""``gateway localorg``: starts, prints its URL and credentials, answers, and honours its options."""

from __future__ import annotations

import json
import os
import runpy
import subprocess

import pytest
import requests

from gateway import cli
from gateway.localorg import ids
from gateway.source.connection import SourceConnection
from tests.support import REPOSITORY, start_localorg

TOKEN = "cli-test-token"


@pytest.fixture()
def localorg():
    """Start local orgs for a test and stop them after it."""
    processes: list[subprocess.Popen] = []

    def start(*args: str) -> tuple[str, list[str]]:
        process, url, lines = start_localorg(*args)
        processes.append(process)
        return url, lines

    def stop_all() -> None:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)
        processes.clear()

    start.stop_all = stop_all
    yield start
    stop_all()


def exported(lines: list[str]) -> dict[str, str]:
    """The ``export NAME=value`` lines as an environment."""
    pairs = [line.strip().removeprefix("export ").split("=", 1) for line in lines if "export SF_" in line]
    return dict(pairs)


def count(url: str, sobject: str, token: str) -> requests.Response:
    return requests.get(
        f"{url}/services/data/v59.0/query/",
        params={"q": f"SELECT COUNT() FROM {sobject}"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def test_prints_url_and_credentials_that_work(localorg):
    url, lines = localorg("--rows", "20")
    assert url.startswith("http://127.0.0.1:") and int(url.rsplit(":", 1)[1]) > 0
    text = "\n".join(lines)
    for expected in ("admin@localorg.test", "localorg-client", "localorg-secret", "20 Accounts"):
        assert expected in text
    environ = exported(lines)
    assert environ == {
        "SF_INSTANCE_URL": url,
        "SF_LOGIN_URL": url,
        "SF_USERNAME": "admin@localorg.test",
        "SF_PASSWORD": "localorg",
        "SF_CLIENT_ID": "localorg-client",
        "SF_CLIENT_SECRET": "localorg-secret",
    }
    conn = SourceConnection.from_env(environ)
    assert conn.query("SELECT COUNT() FROM Account")["totalSize"] == 20
    assert conn.query("SELECT COUNT() FROM Contact")["totalSize"] == 60
    assert count(url, "Account", "no-such-token").status_code == 401


def test_token_api_limit_and_request_log(localorg, tmp_path):
    log = tmp_path / "requests.jsonl"
    url, lines = localorg("--rows", "10", "--token", TOKEN, "--api-limit", "2", "--request-log", str(log))
    assert f"export SF_ACCESS_TOKEN={TOKEN}" in [line.strip() for line in lines]
    first = count(url, "Account", TOKEN)
    assert (first.status_code, first.json()["totalSize"]) == (200, 10)
    assert first.headers["Sforce-Limit-Info"] == "api-usage=1/2"
    assert count(url, "Contact", TOKEN).headers["Sforce-Limit-Info"] == "api-usage=2/2"
    refused = count(url, "Account", TOKEN)
    assert refused.status_code == 403
    assert refused.json() == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(e["method"], e["path"], e["soql"], e["status"]) for e in entries] == [
        ("GET", "/services/data/v59.0/query/", "SELECT COUNT() FROM Account", 200),
        ("GET", "/services/data/v59.0/query/", "SELECT COUNT() FROM Contact", 200),
        ("GET", "/services/data/v59.0/query/", None, 403),  # refused before it ran
    ]
    assert all("time" in e for e in entries)


WIDGET_DESCRIBE = [
    {
        "name": "Widget__c",
        "label": "Widget",
        "custom": True,
        "keyPrefix": "a05",
        "fields": [
            {"name": "Name", "type": "string", "length": 80, "nillable": False},
            {"name": "Size__c", "type": "double", "precision": 18, "scale": 2, "custom": True},
            {
                "name": "Color__c",
                "type": "picklist",
                "custom": True,
                "picklistValues": [{"value": "Red", "label": "Red"}, {"value": "Blue", "label": "Blue"}],
            },
        ],
    }
]


def test_schema_and_data_files(localorg, tmp_path):
    schema_file = tmp_path / "describe.json"
    schema_file.write_text(json.dumps(WIDGET_DESCRIBE))
    data_file = tmp_path / "data.json"
    widgets = [
        {"Id": ids.make_id("a05", 1), "Name": "Sprocket", "Size__c": 2.5, "Color__c": "Red"},
        {"Id": ids.make_id("a05", 2), "Name": "Cog", "Size__c": None, "Color__c": "Blue"},
    ]
    data_file.write_text(json.dumps({"Widget__c": widgets}))
    url, _ = localorg("--schema", str(schema_file), "--data", str(data_file), "--token", TOKEN)
    conn = SourceConnection.from_env({"SF_INSTANCE_URL": url, "SF_ACCESS_TOKEN": TOKEN})
    result = conn.query("SELECT Id, Name, Size__c, Color__c FROM Widget__c ORDER BY Name")
    assert [(r["Id"], r["Name"], r["Size__c"], r["Color__c"]) for r in result["records"]] == [
        (ids.make_id("a05", 2), "Cog", None, "Blue"),
        (ids.make_id("a05", 1), "Sprocket", 2.5, "Red"),
    ]
    assert [entry["name"] for entry in conn.describe_global()["sobjects"]] == ["Widget__c"]


def test_db_file_keeps_its_data_across_runs(localorg, tmp_path):
    db = tmp_path / "org.db"
    url, lines = localorg("--rows", "5", "--db", str(db), "--token", TOKEN)
    conn = SourceConnection.from_env({"SF_INSTANCE_URL": url, "SF_ACCESS_TOKEN": TOKEN})
    created = conn.create("Account", {"Name": "Survives a restart"})
    localorg.stop_all()

    url, lines = localorg("--rows", "50", "--db", str(db), "--token", TOKEN)
    assert any("existing data" in line for line in lines)
    conn = SourceConnection.from_env({"SF_INSTANCE_URL": url, "SF_ACCESS_TOKEN": TOKEN})
    assert conn.query("SELECT COUNT() FROM Account")["totalSize"] == 6
    assert conn.get("Account", created["id"])["Name"] == "Survives a restart"


def test_options_and_their_defaults():
    args = cli.build_parser().parse_args(["localorg"])
    assert (args.host, args.port, args.rows, args.schema, args.data, args.db) == (
        "127.0.0.1",
        8500,
        1000,
        None,
        None,
        None,
    )
    assert (args.request_log, args.api_limit, args.token) == (None, None, None)
    args = cli.build_parser().parse_args(
        ["localorg", "--host", "0.0.0.0", "--port", "9", "--rows", "7", "--api-limit", "3", "--token", "T"]
    )
    assert (args.host, args.port, args.rows, args.api_limit, args.token) == ("0.0.0.0", 9, 7, 3, "T")


def test_a_subcommand_is_one_registered_function(capsys):
    seen = []
    cli.register(
        "echo-test", "test command", lambda p: p.add_argument("word"), lambda a: seen.append(a.word) or 3
    )
    try:
        assert cli.main(["echo-test", "hello"]) == 3
        assert seen == ["hello"]
    finally:
        del cli.COMMANDS["echo-test"]
    with pytest.raises(SystemExit) as no_command:
        cli.main([])
    assert no_command.value.code == 2
    assert "localorg" in capsys.readouterr().err


def test_localorg_from_env_is_configured_by_localorg_variables(tmp_path):
    log = tmp_path / "wsgi.jsonl"
    environ = {
        "LOCALORG_ROWS": "7",
        "LOCALORG_TOKEN": TOKEN,
        "LOCALORG_API_LIMIT": "50",
        "LOCALORG_REQUEST_LOG": str(log),
    }
    app = cli.localorg_from_env(environ).app
    conn = SourceConnection.in_process(app, TOKEN)
    assert conn.query("SELECT COUNT() FROM Account")["totalSize"] == 7
    assert conn.api_usage == (1, 50)
    assert json.loads(log.read_text())["soql"] == "SELECT COUNT() FROM Account"


def test_wsgi_app_is_the_gateway_and_requires_credentials_off_loopback(monkeypatch):
    for name in [n for n in os.environ if n.startswith("SF_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("GATEWAY_API_KEYS", "wsgi-key")
    monkeypatch.setenv("GATEWAY_DEMO", "1")  # without it (and no SF_*), wsgi.py refuses to start
    app = runpy.run_path(str(REPOSITORY / "wsgi.py"))["app"]
    client = app.test_client()
    assert client.get("/odata/").status_code == 401
    answer = client.get("/odata/Account?$top=2", headers={"Authorization": "Bearer wsgi-key"})
    assert answer.status_code == 200
    assert len(answer.get_json()["value"]) == 2
