"""A real ``redis-server`` for the tests: found on PATH, else installed with apt-get (as root, which the
project's machines and CI are), then started on a free loopback port for the test session.

Where it can be neither found nor installed the tests that need it are skipped with a message that says
why; everything else runs.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator

import pytest

APT_ENV = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}


def redis_server_binary() -> tuple[str | None, str]:
    """The path of ``redis-server`` (installing it when possible), or None and the reason."""
    found = shutil.which("redis-server")
    if found:
        return found, ""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return None, "redis-server is not installed and apt-get cannot install it here (not root, or no apt)"
    lock = ["-o", "DPkg::Lock::Timeout=300"]
    for command in (
        ["apt-get", *lock, "update", "-qq"],
        ["apt-get", *lock, "install", "-y", "-qq", "--no-install-recommends", "redis-server"],
    ):
        done = subprocess.run(command, env=APT_ENV, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            return None, f"installing redis-server failed: {' '.join(command)}: {done.stderr.strip()[-300:]}"
    found = shutil.which("redis-server")
    if found is None and os.path.exists("/usr/bin/redis-server"):  # PATH without /usr/bin
        found = "/usr/bin/redis-server"
    return found, "" if found else "apt-get installed redis-server but no binary was found"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """``redis://127.0.0.1:<port>/0`` of a redis-server started for this test session."""
    binary, reason = redis_server_binary()
    if binary is None:
        pytest.skip(f"Redis-backed tests skipped: {reason}")
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="gateway-redis-")
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", workdir],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.skip(f"Redis-backed tests skipped: redis-server did not start on port {port}")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)
