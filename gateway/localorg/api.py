"""The local org's REST API: ``create_app(config, store)`` builds the Flask app that speaks Salesforce's REST.

Every request under ``/services/data/<version>/`` passes the same gate, in Salesforce's order: a valid
session (else 401 INVALID_SESSION_ID, uncounted), the API limit (else 403 REQUEST_LIMIT_EXCEEDED, uncounted),
then it counts, then the version must exist (else 404 NOT_FOUND). With a security model
(``LocalOrgConfig.security``) the request then runs as the session's user (``access.start_acting``):
describes, queries, record reads and writes show and allow only what that user may. Paths work with or
without a trailing slash. Every failure answers in Salesforce's error shape; an unexpected exception becomes
500 UNKNOWN_EXCEPTION (logged), never a trace.
"""

from __future__ import annotations

import gzip
import json
import logging
import re
import secrets
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, request
from werkzeug.exceptions import (
    HTTPException,
    MethodNotAllowed,
    RequestHeaderFieldsTooLarge,
    RequestURITooLarge,
)

from gateway.soql.parser import SoqlSyntaxError, parse_soql
from gateway.soql.syntax import Field

from . import composite, engine, search
from .access import OrgSecurity, start_acting, stop_acting
from .accounting import LIMIT_INFO_HEADER, ApiAccounting
from .auth import Authority, Session, token_blueprint
from .config import LocalOrgConfig
from .cursors import CursorRegistry, locator_path
from .errors import SalesforceError, not_found
from .requestlog import RequestLog
from .schema import is_long_text
from .validation import json_token

log = logging.getLogger(__name__)

# API versions the org answers: 20.0 (Winter '11) up to 62.0 (Winter '25).
OLDEST_VERSION = 20
NEWEST_VERSION = 62
RELEASE_SEASONS = ("Winter", "Spring", "Summer")
DEFAULT_BATCH_SIZE = 2000
MIN_BATCH_SIZE = 200
MAX_BATCH_SIZE = 2000
LONG_TEXT_BATCH_SIZE = 200
MAX_BATCH_RECORDS = 200
COMPRESS_LEVEL = 1  # the fastest: a 200-row page shrinks 6x in 0.5 ms; level 6 gains 10 % in 2x the time
UPSERT_CREATED_FLAG_SINCE = 46  # upsert answers 200 {"created": false} on update from v46.0; 204 before
# Salesforce: "the maximum length for the combined URI and headers is 16,384 bytes"; a longer URI is 414,
# a longer URI and headers 431
MAX_REQUEST_HEAD_BYTES = 16_384

ORIGINAL_PATH_KEY = "localorg.original_path"
_DATA_PATH = re.compile(r"^/services/data/([^/]+)(?:/|$)")
_VERSION_SEGMENT = re.compile(r"^v(\d+)\.0$")


@dataclass
class LocalOrg:
    """Everything one running local org holds besides its routes."""

    config: LocalOrgConfig
    store: Any  # store.Store
    authority: Authority
    security: OrgSecurity | None
    accounting: ApiAccounting
    cursors: CursorRegistry
    request_log: RequestLog


def create_app(config: LocalOrgConfig, store: Any) -> Flask:
    """A Flask app serving ``store`` as a Salesforce org configured by ``config``."""
    app = Flask(__name__)
    app.wsgi_app = _TrailingSlashInsensitive(app.wsgi_app)
    app.json.sort_keys = False  # Salesforce's key order (totalSize, done, nextRecordsUrl, records)
    security = OrgSecurity(config.security, store) if config.security is not None else None
    org = LocalOrg(
        config=config,
        store=store,
        authority=Authority(config, security),
        security=security,
        accounting=ApiAccounting(config.api_limit),
        cursors=CursorRegistry(config.clock),
        request_log=RequestLog(config.request_log, config.clock),
    )
    app.extensions["localorg"] = org
    store.running_user_id = config.user_id
    app.register_blueprint(token_blueprint(org.authority, lambda user_id: _user_record(store, user_id)))
    app.register_blueprint(data_blueprint())
    app.before_request(_refuse_oversized_request_head)
    app.before_request(_gate)
    app.after_request(_finish)
    app.teardown_request(_stop_acting)
    app.register_error_handler(SalesforceError, _salesforce_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    return app


class _TrailingSlashInsensitive:
    """WSGI middleware: route ``/x/`` as ``/x`` (Salesforce accepts both); the log keeps the sent path."""

    def __init__(self, wsgi_app: Any):
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict, start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        environ[ORIGINAL_PATH_KEY] = path
        if len(path) > 1 and path.endswith("/"):
            environ["PATH_INFO"] = path.rstrip("/") or "/"
        return self.wsgi_app(environ, start_response)


def _org() -> LocalOrg:
    return current_app.extensions["localorg"]


# --- versions ---------------------------------------------------------------------------------------


def release_label(major: int) -> str:
    """The release name of an API version: 59 → "Winter '24" (three releases a year)."""
    offset = major - 59
    season = RELEASE_SEASONS[offset % 3]
    year = 24 + offset // 3
    return f"{season} '{year:02d}"


def versions() -> list[dict]:
    return [
        {"label": release_label(major), "url": f"/services/data/v{major}.0", "version": f"{major}.0"}
        for major in range(OLDEST_VERSION, NEWEST_VERSION + 1)
    ]


def _known_version(segment: str) -> str | None:
    match = _VERSION_SEGMENT.fullmatch(segment)
    if match and OLDEST_VERSION <= int(match.group(1)) <= NEWEST_VERSION:
        return f"{int(match.group(1))}.0"
    return None


# --- the gate and the finish of every request -------------------------------------------------------


def _request_uri_bytes(environ: dict) -> int:
    """The length of the request target as sent (percent-encoded path and query)."""
    path = environ.get(ORIGINAL_PATH_KEY, environ.get("PATH_INFO", ""))
    query = environ.get("QUERY_STRING", "")
    decoded = len(path.encode("latin-1", "replace")) + (len(query) + 1 if query else 0)
    return max(len(environ.get("RAW_URI") or ""), decoded)


def _refuse_oversized_request_head() -> None:
    """414 / 431 as Salesforce answers a URI (or URI and headers) over 16,384 bytes, in its error shape."""
    uri_bytes = _request_uri_bytes(request.environ)
    header_bytes = sum(len(k) + len(v) + 4 for k, v in request.headers.items())
    if uri_bytes > MAX_REQUEST_HEAD_BYTES:
        raise RequestURITooLarge(
            f"The request URI is {uri_bytes} bytes long; at most {MAX_REQUEST_HEAD_BYTES} are accepted. "
            "Send long queries in the body of a composite request."
        )
    if uri_bytes + header_bytes > MAX_REQUEST_HEAD_BYTES:
        raise RequestHeaderFieldsTooLarge(
            f"The request URI and headers are {uri_bytes + header_bytes} bytes long; at most "
            f"{MAX_REQUEST_HEAD_BYTES} are accepted."
        )


def _gate() -> None:
    g.soql = None
    g.rows = None
    g.authenticated = False
    g.api_usage = None  # this request's place in the API count, once counted
    match = _DATA_PATH.match(request.path)
    if not match:
        return
    org = _org()
    g.session = org.authority.session_for(request.headers.get("Authorization"))
    g.access = org.security.access_for(g.session.username) if org.security else None
    g.acting = start_acting(g.access)
    g.authenticated = True
    g.api_usage = org.accounting.count_request()
    version = _known_version(match.group(1))
    if version is None:
        raise not_found()
    g.api_version = version


def _stop_acting(_error: BaseException | None) -> None:
    acting = g.pop("acting", None)
    if acting is not None:
        stop_acting(acting)


def _user_record(store: Any, user_id: str) -> dict | None:
    """The User record of an Id (for userinfo), or None when the org has no such record."""
    try:
        return store.get("User", user_id)
    except SalesforceError:
        return None


def _finish(response: Response) -> Response:
    org = _org()
    if g.get("authenticated"):
        # The org's count as the response leaves (this request included), as Salesforce reports it, so
        # the header never goes backwards in the order responses are sent.
        response.headers[LIMIT_INFO_HEADER] = org.accounting.limit_info()
    try:
        org.request_log.write(
            method=request.method,
            path=request.environ.get(ORIGINAL_PATH_KEY, request.path),
            soql=g.get("soql"),
            status=response.status_code,
            rows=g.get("rows"),
            counted=g.get("api_usage") is not None,
            api_usage=g.get("api_usage"),
        )
    except OSError:
        log.exception("could not write the request log")
    return compress(response)


def compress(response: Response) -> Response:
    """The body gzip- or deflate-compressed when the request's ``Accept-Encoding`` allows it, as
    Salesforce's REST API answers (``Vary: Accept-Encoding``); otherwise as it is."""
    if response.direct_passthrough or response.is_streamed or "Content-Encoding" in response.headers:
        return response
    encoding = request.accept_encodings.best_match(("gzip", "deflate"))
    body = response.get_data()
    if encoding is None or not body:
        return response
    response.vary.add("Accept-Encoding")
    if encoding == "gzip":
        response.set_data(gzip.compress(body, COMPRESS_LEVEL, mtime=0))
    else:
        response.set_data(zlib.compress(body, COMPRESS_LEVEL))
    response.headers["Content-Encoding"] = encoding
    return response


def _json(body: Any, status: int = 200) -> Response:
    response = current_app.json.response(body)
    response.status_code = status
    return response


def _salesforce_error(error: SalesforceError) -> Response:
    return _json(error.body(), error.status)


def _http_error(error: HTTPException) -> Response:
    if isinstance(error, MethodNotAllowed):
        allowed = ",".join(sorted(error.valid_methods or []))
        message = f"HTTP Method '{request.method}' not allowed. Allowed are {allowed}"
        response = _json([{"errorCode": "METHOD_NOT_ALLOWED", "message": message}], 405)
        response.headers["Allow"] = allowed
        return response
    if error.code == 404:
        return _salesforce_error(not_found())
    code = (error.name or "ERROR").upper().replace(" ", "_")
    return _json([{"errorCode": code, "message": error.description or error.name}], error.code or 500)


def _unexpected_error(error: Exception) -> Response:
    error_id = f"{secrets.randbelow(10**9)}-{secrets.randbelow(10**5)} ({secrets.randbelow(10**9)})"
    log.exception("unexpected error %s on %s %s", error_id, request.method, request.path)
    message = f"An unexpected error occurred. Please include this ErrorId if you contact support: {error_id}"
    return _json([{"errorCode": "UNKNOWN_EXCEPTION", "message": message}], 500)


# --- request bodies ----------------------------------------------------------------------------------


def json_parser_error(message: str) -> SalesforceError:
    return SalesforceError(400, "JSON_PARSER_ERROR", message)


def request_json() -> Any:
    """The request body parsed as JSON; 400 JSON_PARSER_ERROR with Salesforce's wording when it is not."""
    data = request.get_data(cache=True)
    encoding = (request.headers.get("Content-Encoding") or "").lower()
    try:
        if encoding == "gzip":
            data = gzip.decompress(data)
        elif encoding == "deflate":
            data = zlib.decompress(data)
    except (OSError, zlib.error) as error:
        raise json_parser_error("Unable to decompress the request body") from error
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise json_parser_error("Invalid UTF-8 in the request body") from error
    if not text.strip():
        raise json_parser_error("No content to map due to end-of-input at [line:1, column:0]")
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        position = f"at [line:{error.lineno}, column:{error.colno}]"
        if error.pos >= len(text):
            raise json_parser_error(f"Unexpected end-of-input {position}") from error
        char = text[error.pos]
        raise json_parser_error(
            f"Unexpected character ('{char}' (code {ord(char)})): expected a valid value (number, String, "
            f"array, object, 'true', 'false' or 'null') {position}"
        ) from error


def request_record() -> dict:
    """The request body as one record's field values."""
    body = request_json()
    if not isinstance(body, dict):
        raise json_parser_error(
            f"Can not deserialize SObject out of {json_token(body)} token at [line:1, column:1]"
        )
    return body


# --- shapes ------------------------------------------------------------------------------------------


def _sobject_urls(name: str, version: str) -> dict:
    base = f"/services/data/v{version}/sobjects/{name}"
    return {
        "compactLayouts": f"{base}/describe/compactLayouts",
        "rowTemplate": f"{base}/{{ID}}",
        "defaultValues": f"{base}/defaultValues?recordTypeId&fields",
        "describe": f"{base}/describe",
        "sobject": base,
    }


_GLOBAL_KEYS = (
    "activateable",
    "createable",
    "custom",
    "customSetting",
    "deletable",
    "deprecatedAndHidden",
    "feedEnabled",
    "hasSubtypes",
    "isSubtype",
    "keyPrefix",
    "label",
    "labelPlural",
    "layoutable",
    "mergeable",
    "mruEnabled",
    "name",
    "queryable",
    "replicateable",
    "retrieveable",
    "searchable",
    "triggerable",
    "undeletable",
    "updateable",
)
_GLOBAL_DEFAULTS = {
    "activateable": False,
    "customSetting": False,
    "deprecatedAndHidden": False,
    "feedEnabled": False,
    "hasSubtypes": False,
    "isSubtype": False,
    "layoutable": True,
    "mergeable": False,
    "mruEnabled": True,
    "replicateable": True,
    "triggerable": True,
}


def global_entry(sobject: Any, version: str) -> dict:
    """An object's entry in the describe global list (and the ``objectDescribe`` of its basic info)."""
    describe = sobject.describe
    entry = {key: describe.get(key, _GLOBAL_DEFAULTS.get(key)) for key in _GLOBAL_KEYS}
    entry["urls"] = _sobject_urls(sobject.name, version)
    return entry


def full_describe(sobject: Any, version: str) -> dict:
    describe = {key: value for key, value in sobject.describe.items()}
    for key, default in _GLOBAL_DEFAULTS.items():
        describe.setdefault(key, default)
    describe["urls"] = {**_sobject_urls(sobject.name, version), **describe.get("urls", {})}
    return describe


def _schema() -> Any:
    """The schema as the running user sees it."""
    access = g.get("access")
    return access.schema if access is not None else _org().store.schema


def _sobject(name: str) -> Any:
    """The schema object named in the path, as the running user's describe shows it; 404 NOT_FOUND as
    Salesforce answers for unknown objects (and objects the user cannot read)."""
    sobject = _schema().get(name)
    if sobject is None:
        raise not_found()
    return sobject


def batch_size_from(header: str | None) -> int | None:
    """The batch size a ``Sforce-Query-Options`` header asks for, held within 200..2000; None if none.

    Salesforce treats batchSize as a preference: values outside the range are not an error; it answers
    with batches within its bounds (the minimum is 200, the default and maximum 2,000).
    """
    for option in (header or "").split(","):
        key, _, value = option.partition("=")
        if key.strip().lower() == "batchsize":
            try:
                requested = int(value.strip())
            except ValueError:
                return DEFAULT_BATCH_SIZE
            return max(MIN_BATCH_SIZE, min(MAX_BATCH_SIZE, requested))
    return None


# --- routes ------------------------------------------------------------------------------------------


def data_blueprint() -> Blueprint:
    bp = Blueprint("data", __name__, url_prefix="/services/data")

    @bp.get("")
    def version_list():
        return _json(versions())

    @bp.get("/<vtag>")
    def resources(vtag: str):
        base = f"/services/data/v{g.api_version}"
        names = ("tooling", "metadata", "eclair", "folders", "prechatForms", "chatter", "tabs", "appMenu")
        body = {name: f"{base}/{name}" for name in names}
        body.update(
            {
                "limits": f"{base}/limits",
                "sobjects": f"{base}/sobjects",
                "query": f"{base}/query",
                "queryAll": f"{base}/queryAll",
                "composite": f"{base}/composite",
                "search": f"{base}/search",
                "recent": f"{base}/recent",
            }
        )
        return _json(body)

    @bp.get("/<vtag>/limits")
    def limits(vtag: str):
        return _json(_org().accounting.limits())

    @bp.get("/<vtag>/sobjects")
    def describe_global(vtag: str):
        types = _schema().types
        return _json(
            {
                "encoding": "UTF-8",
                "maxBatchSize": MAX_BATCH_RECORDS,
                "sobjects": [global_entry(t, g.api_version) for t in types],
            }
        )

    @bp.get("/<vtag>/sobjects/<name>")
    def sobject_info(vtag: str, name: str):
        sobject = _sobject(name)
        return _json({"objectDescribe": global_entry(sobject, g.api_version), "recentItems": []})

    @bp.get("/<vtag>/sobjects/<name>/describe")
    def describe(vtag: str, name: str):
        return _json(full_describe(_sobject(name), g.api_version))

    @bp.post("/<vtag>/sobjects/<name>")
    def create(vtag: str, name: str):
        sobject = _sobject(name)
        values = request_record()
        record_id = _org().store.insert(sobject.name, values)
        return _json({"id": record_id, "success": True, "errors": []}, 201)

    @bp.get("/<vtag>/sobjects/<name>/<record_id>")
    def read(vtag: str, name: str, record_id: str):
        sobject = _sobject(name)
        return _record_response(sobject, _org().store.get(sobject.name, record_id, g.api_version))

    @bp.patch("/<vtag>/sobjects/<name>/<record_id>")
    def update(vtag: str, name: str, record_id: str):
        sobject = _sobject(name)
        values = request_record()
        _org().store.update(sobject.name, record_id, values)
        return Response(status=204)

    @bp.delete("/<vtag>/sobjects/<name>/<record_id>")
    def delete(vtag: str, name: str, record_id: str):
        sobject = _sobject(name)
        _org().store.delete(sobject.name, record_id)
        return Response(status=204)

    @bp.get("/<vtag>/sobjects/<name>/<field>/<path:value>")
    def read_by_external_id(vtag: str, name: str, field: str, value: str):
        sobject = _sobject(name)
        store = _org().store
        record_id, several = _unless_several(
            sobject.name, store.find_by_external_id, sobject.name, field, value
        )
        if several is not None:
            return several
        return _record_response(sobject, store.get(sobject.name, record_id, g.api_version))

    @bp.delete("/<vtag>/sobjects/<name>/<field>/<path:value>")
    def delete_by_external_id(vtag: str, name: str, field: str, value: str):
        sobject = _sobject(name)
        store = _org().store
        with store.lock:
            record_id, several = _unless_several(
                sobject.name, store.find_by_external_id, sobject.name, field, value
            )
            if several is not None:
                return several
            store.delete(sobject.name, record_id)
        return Response(status=204)

    @bp.patch("/<vtag>/sobjects/<name>/<field>/<path:value>")
    def upsert(vtag: str, name: str, field: str, value: str):
        sobject = _sobject(name)
        values = request_record()
        outcome, several = _unless_several(
            sobject.name, _org().store.upsert, sobject.name, field, value, values
        )
        if several is not None:
            return several
        record_id, created = outcome
        if created:
            return _json({"id": record_id, "success": True, "errors": [], "created": True}, 201)
        if int(g.api_version.split(".")[0]) < UPSERT_CREATED_FLAG_SINCE:
            return Response(status=204)
        return _json({"id": record_id, "success": True, "errors": [], "created": False}, 200)

    @bp.get("/<vtag>/query")
    def query(vtag: str):
        return _run_query("query")

    @bp.get("/<vtag>/queryAll")
    def query_all(vtag: str):
        return _run_query("queryAll")

    @bp.get("/<vtag>/search")
    def sosl_search(vtag: str):
        text = request.args.get("q")
        if text is None or not text.strip():
            raise SalesforceError(400, "MALFORMED_SEARCH", "A search string has to be specified")
        g.soql = text  # the request log keeps the search text beside queries'
        records = search.search(_org().store, text, api_version=g.api_version, access=g.get("access"))
        g.rows = len(records)
        return _json({"searchRecords": records})

    @bp.get("/<vtag>/query/<locator>")
    @bp.get("/<vtag>/queryAll/<locator>")
    def query_more(vtag: str, locator: str):
        org = _org()
        batch_size = batch_size_from(request.headers.get("Sforce-Query-Options"))
        with org.store.lock:
            cursor, records = org.cursors.fetch(_session().username, locator, batch_size)
        return _json(_query_body(cursor.result, records, cursor if not cursor.result.done else None))

    @bp.route("/<vtag>/composite/sobjects", methods=["POST", "PATCH", "DELETE"])
    def composite_sobjects(vtag: str):
        org = _org()
        if request.method == "DELETE":
            ids = [i for i in (request.args.get("ids") or "").split(",") if i]
            all_or_none = (request.args.get("allOrNone") or "false").lower() == "true"
            results = org.store.composite("delete", ids, all_or_none)
        else:
            body = request_json()
            if not isinstance(body, dict):
                raise json_parser_error(
                    f"Can not deserialize SObjectCollectionInput out of {json_token(body)} token "
                    "at [line:1, column:1]"
                )
            records = body.get("records") or []
            all_or_none = bool(body.get("allOrNone", False))
            method = "create" if request.method == "POST" else "update"
            results = org.store.composite(method, records, all_or_none)
        return _json(results)

    @bp.patch("/<vtag>/composite/sobjects/<name>/<field>")
    def composite_upsert(vtag: str, name: str, field: str):
        sobject = _sobject(name)
        return _json(composite.upsert_collection(_org().store, sobject.name, field, request_json()))

    @bp.post("/<vtag>/composite")
    def composite_request(vtag: str):
        return _json(composite.execute(_org().store, request_json()))

    return bp


def _unless_several(sobject_name: str, call: Callable[..., Any], *args: Any) -> tuple[Any, Response | None]:
    """``call(*args)`` and None, or None and the 300 answer listing the records' URLs when several
    records carry the external ID, as Salesforce answers."""
    try:
        return call(*args), None
    except SalesforceError as error:
        if error.status != 300:
            raise
        base = f"/services/data/v{g.api_version}/sobjects/{sobject_name}"
        return None, _json([f"{base}/{i}" for i in getattr(error, "matching_ids", [])], 300)


def _session() -> Session:
    return g.session


def _record_response(sobject: Any, record: dict) -> Response:
    """A record read by Id or external ID, as the running user may see it (``?fields=`` applied):
    404 NOT_FOUND for a record they cannot see, fields they cannot read left out."""
    access = g.get("access")
    if access is not None:
        access.check_visible(_org().store.sobject(sobject.name), record["Id"])
        record = {k: v for k, v in record.items() if k == "attributes" or sobject.field(k) is not None}
    fields = request.args.get("fields")
    if fields is not None:
        record = _only_fields(sobject, record, fields)
    g.rows = 1
    return _json(record)


def _only_fields(sobject: Any, record: dict, fields: str) -> dict:
    """The record cut down to ``?fields=a,b`` (and its attributes); unknown names are INVALID_FIELD."""
    selected: dict[str, Any] = {"attributes": record["attributes"]}
    for requested in (f.strip() for f in fields.split(",")):
        if not requested:
            continue
        field = sobject.field(requested)
        if field is None or field["name"] not in record:
            raise SalesforceError(
                400,
                "INVALID_FIELD",
                f"No such column '{requested}' on entity '{sobject.name}'. If you are attempting to use a "
                "custom field, be sure to append the '__c' after the custom field name. Please reference "
                "your WSDL or the describe call for the appropriate names.",
            )
        selected[field["name"]] = record[field["name"]]
    return selected


def _run_query(resource: str) -> Response:
    org = _org()
    soql = request.args.get("q")
    if soql is None or not soql.strip():
        raise SalesforceError(400, "MALFORMED_QUERY", "A query string has to be specified")
    g.soql = soql
    max_batch_size = _max_batch_size(org.store.schema, soql)
    batch_size = batch_size_from(request.headers.get("Sforce-Query-Options")) or DEFAULT_BATCH_SIZE
    batch_size = min(batch_size, max_batch_size)
    with org.store.lock:
        result = engine.execute(
            org.store,
            soql,
            include_deleted=resource == "queryAll",
            api_version=g.api_version,
            access=g.get("access"),
        )
        records = result.next_batch(batch_size)
    cursor = None
    if not result.done:
        cursor = org.cursors.open(
            _session().username, result, resource, len(records), batch_size, max_batch_size
        )
    return _json(_query_body(result, records, cursor))


def _max_batch_size(schema: Any, soql: str) -> int:
    """2,000, or 200 when the query selects two or more custom long text fields (Salesforce's cap)."""
    try:
        query = parse_soql(soql)
    except (SoqlSyntaxError, RecursionError):
        return MAX_BATCH_SIZE  # the engine reports it
    sobject = schema.get(query.sobject)
    if sobject is None:
        return MAX_BATCH_SIZE
    long_text = 0
    for item in query.select:
        field = sobject.field(item.path[0]) if isinstance(item, Field) and len(item.path) == 1 else None
        if field is not None and field["custom"] and is_long_text(field):
            long_text += 1
    return LONG_TEXT_BATCH_SIZE if long_text >= 2 else MAX_BATCH_SIZE


def _query_body(result: Any, records: list[dict], cursor: Any) -> dict:
    g.rows = len(records)
    body: dict[str, Any] = {"totalSize": result.total_size, "done": cursor is None}
    if cursor is not None:
        body["nextRecordsUrl"] = locator_path(cursor, g.api_version)
    body["records"] = records
    return body
