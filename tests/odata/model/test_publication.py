"""Publication files: loading, defaults, mistakes reported with file and line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from gateway.odata.model.builder import build_model
from gateway.odata.model.publication import ALL, PublicationError, load_publication
from gateway.source.embedded import embedded_describe
from tests.support import DEMO_METADATA


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def load_error(path: Path) -> PublicationError:
    with pytest.raises(PublicationError) as caught:
        load_publication(path)
    return caught.value


# ----- good files ---------------------------------------------------------------------------------


def test_demo_publication_loads_every_demo_object():
    publication = load_publication(DEMO_METADATA)
    specs = {s.name: s for s in publication.entity_sets}
    assert list(specs) == ["User", "Account", "Contact", "Opportunity", "Case", "Project__c"]
    assert publication.files == (str(DEMO_METADATA / "demo.toml"),)
    user = specs["User"]
    assert (user.writable, user.insertable, user.updatable, user.deletable) == ((), False, False, False)
    assert "Email" not in user.fields
    account = specs["Account"]
    assert account.writable == ALL and account.external_ids == ("External_Id__c",)
    assert (account.insertable, account.updatable, account.deletable) == (True, True, True)
    assert "Sic" not in account.fields
    assert "MobilePhone" not in specs["Contact"].fields
    assert "OwnerId" in specs["Contact"].fields and "OwnerId" not in specs["Contact"].writable
    assert specs["Project__c"].fields == ALL


def test_defaults_of_a_minimal_entity_set(tmp_path):
    path = write(tmp_path, "one.toml", '[[entity_set]]\nsobject = "Account"\n')
    (spec,) = load_publication(path).entity_sets
    assert (spec.name, spec.sobject, spec.fields, spec.writable, spec.external_ids) == (
        "Account",
        "Account",
        ALL,
        (),
        (),
    )
    assert (spec.insertable, spec.updatable, spec.deletable) == (False, False, False)
    assert (spec.file, spec.line) == (str(path), 1)


def test_writable_fields_make_insert_and_update_the_default_and_flags_override(tmp_path):
    path = write(
        tmp_path,
        "p.toml",
        """
        [[entity_set]]
        sobject = "Account"
        writable = ["Name"]

        [[entity_set]]
        name = "Contacts"
        sobject = "Contact"
        writable = "*"
        updatable = false
        deletable = true
        """,
    )
    account, contacts = load_publication(path).entity_sets
    assert (account.insertable, account.updatable, account.deletable) == (True, True, False)
    assert contacts.name == "Contacts" and contacts.writable == ALL
    assert (contacts.insertable, contacts.updatable, contacts.deletable) == (True, False, True)


def test_a_folder_is_all_its_toml_files_in_name_order(tmp_path):
    write(tmp_path, "b.toml", '[[entity_set]]\nsobject = "Contact"\n')
    write(tmp_path, "a.toml", '[[entity_set]]\nsobject = "Account"\n')
    write(tmp_path, "notes.md", "not a publication [[")
    publication = load_publication(tmp_path)
    assert [s.name for s in publication.entity_sets] == ["Account", "Contact"]
    assert publication.files == (str(tmp_path / "a.toml"), str(tmp_path / "b.toml"))


# ----- bad files: each names the file, the line and the problem ------------------------------------

BAD_FILES = [
    (
        "syntax",
        '[[entity_set]]\nsobject = "Account"\nfields = ["Name",, "Industry"]\n',
        3,
        "TOML syntax error",
    ),
    ("unclosed list", '[[entity_set]]\nsobject = "Account"\nfields = ["Name",\n', 3, "TOML syntax error"),
    (
        "unknown top-level key",
        'version = 2\n[[entity_set]]\nsobject = "Account"\n',
        1,
        "unknown key 'version'",
    ),
    (
        "unknown key",
        '[[entity_set]]\nsobject = "Account"\n\n[[entity_set]]\nsobject = "Contact"\nfeilds = ["Name"]\n',
        6,
        "unknown key 'feilds' in [[entity_set]]",
    ),
    (
        "missing sobject",
        '[[entity_set]]\nsobject = "Account"\n[[entity_set]]\nname = "X"\n',
        3,
        "needs sobject",
    ),
    ("sobject not a string", "[[entity_set]]\nsobject = 42\n", 2, "sobject must be a Salesforce object name"),
    (
        "bad name",
        '[[entity_set]]\nsobject = "Account"\nname = "1st accounts"\n',
        3,
        "name must be an identifier",
    ),
    (
        "fields not a list",
        '[[entity_set]]\nsobject = "Account"\nfields = "Name"\n',
        3,
        "fields must be a list",
    ),
    (
        "field not a string",
        '[[entity_set]]\nsobject = "Account"\nwritable = ["Name", 3]\n',
        3,
        "3 is not a field name",
    ),
    ("field listed twice", '[[entity_set]]\nsobject = "Account"\nfields = ["Name", "name"]\n', 3, "twice"),
    (
        "external_ids star",
        '[[entity_set]]\nsobject = "Account"\nexternal_ids = "*"\n',
        3,
        "external_ids must be",
    ),
    (
        "flag not a bool",
        '[[entity_set]]\nsobject = "Account"\ndeletable = "yes"\n',
        3,
        "deletable must be true",
    ),
    (
        "duplicate name",
        '[[entity_set]]\nsobject = "Account"\n\n[[entity_set]]\nsobject = "Contact"\nname = "account"\n',
        6,
        "duplicate entity set name 'account'",
    ),
    (
        "same sobject twice",
        '[[entity_set]]\nsobject = "Account"\n[[entity_set]]\nname = "Accounts2"\nsobject = "Account"\n',
        5,
        "already published as 'Account'",
    ),
    ("nothing published", "# empty\n", 1, "publishes nothing"),
    ("entity_set not tables", 'entity_set = "Account"\n', 1, "must be [[entity_set]] tables"),
]


@pytest.mark.parametrize(
    ("text", "line", "problem"), [b[1:] for b in BAD_FILES], ids=[b[0] for b in BAD_FILES]
)
def test_bad_file_names_file_line_and_problem(tmp_path, text, line, problem):
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    error = load_error(path)
    assert (error.file, error.line) == (str(path), line)
    assert problem in error.problem
    assert str(error).startswith(f"{path}:{line}: ")


def test_duplicate_across_files_names_the_other_file(tmp_path):
    first = write(tmp_path, "a.toml", '[[entity_set]]\nsobject = "Account"\n')
    second = write(tmp_path, "b.toml", '[[entity_set]]\nname = "Account"\nsobject = "Contact"\n')
    error = load_error(tmp_path)
    assert (error.file, error.line) == (str(second), 2)
    assert f"(also at {first}:1)" in error.problem


def test_not_utf8_missing_path_and_empty_folder(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes('[[entity_set]]\nsobject = "Café"\n'.encode("latin-1"))
    assert "not UTF-8" in load_error(path).problem
    assert "no such publication file" in load_error(tmp_path / "nope.toml").problem
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "no *.toml" in load_error(empty).problem


# ----- checked against the describe (build_model): the line of the offending name ------------------

DESCRIBE_ERRORS = [
    ("unknown sobject", 'sobject = "Acount"', "sobject = ", "unknown sObject 'Acount'"),
    (
        "unknown field in a long list",
        'sobject = "Account"\nfields = [\n  "Name",\n  "Industyr",\n]',
        '"Industyr"',
        "unknown field 'Industyr' on Account",
    ),
    (
        "compound field",
        'sobject = "Account"\nfields = ["Name", "BillingAddress"]',
        "fields = ",
        "type 'address', which is not published",
    ),
    (
        "writable field not published",
        'sobject = "Account"\nfields = ["Name"]\nwritable = [\n  "Name",\n  "Industry",\n]',
        '"Industry"',
        "writable names 'Industry', which is not a published field",
    ),
    (
        "writable read-only field",
        'sobject = "Contact"\nwritable = ["LastName", "Name"]',
        "writable = ",
        "writable names 'Name', which the source org lets no one create or update",
    ),
    (
        "external id that is not one",
        'sobject = "Account"\nexternal_ids = ["Name"]',
        "external_ids = ",
        "describes as no external ID",
    ),
    ("Id as external id", 'sobject = "Account"\nexternal_ids = ["Id"]', "external_ids = ", "external ID"),
]


@pytest.mark.parametrize(
    ("body", "marker", "problem"), [d[1:] for d in DESCRIBE_ERRORS], ids=[d[0] for d in DESCRIBE_ERRORS]
)
def test_describe_checks_name_the_line(tmp_path, body, marker, problem):
    text = '[[entity_set]]\nsobject = "User"\n\n[[entity_set]]\n' + body + "\n"
    path = tmp_path / "p.toml"
    path.write_text(text, encoding="utf-8")
    publication = load_publication(path)
    with pytest.raises(PublicationError) as caught:
        build_model(publication, embedded_describe())
    expected_line = next(i for i, line in enumerate(text.splitlines(), 1) if i > 4 and marker in line)
    assert (caught.value.file, caught.value.line) == (str(path), expected_line)
    assert problem in caught.value.problem
