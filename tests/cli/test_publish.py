"""`gateway publish`: the starter publication it writes loads back and builds; its errors are clear."""

from __future__ import annotations

import argparse

import pytest

from gateway.cli.publish import add_arguments, parse_spec, run, write_starter
from gateway.odata.model.builder import build_model
from gateway.odata.model.publication import load_publication
from gateway.source.embedded import embedded_describe


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
    add_arguments(parser)
    return parser.parse_args(argv)


def clear_source_env(monkeypatch):
    import os

    for name in list(os.environ):
        if name.startswith("SF_"):
            monkeypatch.delenv(name)


def test_publish_command_prints_the_starter_from_the_embedded_org(monkeypatch, capsys, tmp_path):
    clear_source_env(monkeypatch)
    assert run(publish_args("Account:Name,Industry", "--writable")) == 0
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
    assert run(publish_args("Case", "--output", str(output))) == 0
    assert [s.sobject for s in load_publication(output).entity_sets] == ["Case"]
    assert "Wrote" in capsys.readouterr().err
    assert run(publish_args("Account:Nope__c")) == 2
    assert "gateway publish: 'Account:Nope__c': Account has no field 'Nope__c'" in capsys.readouterr().err
