"""Publication files: loading, defaults, mistakes reported with file and line, `gateway publish`."""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path

import pytest

from gateway.odata.model_builder import build_model
from gateway.odata.publication import (
    ALL,
    PublicationError,
    add_publish_arguments,
    embedded_describe,
    load_publication,
    parse_spec,
    run_publish,
    write_starter,
)

REPOSITORY = Path(__file__).resolve().parent.parent
DEMO_METADATA = REPOSITORY / "metadata"


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


# ----- gateway publish ----------------------------------------------------------------------------


def test_parse_spec():
    assert parse_spec("Account") == ("Account", None)
    assert parse_spec("Contact:FirstName, LastName") == ("Contact", ("FirstName", "LastName"))
    for bad in ("", "Account:", "Acc ount", "Account:Name;Type"):
        with pytest.raises(ValueError):
            parse_spec(bad)


def test_starter_round_trips_through_load_publication(tmp_path):
    describe = embedded_describe()
    output = tmp_path / "starter.toml"
    text = write_starter(["Account", "Contact:lastname,Email"], describe, writable=False, output=output)
    assert output.read_text(encoding="utf-8") == text
    account, contact = load_publication(output).entity_sets
    model = build_model(load_publication(output), describe)
    account_fields = [f["name"] for f in describe("Account")["fields"] if f["type"] != "address"]
    assert list(account.fields) == account_fields
    assert list(model.entity_sets["Account"].properties) == account_fields
    assert "BillingAddress" not in text
    assert account.external_ids == ("External_Id__c",)
    assert account.writable == () and not account.insertable and not account.deletable
    assert contact.fields == ("Id", "LastName", "Email")
    assert not any(
        p.insertable or p.updatable for s in model.entity_sets.values() for p in s.properties.values()
    )


def test_starter_with_writable_marks_every_createable_or_updateable_field(tmp_path):
    describe = embedded_describe()
    text = write_starter(["Opportunity"], describe, writable=True)
    path = tmp_path / "p.toml"
    path.write_text(text, encoding="utf-8")
    (spec,) = load_publication(path).entity_sets
    expected = [f["name"] for f in describe("Opportunity")["fields"] if f["createable"] or f["updateable"]]
    assert list(spec.writable) == expected
    assert "Amount" in expected and "IsClosed" not in expected
    assert (spec.insertable, spec.updatable, spec.deletable) == (True, True, False)
    opportunity = build_model(load_publication(path), describe).entity_sets["Opportunity"]
    assert opportunity.properties["Amount"].updatable and not opportunity.properties["IsWon"].updatable


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        (["Nope__c"], "not supported"),
        (["Account:Name,Nope__c"], "Account has no field 'Nope__c'"),
        (["Account:BillingAddress"], "BillingAddress is of type address"),
    ],
)
def test_starter_refuses_unknown_objects_and_fields(specs, message):
    with pytest.raises((ValueError, LookupError), match=message):
        write_starter(specs, embedded_describe())


def publish_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_publish_arguments(parser)
    return parser.parse_args(argv)


def clear_source_env(monkeypatch):
    import os

    for name in list(os.environ):
        if name.startswith("SF_"):
            monkeypatch.delenv(name)


def test_publish_command_prints_the_starter_from_the_embedded_org(monkeypatch, capsys, tmp_path):
    clear_source_env(monkeypatch)
    assert run_publish(publish_args("Account:Name,Industry", "--writable")) == 0
    printed = capsys.readouterr().out
    path = tmp_path / "printed.toml"
    path.write_text(printed, encoding="utf-8")
    (spec,) = load_publication(path).entity_sets
    assert (spec.sobject, spec.fields, spec.writable) == (
        "Account",
        ("Id", "Name", "Industry"),
        ("Name", "Industry"),
    )


def test_publish_command_writes_output_and_reports_errors(monkeypatch, capsys, tmp_path):
    clear_source_env(monkeypatch)
    output = tmp_path / "out.toml"
    assert run_publish(publish_args("Case", "--output", str(output))) == 0
    assert [s.sobject for s in load_publication(output).entity_sets] == ["Case"]
    assert "Wrote" in capsys.readouterr().err
    assert run_publish(publish_args("Account:Nope__c")) == 2
    assert "gateway publish: 'Account:Nope__c': Account has no field 'Nope__c'" in capsys.readouterr().err
