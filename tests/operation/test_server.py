"""``gateway serve`` as an operator runs it: a real gunicorn in a subprocess, real sockets.

It serves under gunicorn with a JSON request log on stdout, holds concurrent requests while ten clients
send their headers slowly, refuses the demo off loopback unless asked for, and ``wsgi.py`` refuses to
start without SF_* or GATEWAY_DEMO=1.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.operation.redis_server import redis_url  # noqa: F401  (the session fixture)
from tests.support import REPOSITORY


def gateway_command() -> list[str]:
    script = Path(sys.executable).with_name("gateway")
    return [str(script)] if script.exists() else [sys.executable, "-m", "gateway.cli"]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SF_", "GATEWAY_"))}
    return {**env, "PYTHONUNBUFFERED": "1", **extra}


class Served:
    def __init__(self, process: subprocess.Popen, url: str, stdout, stderr: str):
        self.process, self.url, self.stdout, self.stderr = process, url, stdout, stderr

    def log_lines(self) -> list[dict]:
        self.stdout.seek(0)
        return [json.loads(line) for line in self.stdout.read().splitlines() if line.startswith("{")]


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    """``gateway serve --port 0`` on loopback with no SF_*: the demo org, anonymous, under gunicorn."""
    stdout = tempfile.TemporaryFile(mode="w+")
    process = subprocess.Popen(
        [*gateway_command(), "serve", "--port", "0", "--rows", "40"],
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )
    lines = []
    url = None
    deadline = time.monotonic() + 60
    for line in process.stderr:
        lines.append(line)
        found = re.search(r"OData gateway serving (http://\S+)", line)
        if found:
            url = found.group(1)
        if "server: gunicorn" in line or time.monotonic() > deadline:
            break
    assert url, "".join(lines)
    base = url.removesuffix("/odata/")
    for _ in range(100):  # gunicorn's worker boots after the banner
        try:
            if requests.get(base + "/health", timeout=1).status_code == 200:
                break
        except requests.ConnectionError:
            time.sleep(0.05)
    yield Served(process, base, stdout, "".join(lines))
    process.terminate()
    process.wait(timeout=20)
    process.stderr.close()


def test_serves_the_demo_under_gunicorn_and_says_so(served: Served) -> None:
    assert "embedded DEMO org" in served.stderr and "anonymous" in served.stderr
    answer = requests.get(served.url + "/odata/Account?$top=2", timeout=10)
    assert answer.status_code == 200 and answer.headers["Server"].startswith("gunicorn")
    assert len(answer.json()["value"]) == 2
    request_id = answer.headers["X-Request-Id"]
    time.sleep(0.2)
    line = next(line for line in served.log_lines() if line["request_id"] == request_id)
    assert line["status"] == 200 and line["api_calls"] == 1 and line["soql"] and line["rows"] == 2


def test_ten_slow_header_clients_do_not_starve_twenty_concurrent_requests(served: Served) -> None:
    host, port = served.url.removeprefix("http://").rsplit(":", 1)
    slow = []
    for _ in range(10):
        sock = socket.create_connection((host, int(port)), timeout=5)
        sock.sendall(b"GET /odata/Account HTTP/1.1\r\nHost: x\r\n")  # headers never finished
        slow.append(sock)
    try:
        started = time.monotonic()
        with ThreadPoolExecutor(20) as pool:
            statuses = list(
                pool.map(
                    lambda i: (
                        requests.get(served.url + f"/odata/Contact?$top={i + 1}", timeout=10).status_code
                    ),
                    range(20),
                )
            )
        assert statuses == [200] * 20
        assert time.monotonic() - started < 10
    finally:
        for sock in slow:
            sock.close()


def test_demo_off_loopback_needs_the_demo_flag() -> None:
    refused = subprocess.run(
        [*gateway_command(), "serve", "--host", "0.0.0.0", "--port", "0", "--rows", "5"],
        capture_output=True,
        text=True,
        env=clean_env(GATEWAY_API_KEYS="k"),
        timeout=60,
    )
    assert refused.returncode == 2
    assert "SF_*" in refused.stderr and "GATEWAY_DEMO=1" in refused.stderr


def test_wsgi_py_refuses_to_start_without_a_source_or_the_demo_flag() -> None:
    refused = subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        env=clean_env(GATEWAY_API_KEYS="k"),
        timeout=60,
    )
    assert refused.returncode == 2
    assert "SF_*" in refused.stderr and "GATEWAY_DEMO=1" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_two_workers_share_one_rate_limit_through_redis_and_one_set_of_metrics(redis_url: str) -> None:  # noqa: F811
    """Several worker processes behind one socket: the rate limit holds across them through Redis, and the
    metrics across them through prometheus-client's multiprocess files."""
    org = subprocess.Popen(
        [*gateway_command(), "localorg", "--port", "0", "--rows", "5", "--token", "srv-token"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=clean_env(),
    )
    gateway = None
    try:
        org_url = next(line.split()[-1] for line in org.stdout if line.startswith("Local org listening on"))
        env = clean_env(
            SF_INSTANCE_URL=org_url,
            SF_ACCESS_TOKEN="srv-token",
            GATEWAY_API_KEYS="srv-key",
            GATEWAY_SECRET="s" * 32,
            GATEWAY_REDIS_URL=redis_url,
            GATEWAY_RATE_LIMIT="4/minute",
        )
        gateway = subprocess.Popen(
            [*gateway_command(), "serve", "--port", "0", "--workers", "2", "--threads", "4"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        banner = ""
        for line in gateway.stderr:
            banner += line
            if "server: gunicorn" in line:
                break
        assert "2 worker(s)" in banner, banner
        base = re.search(r"serving (http://\S+)/odata/", banner).group(1)
        for _ in range(200):
            try:
                requests.get(base + "/health", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        session_statuses = []
        for _ in range(8):  # new connections, so both workers answer some
            answer = requests.get(
                base + "/odata/Account?$top=1",
                headers={"Authorization": "Bearer srv-key", "Connection": "close"},
            )
            session_statuses.append(answer.status_code)
        assert sorted(session_statuses) == [200] * 4 + [429] * 4
        # Whichever worker answers the scrape, it counts the requests of both.
        for _ in range(4):
            text = requests.get(
                base + "/metrics", headers={"Authorization": "Bearer srv-key", "Connection": "close"}
            ).text
            assert 'gateway_requests_total{entity_set="Account",method="GET",status="200"} 4.0' in text
            assert 'gateway_requests_total{entity_set="Account",method="GET",status="429"} 4.0' in text
    finally:
        for process in (gateway, org):
            if process is not None:
                process.terminate()
                process.wait(timeout=20)
