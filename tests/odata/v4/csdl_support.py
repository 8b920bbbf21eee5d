"""The OASIS CSDL schemas and converter for tests: npm package ``odata-csdl``, installed into ``.cache/npm``.

``edmx.xsd``/``edm.xsd`` validate ``$metadata``; ``lib/xml2json.js`` is the reference CSDL XML → JSON
converter. Run ``python tests/odata/v4/csdl_support.py`` to install the package ahead of a test run.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[3]
CACHE = REPOSITORY / ".cache" / "npm"
PACKAGE = "odata-csdl@0.11"
PACKAGE_DIR = CACHE / "node_modules" / "odata-csdl"


class NpmMissing(RuntimeError):
    pass


def install_odata_csdl() -> Path:
    """The installed package folder (installing it on first use); NpmMissing when npm is not on PATH."""
    if (PACKAGE_DIR / "schemas" / "edmx.xsd").is_file() and (PACKAGE_DIR / "lib" / "xml2json.js").is_file():
        return PACKAGE_DIR
    npm = shutil.which("npm")
    if npm is None:
        raise NpmMissing("npm is not installed: cannot fetch the OASIS CSDL schemas (npm package odata-csdl)")
    CACHE.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [npm, "install", "--no-save", "--no-audit", "--no-fund", "--prefix", str(CACHE), PACKAGE],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode != 0 or not (PACKAGE_DIR / "schemas" / "edmx.xsd").is_file():
        raise RuntimeError(f"npm install {PACKAGE} failed:\n{result.stdout}\n{result.stderr}")
    return PACKAGE_DIR


def xsd_validator(package_dir: Path):
    """An lxml XMLSchema for edmx.xsd; its import of edm.xsd resolves to the file beside it (no network)."""
    from lxml import etree

    parser = etree.XMLParser(no_network=True)
    document = etree.parse(str(package_dir / "schemas" / "edmx.xsd"), parser)
    return etree.XMLSchema(document)


_XML2JSON = """
const csdl = require(process.argv[1]);
let xml = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (xml += chunk));
process.stdin.on("end", () => {
  const messages = [];
  const json = csdl.xml2json(xml, { messages });
  process.stdout.write(JSON.stringify({ json, messages: messages.map((m) => m.message) }));
});
"""


def xml2json(package_dir: Path, xml: str) -> tuple[dict, list[str]]:
    """CSDL JSON from the OASIS converter, and the warnings it reported."""
    node = shutil.which("node")
    if node is None:
        raise NpmMissing("node is not installed")
    result = subprocess.run(
        [node, "-e", _XML2JSON, str(package_dir / "lib" / "xml2json.js")],
        input=xml,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if result.returncode != 0:
        raise RuntimeError(f"odata-csdl xml2json failed:\n{result.stderr}")
    answer = json.loads(result.stdout)
    return answer["json"], answer["messages"]


if __name__ == "__main__":
    print(install_odata_csdl())
    sys.exit(0)
