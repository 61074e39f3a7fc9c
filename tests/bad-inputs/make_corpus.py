#!/usr/bin/env python3
"""Writes the bad-input corpus: every NAME.package.json / NAME.dataset.json here, the two
valid partner files and expected.json.

    python3 tests/bad-inputs/make_corpus.py tests/bad-inputs

The files are committed; this script is how they were made and the easiest way to add
more (or edit a file by hand and update expected.json). Each entry of expected.json lists
codes that must all appear in the CLI's stderr; a code listed n times must appear at least
n times. See README.md and native/tests/bad_inputs.rs.
"""
import json, os, sys, collections
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
os.makedirs(OUT, exist_ok=True)
expected = collections.OrderedDict()

def write_bytes(name, data, codes):
    assert name.endswith(".package.json") or name.endswith(".dataset.json"), name
    assert name not in expected, name
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
    expected[name] = codes

def write_text(name, text, codes):
    write_bytes(name, text.encode("utf-8"), codes)

def write_json(name, value, codes, ensure_ascii=False):
    write_text(name, json.dumps(value, indent=2, ensure_ascii=ensure_ascii) + "\n", codes)

def col(name, type_, **kw):
    c = {"name": name, "type": type_}
    c.update(kw)
    return c

def dog(**kw):
    t = {
        "name": "dog",
        "columns": [col("id", "bigint", nullable=False), col("name", "string", maxLength=200, nullable=False)],
        "primaryKey": ["id"],
    }
    t.update(kw)
    return {k: v for k, v in t.items() if v is not None}

def pkg(*tables, namespace="dogs"):
    return {"namespace": namespace, "tables": list(tables)}

def pkg1(**kw):
    return pkg(dog(**kw))

def with_columns(*extra, **kw):
    t = dog(**kw)
    t["columns"] = t["columns"] + list(extra)
    return pkg(t)

VALID_PKG = pkg1(indexes=[{"name": "dog_name_idx", "columns": ["name"]}], comment="One row per dog")
VALID_DS = {
    "environmentId": "e2e404529091ed2",
    "datasetId": "9afc0c483ed3",
    "datasetAlias": "WsDevDogSrc",
    "engine": "sqlite",
    "schema": "dogs",
    "migrationMode": "synchronous",
    "eventBusName": "default",
}
def ds(**kw):
    d = dict(VALID_DS)
    for k, v in kw.items():
        if v is DEL:
            d.pop(k)
        else:
            d[k] = v
    return d
DEL = object()

with open(os.path.join(OUT, "valid.package.json"), "w") as f:
    f.write(json.dumps(VALID_PKG, indent=2) + "\n")
with open(os.path.join(OUT, "valid.dataset.json"), "w") as f:
    f.write(json.dumps(VALID_DS, indent=2) + "\n")

VALID_PKG_TEXT = json.dumps(VALID_PKG, indent=2) + "\n"
COMPACT = json.dumps(VALID_PKG)

# ---------------------------------------------------------------- malformed JSON (DM1003)
write_text("json-truncated.package.json", VALID_PKG_TEXT[: len(VALID_PKG_TEXT) // 2], ["DM1003"])
write_text("json-trailing-comma-object.package.json",
           '{\n  "namespace": "dogs",\n  "tables": [{"name": "dog", "columns": [{"name": "id", "type": "bigint"}]}],\n}\n', ["DM1003"])
write_text("json-trailing-comma-array.package.json",
           '{\n  "namespace": "dogs",\n  "tables": [{"name": "dog", "columns": [{"name": "id", "type": "bigint"},]}]\n}\n', ["DM1003"])
write_text("json-single-quotes.package.json",
           "{'namespace': 'dogs', 'tables': [{'name': 'dog', 'columns': [{'name': 'id', 'type': 'bigint'}]}]}\n", ["DM1003"])
write_text("json-line-comment.package.json",
           '// dogs package\n{"namespace": "dogs", "tables": [{"name": "dog", "columns": [{"name": "id", "type": "bigint"}]}]}\n', ["DM1003"])
write_text("json-block-comment.package.json",
           '{"namespace": "dogs", /* the dog table */ "tables": [{"name": "dog", "columns": [{"name": "id", "type": "bigint"}]}]}\n', ["DM1003"])
write_text("json-empty.package.json", "", ["DM1003"])
write_text("json-whitespace-only.package.json", " \n\t\r\n", ["DM1003"])
write_bytes("json-utf8-bom.package.json", b"\xef\xbb\xbf" + VALID_PKG_TEXT.encode(), ["DM1003"])
write_text("json-two-documents.package.json", COMPACT + "\n" + COMPACT + "\n", ["DM1003"])
write_text("json-trailing-garbage.package.json", COMPACT + " x\n", ["DM1003"])
write_bytes("json-trailing-nul.package.json", COMPACT.encode() + b"\x00", ["DM1003"])
write_text("json-unquoted-keys.package.json",
           '{namespace: "dogs", tables: [{name: "dog", columns: [{name: "id", type: "bigint"}]}]}\n', ["DM1003"])
write_text("json-nan.package.json",
           '{"namespace": "dogs", "tables": [{"name": "dog", "columns": [{"name": "w", "type": "double", "default": NaN}]}]}\n', ["DM1003"])
write_text("json-infinity.package.json",
           '{"namespace": "dogs", "tables": [{"name": "dog", "columns": [{"name": "w", "type": "double", "default": -Infinity}]}]}\n', ["DM1003"])
write_text("json-hex-number.package.json",
           '{"namespace": "dogs", "tables": [{"name": "dog", "columns": [{"name": "n", "type": "string", "maxLength": 0xC8}]}]}\n', ["DM1003"])
write_text("json-leading-zero.package.json",
           '{"namespace": "dogs", "tables": [{"name": "dog", "columns": [{"name": "n", "type": "string", "maxLength": 0200}]}]}\n', ["DM1003"])
write_text("json-plus-sign.package.json",
           '{"namespace": "dogs", "tables": [{"name": "dog", "columns": [{"name": "n", "type": "int", "default": +1}]}]}\n', ["DM1003"])
write_text("json-bare-decimal-point.package.json",
           '{"namespace": "dogs", "tables": [{"name": "dog", "columns": [{"name": "n", "type": "double", "default": .5}]}]}\n', ["DM1003"])
write_text("json-raw-newline-in-string.package.json",
           '{"namespace": "dogs", "tables": [{"name": "dog", "comment": "line one\nline two", "columns": [{"name": "id", "type": "bigint"}]}]}\n', ["DM1003"])
write_text("json-raw-tab-in-string.package.json",
           '{"namespace": "dogs", "tables": [{"name": "dog\tx", "columns": [{"name": "id", "type": "bigint"}]}]}\n', ["DM1003"])
write_text("json-invalid-escape.package.json",
           '{"namespace": "dogs", "tables": [{"name": "dog", "comment": "\\x41", "columns": [{"name": "id", "type": "bigint"}]}]}\n', ["DM1003"])
write_text("json-lone-surrogate-escape.package.json",
           '{"namespace": "dogs", "tables": [{"name": "dog", "comment": "\\ud800", "columns": [{"name": "id", "type": "bigint"}]}]}\n', ["DM1003"])
write_text("json-unterminated-string.package.json",
           '{"namespace": "dogs, "tables": []}\n', ["DM1003"])
write_text("json-missing-comma.package.json",
           '{"namespace": "dogs" "tables": [{"name": "dog", "columns": [{"name": "id", "type": "bigint"}]}]}\n', ["DM1003"])
write_text("json-missing-colon.package.json",
           '{"namespace" "dogs", "tables": [{"name": "dog", "columns": [{"name": "id", "type": "bigint"}]}]}\n', ["DM1003"])
write_text("json-unbalanced-brackets.package.json",
           '{"namespace": "dogs", "tables": [{"name": "dog", "columns": [{"name": "id", "type": "bigint"}}]}\n', ["DM1003"])
write_text("json-yaml.package.json",
           'namespace: dogs\ntables:\n  - name: dog\n    columns:\n      - name: id\n        type: bigint\n', ["DM1003"])
write_text("json-python-literals.package.json",
           '{"namespace": "dogs", "tables": [{"name": "dog", "columns": [{"name": "id", "type": "bigint", "nullable": False}]}]}\n', ["DM1003"])
write_text("json-number-out-of-range.package.json",
           '{"namespace": "dogs", "tables": [{"name": "dog", "columns": [{"name": "w", "type": "double", "default": 1e400}]}]}\n', ["DM1008"])

# ---------------------------------------------------------------- wrong top-level type (DM1005)
write_text("type-root-array.package.json", "[" + COMPACT + "]\n", ["DM1005"])
write_text("type-root-string.package.json", '"dogs"\n', ["DM1005"])
write_text("type-root-null.package.json", "null\n", ["DM1005"])
write_text("type-root-number.package.json", "42\n", ["DM1005"])

# ---------------------------------------------------------------- nesting (DM1004)
write_text("deep-100000-brackets.package.json", "[" * 100000 + "\n", ["DM1004"])
write_text("deep-closed-arrays-in-default.package.json",
           '{"namespace": "dogs", "tables": [{"name": "dog", "columns": [{"name": "j", "type": "json", "default": '
           + "[" * 200 + "]" * 200 + "}]}]}\n", ["DM1004"])
inner = '"x"'
for _ in range(300):
    inner = '{"a": ' + inner + "}"
write_text("deep-objects-in-comment.package.json",
           '{"namespace": "dogs", "tables": [{"name": "dog", "comment": ' + inner + ', "columns": [{"name": "id", "type": "bigint"}]}]}\n', ["DM1004"])

# ---------------------------------------------------------------- not UTF-8 (DM1002)
latin1 = '{\n  "namespace": "dogs",\n  "tables": [{"name": "dog", "comment": "Hunde aus Zürich", "columns": [{"name": "id", "type": "bigint"}]}]\n}\n'
write_bytes("utf8-latin1-comment.package.json", latin1.encode("latin-1"), ["DM1002"])
write_bytes("utf8-utf16le-with-bom.package.json", b"\xff\xfe" + VALID_PKG_TEXT.encode("utf-16-le"), ["DM1002"])
# UTF-16BE of ASCII text is NUL bytes and ASCII: valid UTF-8, but not JSON.
write_bytes("json-utf16be-no-bom.package.json", VALID_PKG_TEXT.encode("utf-16-be"), ["DM1003"])
write_bytes("utf8-overlong-slash.package.json",
            b'{"namespace": "dogs", "tables": [{"name": "dog\xc0\xaf", "columns": [{"name": "id", "type": "bigint"}]}]}\n', ["DM1002"])
write_bytes("utf8-encoded-surrogate.package.json",
            b'{"namespace": "dogs", "tables": [{"name": "dog", "comment": "\xed\xa0\x80", "columns": [{"name": "id", "type": "bigint"}]}]}\n', ["DM1002"])
write_bytes("utf8-truncated-at-eof.package.json",
            b'{"namespace": "dogs", "tables": [{"name": "dog", "columns": [{"name": "id", "type": "bigint"}]}]}\n\xe2\x82', ["DM1002"])
write_bytes("utf8-windows-1252-quotes.package.json",
            b'{"namespace": \x93dogs\x94, "tables": []}\n', ["DM1002"])
write_bytes("utf8-lone-continuation-byte.package.json",
            b'{"namespace": "dogs", "tables": [{"name": "dog", "comment": "\x80", "columns": [{"name": "id", "type": "bigint"}]}]}\n', ["DM1002"])

# ---------------------------------------------------------------- unsafe integers (DM1008)
write_json("int-default-next-to-broken-column.package.json", with_columns(col("big", "bigint", default=-9007199254740992), col("broken", "strin")), ["DM1008", "DM1009"])
write_json("int-default-2pow53.package.json", with_columns(col("big", "bigint", default=9007199254740992)), ["DM1008"])
write_text("int-default-notations.package.json", """{
  "namespace": "dogs",
  "tables": [
    {
      "name": "dog",
      "columns": [
        { "name": "a", "type": "bigint", "default": -9007199254740993 },
        { "name": "b", "type": "bigint", "default": 9007199254740992.0 },
        { "name": "c", "type": "bigint", "default": 9.007199254740992e15 },
        { "name": "d", "type": "double", "default": 1E16 },
        { "name": "e", "type": "double", "default": 1e+21 },
        { "name": "f", "type": "decimal", "precision": 38, "default": 18446744073709551616 },
        { "name": "g", "type": "double", "default": -12345678901234567890123 },
        { "name": "h", "type": "double", "default": 9007199254740992000e-3 }
      ]
    }
  ]
}
""", ["DM1008"] * 8)
write_text("int-maxlength-huge.package.json",
           '{"namespace": "dogs", "tables": [{"name": "dog", "columns": [{"name": "n", "type": "string", "maxLength": 18446744073709551616}]}]}\n', ["DM1008"])
write_text("int-precision-exponent.package.json",
           '{"namespace": "dogs", "tables": [{"name": "dog", "columns": [{"name": "w", "type": "decimal", "precision": 1e20, "scale": 2}]}]}\n', ["DM1008"])
write_text("int-scale-negative-huge.package.json",
           '{"namespace": "dogs", "tables": [{"name": "dog", "columns": [{"name": "w", "type": "decimal", "precision": 10, "scale": -9007199254740992}]}]}\n', ["DM1008"])

# ---------------------------------------------------------------- wrong types at several depths (DM1005)
write_json("type-namespace-number.package.json", pkg(dog(), namespace=42), ["DM1005"])
write_json("type-tables-object.package.json", {"namespace": "dogs", "tables": {"dog": dog()}}, ["DM1005"])
write_json("type-table-string.package.json", {"namespace": "dogs", "tables": ["dog"]}, ["DM1005"])
write_json("type-columns-string.package.json", pkg1(columns="id bigint, name text"), ["DM1005"])
# Positional (array) forms of objects: serde would fill struct fields in order from an
# array, which neither the JSON Schema nor a JCS re-implementation of the hash accepts.
write_json("type-column-array.package.json", pkg1(columns=[["id", "bigint", False], ["name", "string"]]), ["DM1005", "DM1005"])
write_text("type-package-as-array.package.json", '["dogs", [{"name": "dog", "columns": [{"name": "id", "type": "bigint"}]}]]\n', ["DM1005"])
write_text("type-table-as-array.package.json", '{"namespace": "dogs", "tables": [["dog", [{"name": "id", "type": "bigint"}], ["id"]]]}\n', ["DM1005"])
write_json("type-index-as-array.package.json", pkg1(indexes=[["dog_name_idx", ["name"], True]]), ["DM1005"])
write_json("type-column-name-number.package.json", pkg1(columns=[col(1, "bigint")], primaryKey=None), ["DM1005"])
write_json("type-column-type-number.package.json", with_columns(col("n", 5)), ["DM1005"])
write_json("type-nullable-string.package.json", with_columns(col("n", "string", nullable="false")), ["DM1005"])
write_json("type-maxlength-string.package.json", with_columns(col("n", "string", maxLength="200")), ["DM1005"])
write_json("type-maxlength-negative.package.json", with_columns(col("n", "string", maxLength=-1)), ["DM1005"])
write_json("type-maxlength-fraction.package.json", with_columns(col("n", "string", maxLength=1.5)), ["DM1005"])
write_json("type-precision-string.package.json", with_columns(col("w", "decimal", precision="10", scale=2)), ["DM1005"])
write_json("type-primarykey-string.package.json", pkg1(primaryKey="id"), ["DM1005"])
write_json("type-primarykey-number-item.package.json", pkg1(primaryKey=[0]), ["DM1005"])
write_json("type-indexes-object.package.json", pkg1(indexes={"name": "dog_name_idx", "columns": ["name"]}), ["DM1005"])
write_json("type-index-unique-number.package.json", pkg1(indexes=[{"name": "dog_name_idx", "columns": ["name"], "unique": 1}]), ["DM1005"])
write_json("type-index-columns-string.package.json", pkg1(indexes=[{"name": "dog_name_idx", "columns": "name"}]), ["DM1005"])
write_json("type-default-object.package.json", with_columns(col("j", "json", default={"a": 1})), ["DM1005"])
write_json("type-default-array.package.json", with_columns(col("j", "json", default=[])), ["DM1005"])
write_json("type-renamedfrom-number.package.json", with_columns(col("owner", "string", renamedFrom=7)), ["DM1005"])
write_json("type-renamedfrom-list-of-objects.package.json", pkg1(renamedFrom=[{"name": "dogs"}]), ["DM1005"])
write_json("type-comment-array.package.json", pkg1(comment=["One", "row", "per", "dog"]), ["DM1005"])
write_json("type-comment-bool.package.json", with_columns(col("n", "string", comment=False)), ["DM1005"])
write_json("type-at-every-depth.package.json", {
    "namespace": ["dogs"],
    "tables": [
        {"name": "dog", "columns": [col("id", "bigint", nullable=0), col("n", "string", maxLength=True)],
         "primaryKey": {"0": "id"}, "indexes": [{"name": "dog_n_idx", "columns": [["n"]], "unique": "yes"}]},
        "cat",
    ],
}, ["DM1005"] * 7)

# ---------------------------------------------------------------- missing members (DM1006)
write_json("missing-namespace.package.json", {"tables": [dog()]}, ["DM1006"])
write_json("missing-tables.package.json", {"namespace": "dogs"}, ["DM1006"])
write_text("missing-everything.package.json", "{}\n", ["DM1006", "DM1006"])
write_json("missing-namespace-null.package.json", {"namespace": None, "tables": [dog()]}, ["DM1006"])
write_json("missing-table-name.package.json", {"namespace": "dogs", "tables": [{"columns": [col("id", "bigint")]}]}, ["DM1006"])
write_json("missing-columns.package.json", {"namespace": "dogs", "tables": [{"name": "dog"}]}, ["DM1006"])
write_json("missing-column-name.package.json", with_columns({"type": "string"}), ["DM1006"])
write_json("missing-column-type.package.json", with_columns({"name": "owner"}), ["DM1006"])
write_json("missing-column-type-null.package.json", with_columns({"name": "owner", "type": None}), ["DM1006"])
write_json("missing-index-name.package.json", pkg1(indexes=[{"columns": ["name"]}]), ["DM1006"])
write_json("missing-index-columns.package.json", pkg1(indexes=[{"name": "dog_name_idx"}]), ["DM1006"])

# ---------------------------------------------------------------- unknown members (DM1007)
write_json("unknown-nulable-typo.package.json", with_columns(col("owner", "string", nulable=True)), ["DM1007"])
write_json("unknown-primarykey-case.package.json", {"namespace": "dogs", "tables": [{"name": "dog", "columns": [col("id", "bigint")], "primarykey": ["id"]}]}, ["DM1007"])
write_json("unknown-tables-case.package.json", {"namespace": "dogs", "Tables": [dog()]}, ["DM1007", "DM1006"])
write_json("unknown-colums-typo.package.json", {"namespace": "dogs", "tables": [{"name": "dog", "colums": [col("id", "bigint")]}]}, ["DM1007", "DM1006"])
write_json("unknown-top-level-version.package.json", {"version": 2, **pkg(dog())}, ["DM1007"])
write_json("unknown-index-unqiue-typo.package.json", pkg1(indexes=[{"name": "dog_name_idx", "columns": ["name"], "unqiue": True}]), ["DM1007"])
write_json("unknown-column-length.package.json", with_columns(col("owner", "string", length=200)), ["DM1007"])
write_json("unknown-foreign-key.package.json", with_columns(col("owner_id", "bigint", references="owner.id")), ["DM1007"])
write_json("unknown-raw-sql-default.package.json", with_columns(col("created_at", "timestamptz", defaultSql="now()")), ["DM1007"])
write_json("unknown-member-name-case.package.json", {"namespace": "dogs", "tables": [{"Name": "dog", "columns": [col("id", "bigint")]}]}, ["DM1007", "DM1006"])
write_json("unknown-member-with-space.package.json", {"namespace": "dogs", "tables": [{"name": "dog", "columns": [col("id", "bigint")], "primary key": ["id"]}]}, ["DM1007"])
write_json("unknown-many.package.json", {
    "namespace": "dogs", "schema": "dogs",
    "tables": [{"name": "dog", "type": "table", "columns": [col("id", "bigint", autoIncrement=True, primaryKey=True)]}],
}, ["DM1007"] * 4)

# ---------------------------------------------------------------- invalid enum values (DM1009)
write_json("enum-type-typo.package.json", with_columns(col("owner", "strng")), ["DM1009"])
write_json("enum-type-case.package.json", with_columns(col("owner", "String")), ["DM1009"])
write_json("enum-type-sql-varchar.package.json", with_columns(col("owner", "varchar(200)")), ["DM1009"])
write_json("enum-type-integer-alias.package.json", with_columns(col("age", "integer"), col("born", "datetime"), col("blob", "bytea")), ["DM1009"] * 3)
write_json("enum-type-empty.package.json", with_columns(col("owner", "")), ["DM1009"])
write_json("enum-type-sql-injection.package.json", with_columns(col("owner", "text); DROP TABLE dog; --")), ["DM1009"])

# ---------------------------------------------------------------- identifiers (DM2001)
def bad_table(name):
    return pkg(dog(name=name))
write_json("ident-table-leading-digit.package.json", bad_table("1dog"), ["DM2001"])
write_json("ident-table-hyphen.package.json", bad_table("dog-table"), ["DM2001"])
write_json("ident-table-empty.package.json", bad_table(""), ["DM2001"])
write_json("ident-table-space.package.json", bad_table("dog table"), ["DM2001"])
write_json("ident-table-dot-qualified.package.json", bad_table("public.dog"), ["DM2001"])
write_json("ident-table-dollar.package.json", bad_table("dog$"), ["DM2001"])
write_json("ident-table-quoted.package.json", bad_table('"dog"'), ["DM2001"])
write_json("ident-table-64-chars.package.json", bad_table("d" * 64), ["DM2001"])
write_json("ident-table-1000-chars.package.json", bad_table("dog_" * 250), ["DM2001"])
write_json("ident-table-cyrillic-lookalike.package.json", bad_table("d\u043eg"), ["DM2001"])
write_json("ident-table-cyrillic-lookalike-escaped.package.json", bad_table("d\u043eg"), ["DM2001"], ensure_ascii=True)
write_json("ident-table-fullwidth.package.json", bad_table("\uff44\uff4f\uff47"), ["DM2001"])
write_json("ident-table-greek-omicron.package.json", bad_table("d\u03bfg"), ["DM2001"])
write_json("ident-column-accent.package.json", with_columns(col("na\u00efve", "string")), ["DM2001"])
write_json("ident-column-combining-accent.package.json", with_columns(col("nai\u0308ve", "string")), ["DM2001"])
write_json("ident-column-zero-width-space.package.json", with_columns(col("own\u200ber", "string")), ["DM2001"])
write_json("ident-column-trailing-space.package.json", with_columns(col("owner ", "string")), ["DM2001"])
write_json("ident-column-emoji.package.json", with_columns(col("\U0001f415", "string")), ["DM2001"])
write_json("ident-namespace.package.json", pkg(dog(), namespace="dogs.v1"), ["DM2001"])
write_json("ident-namespace-empty.package.json", pkg(dog(), namespace=""), ["DM2001"])
write_json("ident-index-name.package.json", pkg1(indexes=[{"name": "dog name idx", "columns": ["name"]}]), ["DM2001"])
write_json("ident-renamedfrom.package.json", with_columns(col("owner", "string", renamedFrom="owner-name")), ["DM2001"])
write_json("ident-renamedfrom-list-item.package.json", pkg1(renamedFrom=["dogs", "1dogs"]), ["DM2001"])

# ---------------------------------------------------------------- injection attempts
write_json("inject-table-drop.package.json", bad_table('dog"; DROP TABLE x; --'), ["DM2001"])
write_json("inject-column-drop.package.json", with_columns(col("id); DROP TABLE dog; --", "string")), ["DM2001"])
write_json("inject-index-or-1-eq-1.package.json", pkg1(indexes=[{"name": "ix' OR '1'='1", "columns": ["name"]}]), ["DM2001"])
write_json("inject-table-newline.package.json", bad_table("dog\nDROP TABLE x"), ["DM2001"])
write_json("inject-column-crlf.package.json", with_columns(col("owner\r\n; DROP TABLE dog; --", "string")), ["DM2001"])
write_json("inject-table-nul.package.json", bad_table("dog\u0000x"), ["DM2001"])
write_json("inject-table-backslash.package.json", bad_table('dog\\"; DROP TABLE x; --\\'), ["DM2001"])
write_json("inject-table-backtick.package.json", bad_table("dog`; DROP TABLE x; --"), ["DM2001"])
write_json("inject-table-square-bracket.package.json", bad_table("dog]; DROP TABLE x; --"), ["DM2001"])
write_json("inject-table-terminal-escape.package.json", bad_table("\u001b[2J\u001b[31mdog\u0007"), ["DM2001"])
write_json("inject-table-line-separator.package.json", bad_table("dog\u2028DROP TABLE x\u2029\u0085"), ["DM2001"])
write_json("inject-column-unicode-quote.package.json", with_columns(col("owner\u02bc; DROP TABLE dog; --", "string")), ["DM2001"])
write_json("inject-namespace.package.json", pkg(dog(), namespace="dogs; DROP SCHEMA public CASCADE"), ["DM2001"])
write_json("inject-primarykey.package.json", pkg1(primaryKey=['id"); DROP TABLE dog; --']), ["DM2005"])
write_json("inject-index-column.package.json", pkg1(indexes=[{"name": "dog_name_idx", "columns": ["name\"); DROP TABLE dog; --"]}]), ["DM2006"])
write_json("inject-renamedfrom.package.json", with_columns(col("owner", "string", renamedFrom='owner_name"; DROP TABLE dog; --')), ["DM2001"])
write_json("inject-int-default.package.json", with_columns(col("age", "int", default="1; DROP TABLE dog; --")), ["DM2010"])
write_json("inject-timestamptz-default-now.package.json", with_columns(col("created_at", "timestamptz", default="now()")), ["DM2010"])
write_json("inject-boolean-default-sql.package.json", with_columns(col("active", "boolean", default="TRUE); DROP TABLE dog; --")), ["DM2010"])
write_json("inject-member-name-control-chars.package.json", pkg1(**{"\u001b[31mevil\tmember\u0000": 1}), ["DM1007"])
write_json("inject-member-name-newline.package.json", pkg1(**{"x\nsome.package.json:$: DM0000: forged": 1}), ["DM1007"])
write_json("inject-member-name-colon-space.package.json", pkg1(**{"x: DM9999: forged": 1}), ["DM1007"])
write_json("inject-type-control-chars.package.json", with_columns(col("owner", "big\u001b[2Jint\t")), ["DM1009"])

# ---------------------------------------------------------------- duplicate tables (DM2002)
write_json("dup-table-exact.package.json", pkg(dog(), dog()), ["DM2002"])
write_json("dup-table-case-sqlite.package.json", pkg(dog(), dog(name="DOG")), ["DM2002"])
write_json("dup-table-three.package.json", pkg(dog(), dog(name="Dog"), dog(name="dOg")), ["DM2002", "DM2002"])

# ---------------------------------------------------------------- duplicate columns (DM2003)
write_json("dup-column-exact.package.json", with_columns(col("name", "string")), ["DM2003"])
write_json("dup-column-case-sqlite.package.json", with_columns(col("Name", "string")), ["DM2003"])

# ---------------------------------------------------------------- index names (DM2004)
cat = {"name": "cat", "columns": [col("id", "bigint", nullable=False), col("name", "string")], "primaryKey": ["id"]}
write_json("dup-index-same-table.package.json", pkg1(indexes=[{"name": "dog_name_idx", "columns": ["name"]}, {"name": "dog_name_idx", "columns": ["id", "name"]}]), ["DM2004"])
write_json("dup-index-across-tables.package.json", pkg(dog(indexes=[{"name": "name_idx", "columns": ["name"]}]), dict(cat, indexes=[{"name": "name_idx", "columns": ["name"]}])), ["DM2004"])
write_json("dup-index-case-sqlite.package.json", pkg(dog(indexes=[{"name": "name_idx", "columns": ["name"]}]), dict(cat, indexes=[{"name": "NAME_IDX", "columns": ["name"]}])), ["DM2004"])
write_json("dup-index-equals-table.package.json", pkg(dog(indexes=[{"name": "cat", "columns": ["name"]}]), cat), ["DM2004"])
write_json("dup-index-equals-own-table.package.json", pkg1(indexes=[{"name": "dog", "columns": ["name"]}]), ["DM2004"])
write_json("dup-index-equals-pkey.package.json", pkg1(indexes=[{"name": "dog_pkey", "columns": ["name"]}]), ["DM2004"])
write_json("dup-index-equals-other-pkey.package.json", pkg(dog(indexes=[{"name": "cat_pkey", "columns": ["name"]}]), cat), ["DM2004"])

# ---------------------------------------------------------------- keys and indexes
write_json("pk-unknown-column.package.json", pkg1(primaryKey=["dog_id"]), ["DM2005"])
write_json("pk-unknown-columns-several.package.json", pkg1(primaryKey=["id", "tenant", "region"]), ["DM2005", "DM2005"])
write_json("index-unknown-column.package.json", pkg1(indexes=[{"name": "dog_owner_idx", "columns": ["owner"]}]), ["DM2006"])
write_json("index-column-from-other-table.package.json", pkg(dog(indexes=[{"name": "dog_cat_idx", "columns": ["whiskers"]}]), dict(cat, columns=cat["columns"] + [col("whiskers", "int")])), ["DM2006"])
write_json("pk-duplicate-column.package.json", pkg1(primaryKey=["id", "id"]), ["DM2012"])
write_json("index-duplicate-column-case.package.json", pkg1(indexes=[{"name": "dog_name_idx", "columns": ["name", "NAME"]}]), ["DM2012"])
write_json("pk-nullable-true.package.json", pkg1(columns=[col("id", "bigint", nullable=True), col("name", "string")]), ["DM2013"])
write_json("pk-json-column.package.json", pkg1(columns=[col("doc", "json", nullable=False), col("name", "string")], primaryKey=["doc"]), ["DM2015"])
write_json("index-json-column.package.json", with_columns(col("details", "json"), indexes=[{"name": "dog_details_idx", "columns": ["name", "details"]}]), ["DM2015"])

# ---------------------------------------------------------------- type attributes
write_json("maxlength-zero.package.json", with_columns(col("owner", "string", maxLength=0)), ["DM2007"])
write_json("maxlength-too-big.package.json", with_columns(col("owner", "string", maxLength=10485761)), ["DM2007"])
write_json("maxlength-u32-max.package.json", with_columns(col("owner", "string", maxLength=4294967295)), ["DM2007"])
write_json("decimal-no-precision.package.json", with_columns(col("weight", "decimal", scale=2)), ["DM2008"])
write_json("decimal-precision-zero.package.json", with_columns(col("weight", "decimal", precision=0)), ["DM2008"])
write_json("decimal-precision-39.package.json", with_columns(col("weight", "decimal", precision=39, scale=2)), ["DM2008"])
write_json("decimal-scale-over-precision.package.json", with_columns(col("weight", "decimal", precision=4, scale=5)), ["DM2008"])
write_json("attr-maxlength-on-int.package.json", with_columns(col("age", "int", maxLength=3)), ["DM2009"])
write_json("attr-precision-on-string.package.json", with_columns(col("owner", "string", precision=10)), ["DM2009"])
write_json("attr-scale-on-double.package.json", with_columns(col("weight", "double", scale=2)), ["DM2009"])
write_json("attr-precision-scale-on-bigint.package.json", with_columns(col("count", "bigint", precision=18, scale=0)), ["DM2009", "DM2009"])
write_json("attr-maxlength-on-uuid-and-binary.package.json", with_columns(col("u", "uuid", maxLength=36), col("b", "binary", maxLength=16)), ["DM2009", "DM2009"])

# ---------------------------------------------------------------- defaults of the wrong type (DM2010), per column type
write_json("default-string.package.json", with_columns(
    col("s1", "string", default=5), col("s2", "string", default=True),
    col("s3", "string", maxLength=3, default="four")), ["DM2010"] * 3)
write_json("default-int.package.json", with_columns(
    col("i1", "int", default="5"), col("i2", "int", default=1.5), col("i3", "int", default=2147483648),
    col("i4", "int", default=-2147483649), col("i5", "int", default=True)), ["DM2010"] * 5)
write_json("default-bigint.package.json", with_columns(
    col("b1", "bigint", default=True), col("b2", "bigint", default=1.5), col("b3", "bigint", default="12a"),
    col("b4", "bigint", default="9223372036854775808"), col("b5", "bigint", default="1e5"),
    col("b6", "bigint", default=" 12"), col("b7", "bigint", default="+12"), col("b8", "bigint", default="")), ["DM2010"] * 8)
write_json("default-decimal.package.json", with_columns(
    col("d1", "decimal", precision=5, scale=2, default=True), col("d2", "decimal", precision=5, scale=2, default=1234.5),
    col("d3", "decimal", precision=5, scale=2, default="1.234"), col("d4", "decimal", precision=5, scale=2, default="1e2"),
    col("d5", "decimal", precision=5, scale=2, default="NaN"), col("d6", "decimal", precision=5, scale=2, default="12,50"),
    col("d7", "decimal", precision=5, scale=2, default="1."), col("d8", "decimal", precision=5, scale=2, default="")), ["DM2010"] * 8)
write_json("default-double.package.json", with_columns(
    col("f1", "double", default="1.5"), col("f2", "double", default=False), col("f3", "double", default="Infinity")), ["DM2010"] * 3)
write_json("default-boolean.package.json", with_columns(
    col("a1", "boolean", default="true"), col("a2", "boolean", default=1), col("a3", "boolean", default=0), col("a4", "boolean", default="")), ["DM2010"] * 4)
write_json("default-date.package.json", with_columns(
    col("t1", "date", default="2023-02-29"), col("t2", "date", default="29/02/2024"), col("t3", "date", default=20240229),
    col("t4", "date", default="2024-13-01"), col("t5", "date", default="2024-01-01T00:00:00"), col("t6", "date", default="today"),
    col("t7", "date", default="0000-01-01")), ["DM2010"] * 7)
write_json("default-timestamp.package.json", with_columns(
    col("t1", "timestamp", default="2024-01-01T10:00:00Z"), col("t2", "timestamp", default="2024-01-01T24:00:00"),
    col("t3", "timestamp", default="2024-01-01"), col("t4", "timestamp", default=1704103200),
    col("t5", "timestamp", default="2024-01-01T10:00:00.1234567"), col("t6", "timestamp", default="CURRENT_TIMESTAMP")), ["DM2010"] * 6)
write_json("default-timestamptz.package.json", with_columns(
    col("t1", "timestamptz", default="2024-01-01T10:00:00"), col("t2", "timestamptz", default="2024-01-01T10:00:00+0530"),
    col("t3", "timestamptz", default="2024-01-01T10:00:00+15:00"), col("t4", "timestamptz", default=True),
    col("t5", "timestamptz", default="2024-01-01T10:00:00 UTC")), ["DM2010"] * 5)
write_json("default-json.package.json", with_columns(
    col("j1", "json", default="{bad"), col("j2", "json", default=5), col("j3", "json", default=True),
    col("j4", "json", default="{'a': 1}"), col("j5", "json", default="")), ["DM2010"] * 5)
write_json("default-uuid.package.json", with_columns(
    col("u1", "uuid", default="not-a-uuid"), col("u2", "uuid", default="{123e4567-e89b-12d3-a456-426614174000}"),
    col("u3", "uuid", default="123e4567e89b12d3a456426614174000"), col("u4", "uuid", default="123e4567-e89b-12d3-a456-42661417400g"),
    col("u5", "uuid", default=123), col("u6", "uuid", default="gen_random_uuid()")), ["DM2010"] * 6)
write_json("default-binary.package.json", with_columns(
    col("x1", "binary", default="abc"), col("x2", "binary", default="xyz0"), col("x3", "binary", default="0xdeadbeef"),
    col("x4", "binary", default=255), col("x5", "binary", default="3q2+7w==")), ["DM2010"] * 5)

# ---------------------------------------------------------------- empty lists (DM2011)
write_json("empty-columns.package.json", pkg1(columns=[], primaryKey=None), ["DM2011"])
write_json("empty-primarykey.package.json", pkg1(primaryKey=[]), ["DM2011"])
write_json("empty-index-columns.package.json", pkg1(indexes=[{"name": "dog_name_idx", "columns": []}]), ["DM2011"])
write_json("empty-renamedfrom.package.json", with_columns(col("owner", "string", renamedFrom=[])), ["DM2011"])
write_json("empty-table-renamedfrom.package.json", pkg1(renamedFrom=[]), ["DM2011"])

# ---------------------------------------------------------------- rename hints (DM2014)
write_json("rename-self.package.json", with_columns(col("owner", "string", renamedFrom="owner")), ["DM2014"])
write_json("rename-self-case-sqlite.package.json", with_columns(col("owner", "string", renamedFrom="OWNER")), ["DM2014"])
write_json("rename-twice.package.json", with_columns(col("owner", "string", renamedFrom=["owner_name", "owner_name"])), ["DM2014"])
write_json("rename-from-existing-column.package.json", with_columns(col("owner", "string", renamedFrom="name")), ["DM2014"])
write_json("rename-table-from-existing-table.package.json", pkg(dog(), dict(cat, renamedFrom=["cats", "dog"])), ["DM2014"])
write_json("rename-table-self.package.json", pkg1(renamedFrom="dog"), ["DM2014"])

# ---------------------------------------------------------------- duplicate members (DM1010)
write_text("duplicate-member-top-level.package.json",
           '{"namespace": "dogs", "namespace": "cats", "tables": [{"name": "dog", "columns": [{"name": "id", "type": "bigint"}]}]}\n', ["DM1010"])
write_text("duplicate-member-column-type.package.json",
           '{"namespace": "dogs", "tables": [{"name": "dog", "columns": [{"name": "id", "type": "bigint", "type": "string"}]}]}\n', ["DM1010"])
write_text("duplicate-member-index.package.json",
           '{"namespace": "dogs", "tables": [{"name": "dog", "columns": [{"name": "id", "type": "bigint"}], "indexes": [{"name": "a_idx", "name": "b_idx", "columns": ["id"]}]}]}\n', ["DM1010"])
write_text("duplicate-member-same-value.package.json",
           '{"namespace": "dogs", "tables": [{"name": "dog", "name": "dog", "columns": [{"name": "id", "type": "bigint"}]}]}\n', ["DM1010"])
write_text("duplicate-member-null-then-value.package.json",
           '{"namespace": "dogs", "tables": [{"name": "dog", "comment": null, "comment": "dogs", "columns": [{"name": "id", "type": "bigint"}]}]}\n', ["DM1010"])
write_text("duplicate-member-with-other-problems.package.json",
           '{"namespace": "dogs", "namespace": "cats", "tables": [{"name": "dog", "colour": "brown", "columns": [{"name": "id", "type": "bigint"}]}]}\n', ["DM1010", "DM1007"])

# ---------------------------------------------------------------- many problems at once
write_json("many-problems.package.json", {
    "namespace": "dogs",
    "tables": [
        {
            "name": "dog",
            "comment": "structural problems (DM1005 DM1006 DM1007 DM1008 DM1009) next to semantic ones",
            "columns": [
                col("id", "bigint", nullable=True),                       # DM2013
                col("name", "string", maxLength=0),                        # DM2007
                col("Name", "string"),                                     # DM2003
                col("weight", "decimal", precision=40),                    # DM2008
                col("age", "int", maxLength=3, default="three"),           # DM2009, DM2010
                col("owner", "string", renamedFrom="owner"),               # DM2014
                col("details", "json"),
                col("1st", "string"),                                      # DM2001
                col("colour", "colour"),                                   # DM1009
                {"name": "size", "type": "int", "nulable": False},         # DM1007
                {"name": "tail"},                                          # DM1006
                col("legs", "int", nullable="yes"),                        # DM1005
                col("chip", "bigint", default=18014398509481984),          # DM1008
            ],
            "primaryKey": ["id", "id", "tag"],                             # DM2012, DM2005
            "indexes": [
                {"name": "dog_details_idx", "columns": ["details"]},       # DM2015
                {"name": "dog_pkey", "columns": ["name"]},                 # DM2004
                {"name": "dog_x_idx", "columns": ["x"]},                   # DM2006
                {"name": "dog_empty_idx", "columns": []},                  # DM2011
            ],
        },
        {"name": "DOG", "columns": [col("id", "bigint")]},              # DM2002
    ],
}, ["DM1005", "DM1006", "DM1007", "DM1008", "DM1009",
    "DM2001", "DM2002", "DM2003", "DM2004", "DM2005", "DM2006", "DM2007", "DM2008",
    "DM2009", "DM2010", "DM2011", "DM2012", "DM2013", "DM2014", "DM2015"])
write_json("many-problems-semantic-only.package.json", {
    "namespace": "1dogs",
    "tables": [
        {
            "name": "dog",
            "columns": [
                col("id", "bigint", nullable=True),
                col("id", "bigint"),
                col("name", "string", maxLength=20000000, default=1),
                col("weight", "decimal", precision=4, scale=6, default="abc"),
                col("doc", "json", precision=3, default="{"),
                col("owner", "string", renamedFrom=["owner_name", "owner_name"]),
            ],
            "primaryKey": ["id", "doc", "nope", "id"],
            "indexes": [{"name": "dog", "columns": []}, {"name": "bad name", "columns": ["zzz"]}],
        },
        {"name": "Dog", "columns": [], "renamedFrom": []},
    ],
}, ["DM2001", "DM2001", "DM2002", "DM2003", "DM2004", "DM2005", "DM2006", "DM2007", "DM2008",
    "DM2009", "DM2010", "DM2010", "DM2010", "DM2011", "DM2011", "DM2011", "DM2012", "DM2013",
    "DM2014", "DM2015"])

# ================================================================ dataset files
write_text("ds-json-truncated.dataset.json", '{"environmentId": "e2e404529091ed2", "datasetId": "9afc0c', ["DM1003"])
write_text("ds-json-trailing-comma.dataset.json", json.dumps(VALID_DS, indent=2)[:-2] + ",\n}\n", ["DM1003"])
write_text("ds-json-comment.dataset.json", "# dataset\n" + json.dumps(VALID_DS, indent=2) + "\n", ["DM1003"])
write_text("ds-json-empty.dataset.json", "", ["DM1003"])
write_bytes("ds-json-utf8-bom.dataset.json", b"\xef\xbb\xbf" + json.dumps(VALID_DS).encode(), ["DM1003"])
write_bytes("ds-utf8-latin1-alias.dataset.json", json.dumps(ds(datasetAlias="Zürich"), ensure_ascii=False).encode("latin-1"), ["DM1002"])
write_text("ds-deep.dataset.json", '{"environmentId": ' + "[" * 5000 + "]" * 5000 + "}", ["DM1004"])
write_text("ds-root-array.dataset.json", "[" + json.dumps(VALID_DS) + "]\n", ["DM1005"])
write_json("ds-root-positional-array.dataset.json", ["e2e404529091ed2", "9afc0c483ed3", "WsDevDogSrc", "sqlite", "dogs"], ["DM1005"])
write_json("ds-missing-everything.dataset.json", {}, ["DM1006"] * 4)
write_json("ds-missing-engine.dataset.json", ds(engine=DEL), ["DM1006"])
write_json("ds-missing-schema-null.dataset.json", ds(schema=None), ["DM1006"])
write_json("ds-engine-typo.dataset.json", ds(engine="postgress"), ["DM1009"])
write_json("ds-engine-case.dataset.json", ds(engine="Postgres"), ["DM1009"])
write_json("ds-engine-aurora-short.dataset.json", ds(engine="aurora-postgres"), ["DM1009"])
write_json("ds-engine-sqlite3.dataset.json", ds(engine="sqlite3"), ["DM1009"])
write_json("ds-engine-mysql.dataset.json", ds(engine="mysql"), ["DM1009"])
write_json("ds-engine-trailing-space.dataset.json", ds(engine="sqlite "), ["DM1009"])
write_json("ds-engine-number.dataset.json", ds(engine=1), ["DM1005"])
write_json("ds-engine-control-chars.dataset.json", ds(engine="postgres\u0000\u001b[2J"), ["DM1009"])
write_json("ds-mode-typo.dataset.json", ds(migrationMode="sync"), ["DM1009"])
write_json("ds-mode-case.dataset.json", ds(migrationMode="Asynchronous"), ["DM1009"])
write_json("ds-unknown-member-case.dataset.json", ds(datasetId=DEL, datasetID="9afc0c483ed3"), ["DM1007", "DM1006"])
write_json("ds-unknown-credentials.dataset.json", ds(connectionString="postgres://u:p@h/db", password="hunter2"), ["DM1007", "DM1007"])
write_json("ds-unknown-typo.dataset.json", ds(allowDestructiv=True), ["DM1007"])
write_json("ds-type-ids-numbers.dataset.json", ds(environmentId=123, datasetId=9.5), ["DM1005", "DM1005"])
write_json("ds-type-allowdestructive-string.dataset.json", ds(allowDestructive="yes"), ["DM1005"])
write_json("ds-type-allowdestructive-number-items.dataset.json", ds(allowDestructive=[1, True]), ["DM1005", "DM1005"])
write_json("ds-type-allowdestructive-object.dataset.json", ds(allowDestructive={"dropColumn": "dog.weight"}), ["DM1005"])
write_json("ds-type-alias-bool.dataset.json", ds(datasetAlias=False), ["DM1005"])
write_json("ds-step-key-prose.dataset.json", ds(allowDestructive=["drop everything"]), ["DM3002"])
write_json("ds-step-key-injection.dataset.json", ds(allowDestructive=["dropColumn:dog.weight; DROP TABLE dog"]), ["DM3002"])
write_json("ds-step-key-empty.dataset.json", ds(allowDestructive=["", "dropColumn:", ":dog.weight", "dropColumn:dog..weight"]), ["DM3002"] * 4)
write_json("ds-step-key-newline.dataset.json", ds(allowDestructive=["dropColumn:dog.weight\ndropTable:dog"]), ["DM3002"])
write_json("ds-dataset-id-space.dataset.json", ds(datasetId="9afc 0c48"), ["DM3001"])
write_json("ds-dataset-id-path-traversal.dataset.json", ds(datasetId="../../9afc0c483ed3"), ["DM3001"])
write_json("ds-dataset-id-slash.dataset.json", ds(datasetId="9afc0c483ed3/a684a99e.json"), ["DM3001"])
write_json("ds-environment-id-empty.dataset.json", ds(environmentId=""), ["DM3001"])
write_json("ds-environment-id-too-long.dataset.json", ds(environmentId="e" * 129), ["DM3001"])
write_json("ds-environment-id-unicode.dataset.json", ds(environmentId="e2e40452909\u0661ed2"), ["DM3001"])
write_json("ds-alias-leading-dash.dataset.json", ds(datasetAlias="-WsDevDogSrc"), ["DM3001"])
write_json("ds-alias-newline.dataset.json", ds(datasetAlias="WsDevDogSrc\nfake: DM0000: forged"), ["DM3001"])
write_json("ds-event-bus-space.dataset.json", ds(eventBusName="my bus"), ["DM3001"])
write_json("ds-event-bus-empty-arn-name.dataset.json", ds(eventBusName="arn:aws:events:eu-west-1:058264526050:event-bus/"), ["DM3001"])
write_json("ds-event-bus-too-long.dataset.json", ds(eventBusName="b" * 257), ["DM3001"])
write_json("ds-schema-invalid.dataset.json", ds(schema="dogs-schema"), ["DM2001"])
write_json("ds-schema-injection.dataset.json", ds(schema='dogs"; DROP SCHEMA public CASCADE; --'), ["DM2001"])
write_json("ds-schema-64-chars.dataset.json", ds(schema="s" * 64), ["DM2001"])
write_text("ds-duplicate-member.dataset.json",
           '{"environmentId": "e2e404529091ed2", "datasetId": "9afc0c483ed3", "engine": "sqlite", "engine": "postgres", "schema": "dogs"}\n', ["DM1010"])
write_json("ds-many-problems.dataset.json", {
    "environmentId": "", "datasetId": "a b", "datasetAlias": "-x", "engine": "snowflake", "schema": "1dogs",
    "migrationMode": "asynchronous", "eventBusName": "bus name", "allowDestructive": ["dropColumn:dog.weight", "everything"],
}, ["DM3001"] * 4 + ["DM2001", "DM3002"])
write_json("ds-many-problems-structural-and-semantic.dataset.json", {
    "environmentId": "e2e404529091ed2", "datasetId": "9afc 0c483ed3", "engine": "postgress", "schema": "dogs;",
    "migrationMode": "synchronous", "allowDestructive": ["nope"],
}, ["DM1009", "DM3001", "DM2001", "DM3002"])

with open(os.path.join(OUT, "expected.json"), "w") as f:
    f.write("{\n" + ",\n".join("  %s: %s" % (json.dumps(k), json.dumps(v)) for k, v in sorted(expected.items())) + "\n}\n")
print(len(expected), "corpus files")
