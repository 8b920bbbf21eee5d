"""Delta links as deployed: ``gateway localorg`` and ``gateway serve`` (gunicorn) over real sockets, a
client with ``requests`` following the links exactly as returned — Salesforce Connect's ``$top=0`` start,
a change and a delete through the gateway, the poll in OData 4.01 form, and a second gateway process with
the same secret serving the next link."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator

import pytest
import requests

from tests.operation.test_server import clean_env, gateway_command
from tests.support import start_localorg

KEY = {"Authorization": "Bearer delta-key"}


def start_gateway(env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [*gateway_command(), "serve", "--port", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    banner = ""
    for line in process.stderr:
        banner += line
        if re.search(r"serving http://\S+/odata/", line):
            break
    found = re.search(r"serving (http://\S+/odata/)", banner)
    assert found, banner
    return process, found.group(1)


@pytest.fixture(scope="module")
def deployed() -> Iterator[tuple[dict, str]]:
    org, org_url, _ = start_localorg("--rows", "12", "--token", "delta-org-token")
    env = clean_env(
        SF_INSTANCE_URL=org_url,
        SF_ACCESS_TOKEN="delta-org-token",
        GATEWAY_API_KEYS="delta-key",
        GATEWAY_SECRET="deployed-delta-secret-0123456789",
    )
    gateway, root = start_gateway(env)
    try:
        yield env, root
    finally:
        for process in (gateway, org):
            process.terminate()
            process.wait(timeout=20)


def test_salesforce_connects_start_a_change_a_delete_and_a_poll_over_http(deployed):
    env, root = deployed
    http = requests.Session()
    http.headers.update(KEY)
    start = http.get(
        f"{root}Account",
        params={"$top": "0", "$count": "true", "$select": "Id,Name"},
        headers={"Prefer": "odata.track-changes", "OData-MaxVersion": "4.01"},
        timeout=20,
    )
    assert start.status_code == 200, start.text
    assert start.headers["Preference-Applied"] == "odata.track-changes"
    assert start.headers["OData-Version"] == "4.01"
    body = start.json()
    assert body["value"] == [] and body["@count"] == 12
    link = body["@deltaLink"]
    assert link.startswith(root + "Account?$deltatoken=")

    ids = [e["Id"] for e in http.get(f"{root}Account", params={"$select": "Id"}, timeout=20).json()["value"]]
    changed = http.patch(f"{root}Account('{ids[0]}')", json={"Name": "Changed over HTTP"}, timeout=20)
    assert changed.status_code in (200, 204), changed.text
    assert http.delete(f"{root}Account('{ids[1]}')", timeout=20).status_code == 204

    poll = http.get(link, headers={"OData-MaxVersion": "4.01"}, timeout=20)
    assert poll.status_code == 200, poll.text
    assert poll.headers["OData-Version"] == "4.01"
    delta = poll.json()
    assert delta["@context"].endswith("$metadata#Account(Id,Name)/$delta")
    assert {"@removed": {"reason": "deleted"}, "@id": f"Account('{ids[1]}')"} in delta["value"]
    [entity] = [e for e in delta["value"] if "@removed" not in e]
    assert (entity["@id"], entity["Name"]) == (f"Account('{ids[0]}')", "Changed over HTTP")

    # another gateway process with the same secret (a restart, a second instance) serves the next link
    second, second_root = start_gateway(env)
    try:
        following = delta["@deltaLink"].replace(root, second_root)
        again = requests.get(following, headers=KEY, timeout=20)
        assert again.status_code == 200, again.text
        assert again.json()["value"] == [] and again.headers["OData-Version"] == "4.0"
    finally:
        second.terminate()
        second.wait(timeout=20)
