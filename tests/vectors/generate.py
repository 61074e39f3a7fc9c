#!/usr/bin/env python3
"""Generate the cross-language test vectors in tests/vectors/.

Expected values come from the independent PyPI package `rfc8785`
(written against rfc8785 0.1.4, installed with `pip install rfc8785`),
never from depot-migrate's own code.

    python3 tests/vectors/generate.py          # (re)write every NNN-*.json
    python3 tests/vectors/generate.py --check  # exit 1 if the committed files differ

Two kinds of vectors:

* "jcs": `input` is JSON text; `expected.canonical` is rfc8785.dumps(json.loads(input))
  and `expected.sha256` the hex SHA-256 of its UTF-8 bytes.
* "versionHash": `input.package` / `input.dataset` are JSON texts;
  `expected.versionHash` is computed by `version_hash()` below (docs/design.md, "Version
  hash"), or `expected.error` is the error code written in the case definition.

Inputs are kept as text so whitespace, member order and number notation reach the
implementation under test byte for byte.

Besides writing files, the script checks its own cases: every valid versionHash case
must pass `validate()` (a Python transcription of the package/dataset rules), every
error case must fail it with the problem class its code stands for, and cases marked
`same_as` / `differs_from` must really have equal / different hashes (and no two cases
may share a hash unless declared so).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import decimal
import hashlib
import json
import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

try:
    import rfc8785  # pip install rfc8785  (vectors generated with 0.1.4)
except ImportError:  # pragma: no cover
    sys.exit("generate.py needs the rfc8785 package: pip install rfc8785")

RFC8785_VERSION_USED = "0.1.4"
OUT_DIR = Path(__file__).resolve().parent
VECTOR_FILE = re.compile(r"^\d{3}-[A-Za-z0-9._-]+\.json$")


# --------------------------------------------------------------------------------------
# Case definitions
# --------------------------------------------------------------------------------------


@dataclass
class Jcs:
    slug: str
    description: str
    input: str


@dataclass
class VH:
    slug: str
    description: str
    package: str
    dataset: str
    same_as: str | None = None  # slug of a case that must have the same hash
    differs_from: list[str] = field(default_factory=list)  # slugs that must differ
    error: str | None = None  # expected error code (written here, not computed)
    number: int | None = None  # file number, when the case keeps a reserved range


# ---- JCS -----------------------------------------------------------------------------

JCS_CASES: list[Jcs] = [
    Jcs(
        "rfc8785-key-sorting-escaped",
        "RFC 8785 section 3.2.3 sorting example, keys written as \\u escapes: members are "
        "sorted by UTF-16 code units, so U+1F600 (surrogates D83D DE00) sorts before "
        "U+FB33 although its code point is larger.",
        r"""{
  "\u20ac": "Euro Sign",
  "\r": "Carriage Return",
  "\ufb33": "Hebrew Letter Dalet With Dagesh",
  "1": "One",
  "\ud83d\ude00": "Emoji: Grinning Face",
  "\u0080": "Control",
  "\u00f6": "Latin Small Letter O With Diaeresis"
}""",
    ),
    Jcs(
        "rfc8785-key-sorting-raw",
        "Same members as the escaped sorting example but with the keys written as raw "
        "UTF-8 (only \\r must stay escaped): identical canonical output.",
        '{"\U0001F600":"Emoji: Grinning Face","\u00f6":"Latin Small Letter O With Diaeresis",'
        '"\u20ac":"Euro Sign","\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One",'
        '"\\r":"Carriage Return","\u0080":"Control"}',
    ),
    Jcs(
        "rfc8785-section-3.2.2",
        "RFC 8785 section 3.2.2 example (numbers, string escapes, literals); the expected "
        "output is the one printed in the RFC.",
        r"""{
  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}""",
    ),
    Jcs(
        "string-control-characters",
        "Every control character U+0000..U+001F: \\b \\t \\n \\f \\r use the short escapes, "
        "all others become lowercase \\u00xx; input mixes short, upper- and lower-case "
        "escapes.",
        r'["\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\b\t\n\u000B\f\r\u000e\u000F",'
        r' "\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001B\u001c\u001D\u001e\u001f",'
        r' "\u0008\u0009\u000A\u000C\u000D"]',
    ),
    Jcs(
        "string-escapes-misc",
        "Quote and backslash stay escaped; solidus (escaped or not), DEL U+007F, U+2028, "
        "U+2029 and non-ASCII are emitted raw.",
        '{"quote": "\\"", "backslash": "\\\\", "solidus": ["\\/", "/"], '
        '"del": ["\\u007f", "\x7f"], "lineSeparator": ["\\u2028", "\u2028"], '
        '"paragraphSeparator": ["\\u2029", "\u2029"], "mixed": "a\\"b\\\\c\\/d\\te"}',
    ),
    Jcs(
        "string-non-ascii-raw-vs-escaped",
        "Non-ASCII written raw and as \\u escapes (including a surrogate pair) gives the "
        "same raw UTF-8 output.",
        '{"raw": ["Z\u00fcrich", "\u20ac", "\U0001F600", "\u65e5\u672c"], '
        '"escaped": ["Z\\u00fcrich", "\\u20AC", "\\uD83D\\uDE00", "\\u65e5\\u672c"]}',
    ),
    Jcs(
        "numbers-exponent-boundaries",
        "ECMAScript number formatting boundaries: 1e21 and above use exponent notation "
        "(1e+21), 1e20 is printed in full, 1e-6 is 0.000001 but 1e-7 stays 1e-7; "
        "1E+2 is 100; extremes 1e23, -5e-324 and the largest double.",
        "[1e21, 1e20, 1e-7, 1e-6, 0.000001, 1E+2, 1e23, -5e-324, 1.7976931348623157e308, "
        "5E-324, 1e-323]",
    ),
    Jcs(
        "numbers-zero",
        "All spellings of zero, including -0 and -0.0, canonicalize to 0.",
        "[0, -0, 0.0, -0.0, 0e10, -0E-3, 0.000]",
    ),
    Jcs(
        "numbers-misc",
        "Shortest round-trip digits: 4.50 -> 4.5, 2e-3 -> 0.002, 333333333.33333329 -> "
        "333333333.3333333, 1.2345678901234568e+20 -> 123456789012345680000; "
        "9007199254740991 (2^53-1) exact.",
        "[0.1, 9007199254740991, -9007199254740991, 4.50, 2e-3, 333333333.33333329, "
        "1.2345678901234568e+20, 1.0, 100, -1.5E-3, 0.30000000000000004, 123.456e-2, "
        "1e-5, 12345.6789e10]",
    ),
    Jcs(
        "numbers-large-integral-floats",
        "Integral values of 2^53 and above written in float notation are formatted like "
        "ECMAScript (digits then zeros below 1e21). Integer tokens of that size are "
        "deliberately absent: rfc8785 refuses Python ints outside +-(2^53-1).",
        "[1e16, 9007199254740992.0, 1.8446744073709552e19, 9.223372036854776e18, "
        "1.5e16, 2e53]",
    ),
    Jcs(
        "nesting",
        "Nested objects and arrays: members are sorted at every depth, array order is "
        "kept.",
        """{"z": {"b": [3, {"y": 1, "x": [2, 1]}, []], "a": {"d": {"c": {"b": {"a": [[[]]]}}}}},
 "a": [{"b": 2, "a": 1}, [{"d": 4, "c": 3}], "s"], "m": {"": {"": {}}}}""",
    ),
    Jcs(
        "empty-containers-and-literals",
        "Empty object and array, true/false/null as values and as array elements "
        "(null array elements are kept).",
        '{ "obj" : { } , "arr" : [ ] , "both" : [ { } , [ ] ] , "t" : true , "f" : false , '
        '"n" : null , "list" : [ null , true , false , null ] }',
    ),
    Jcs(
        "whitespace-variants",
        "Insignificant whitespace of every allowed kind (space, tab, LF, CR) between "
        "tokens is removed; whitespace inside strings is kept.",
        '\r\n\t {\t"b"\r\n:\n[ 1 ,\t2\r,\n3 ] ,\r\n  "a" :\t" keep  \\t spaces " ,"c":{ }\n}\n\t ',
    ),
    Jcs(
        "top-level-array",
        "A top-level array with mixed scalars.",
        ' [ 3 , "b" , null , 1.0 , -0 , "\\u00e9" ] ',
    ),
    Jcs(
        "top-level-string",
        "A top-level string scalar.",
        '"\\u00e9\\/\\u2028x"',
    ),
    Jcs(
        "key-sorting-ascii",
        "ASCII keys sort by code unit: empty key first, upper case before '_' before lower "
        "case, a prefix before its extensions.",
        '{"b": 1, "a": 2, "B": 3, "A": 4, "_": 5, "aa": 6, "a0": 7, "": 8, "ab": 9, "Z": 10, "9": 11}',
    ),
    Jcs(
        "key-sorting-escaped-chars",
        "Keys containing characters that must be escaped sort by their unescaped code "
        "units (\\u0000 < \\n < \\\" < \\\\).",
        r'{"\\": 1, "\"": 2, "\n": 3, "\u0000": 4, "a\u0000": 5, "a": 6, "\u001f": 7}',
    ),
    Jcs(
        "key-sorting-utf16-vs-codepoint",
        "U+10000 and U+1F600 (surrogates D800/D83D) sort before U+E000 and U+FFFD in "
        "UTF-16 order, the opposite of code point order.",
        r'{"\ufffd": "replacement", "\ue000": "private use", "\ud800\udc00": "U+10000", '
        r'"\ud83d\ude00": "emoji", "\uff21": "fullwidth A", "\u00ff": "y diaeresis"}',
    ),
]


# ---- version hash --------------------------------------------------------------------

DOG_PACKAGE = """{
  "namespace": "dogs",
  "tables": [
    {
      "name": "dog",
      "columns": [
        { "name": "id", "type": "bigint", "nullable": false },
        { "name": "name", "type": "string", "maxLength": 200, "nullable": false },
        { "name": "weight", "type": "decimal", "precision": 10, "scale": 2 },
        { "name": "owner", "type": "string", "renamedFrom": "owner_name" },
        { "name": "active", "type": "boolean", "default": true }
      ],
      "primaryKey": ["id"],
      "indexes": [{ "name": "dog_name_idx", "columns": ["name"], "unique": false }],
      "comment": "One row per dog"
    }
  ]
}
"""

DOG_DATASET = """{
  "environmentId": "e2e404529091ed2",
  "datasetId": "9afc0c483ed3",
  "datasetAlias": "WsDevDogSrc",
  "engine": "postgres",
  "schema": "dogs",
  "migrationMode": "synchronous",
  "eventBusName": "default",
  "allowDestructive": ["dropColumn:dog.weight"]
}
"""

MIN_DATASET = (
    '{"environmentId": "e2e404529091ed2", "datasetId": "9afc0c483ed3", '
    '"engine": "postgres", "schema": "dogs"}'
)

# A package with one table whose columns are given as a JSON fragment.
def one_table(columns: str, extra: str = "") -> str:
    return (
        '{\n  "namespace": "dogs",\n  "tables": [\n    {\n      "name": "t",\n'
        '      "columns": [\n' + columns + "\n      ]" + extra + "\n    }\n  ]\n}\n"
    )


UNICODE_PACKAGE = """{
  "namespace": "places",
  "tables": [
    {
      "name": "city",
      "comment": "Städte der Schweiz 🇨🇭 — line\u2028separator, paragraph\u2029separator",
      "columns": [
        { "name": "id", "type": "int", "nullable": false },
        { "name": "name", "type": "string", "maxLength": 100, "default": "Zürich", "comment": "Ortsname (z. B. Zürich, Genève)" },
        { "name": "mood", "type": "string", "default": "😀 déjà vu 日本", "comment": "emoji 😀 and U+2028 \u2028 raw" },
        { "name": "euro", "type": "string", "maxLength": 4, "default": "€\u2028ö\u0080" }
      ],
      "primaryKey": ["id"]
    }
  ]
}
"""

UNICODE_PACKAGE_ESCAPED = r"""{"namespace":"places","tables":[{"name":"city","comment":"St\u00e4dte der Schweiz \ud83c\udde8\ud83c\udded \u2014 line\u2028separator, paragraph\u2029separator","columns":[{"name":"id","type":"int","nullable":false},{"name":"name","type":"string","maxLength":100,"default":"Z\u00FCrich","comment":"Ortsname (z. B. Z\u00fcrich, Gen\u00e8ve)"},{"name":"mood","type":"string","default":"\uD83D\uDE00 d\u00e9j\u00e0 vu \u65e5\u672c","comment":"emoji \ud83d\ude00 and U+2028 \u2028 raw"},{"name":"euro","type":"string","maxLength":4,"default":"\u20ac\u2028\u00f6\u0080"}],"primaryKey":["id"]}]}"""

ESCAPES_PACKAGE = one_table(
    r"""        { "name": "id", "type": "int", "nullable": false, "comment": "quote \" backslash \\ solidus \/ tab \t newline \n cr \r bs \b ff \f" },
        { "name": "note", "type": "string", "default": "C:\\temp\\\"x\"", "comment": "nul \u0000 us \u001f del \u007f ls \u2028 ps \u2029" }""",
    ',\n      "primaryKey": ["id"],\n      "comment": "</script> & \\u003c tag \\u003E"',
)

ESCAPES_PACKAGE_ALT = (
    '{"namespace":"dogs","tables":[{"comment":"</script> & < tag >","primaryKey":["id"],'
    '"columns":[{"comment":"quote \\" backslash \\\\ solidus / tab \\u0009 newline \\u000A cr '
    '\\u000d bs \\u0008 ff \\u000c","nullable":false,"type":"int","name":"id"},'
    '{"comment":"nul \\u0000 us \\u001F del \x7f ls \u2028 ps \u2029","default":'
    '"C:\\u005ctemp\\u005c\\u0022x\\u0022","type":"string","name":"note"}],"name":"t"}]}'
)

NUMERIC_PACKAGE = one_table(
    """        { "name": "id", "type": "int", "nullable": false, "default": -0 },
        { "name": "ratio", "type": "double", "default": 1e-7 },
        { "name": "tenth", "type": "double", "default": 0.1 },
        { "name": "big", "type": "bigint", "default": 9007199254740991 },
        { "name": "small", "type": "bigint", "default": -9007199254740991 },
        { "name": "price", "type": "decimal", "precision": 10, "scale": 2, "default": 4.50 },
        { "name": "neg", "type": "int", "default": -2147483648 },
        { "name": "pos", "type": "int", "default": 2147483647 },
        { "name": "half", "type": "double", "default": -2.5E+3 }""",
    ',\n      "primaryKey": ["id"]',
)

NUMERIC_PACKAGE_ALT = one_table(
    """        { "name": "id", "type": "int", "nullable": false, "default": 0 },
        { "name": "ratio", "type": "double", "default": 0.0000001 },
        { "name": "tenth", "type": "double", "default": 1.0E-1 },
        { "name": "big", "type": "bigint", "default": 9007199254740991 },
        { "name": "small", "type": "bigint", "default": -9007199254740991 },
        { "name": "price", "type": "decimal", "precision": 10, "scale": 2, "default": 4.5 },
        { "name": "neg", "type": "int", "default": -2147483648 },
        { "name": "pos", "type": "int", "default": 2147483647 },
        { "name": "half", "type": "double", "default": -2500.00 }""",
    ',\n      "primaryKey": ["id"]',
)

STRING_NUMBER_PACKAGE = one_table(
    """        { "name": "id", "type": "bigint", "nullable": false, "default": "9223372036854775807" },
        { "name": "low", "type": "bigint", "default": "-9223372036854775808" },
        { "name": "amount", "type": "decimal", "precision": 22, "scale": 2, "default": "12345678901234567890.12" },
        { "name": "rate", "type": "decimal", "precision": 38, "scale": 38, "default": "0.12345678901234567890123456789012345678" },
        { "name": "whole", "type": "decimal", "precision": 5, "default": 12345 }""",
    ',\n      "primaryKey": ["id"]',
)

ALL_TYPES_PACKAGE = """{
  "namespace": "kitchen_sink",
  "tables": [
    {
      "name": "everything",
      "columns": [
        { "name": "s", "type": "string", "maxLength": 8, "default": "abc" },
        { "name": "s_nolimit", "type": "string", "default": "" },
        { "name": "i", "type": "int", "default": 42 },
        { "name": "b", "type": "bigint", "default": -1 },
        { "name": "d", "type": "decimal", "precision": 12, "scale": 4, "default": "-0.5000" },
        { "name": "f", "type": "double", "default": 6.02214076e-23 },
        { "name": "flag", "type": "boolean", "nullable": false, "default": false },
        { "name": "day", "type": "date", "default": "2024-02-29" },
        { "name": "at", "type": "timestamp", "default": "2024-01-02T03:04:05.123456" },
        { "name": "at_short", "type": "timestamp", "default": "1999-12-31T23:59:59" },
        { "name": "at_utc", "type": "timestamptz", "default": "2024-01-02T03:04:05Z" },
        { "name": "at_zone", "type": "timestamptz", "default": "2024-01-02T03:04:05.5+05:30" },
        { "name": "doc", "type": "json", "default": "{\\"a\\": [1, 2.50, null], \\"b\\": {}}" },
        { "name": "uid", "type": "uuid", "nullable": false, "default": "123e4567-e89b-12d3-a456-426614174000" },
        { "name": "blob", "type": "binary", "default": "deadBEEF00" }
      ],
      "primaryKey": ["uid"],
      "indexes": [
        { "name": "everything_day_at_idx", "columns": ["day", "at"], "unique": false },
        { "name": "everything_s_key", "columns": ["s"], "unique": true }
      ],
      "comment": "one column of every type"
    }
  ]
}
"""

MULTI_TABLE_PACKAGE = """{
  "namespace": "kennel",
  "tables": [
    {
      "name": "owner",
      "columns": [
        { "name": "id", "type": "uuid", "nullable": false },
        { "name": "email", "type": "string", "maxLength": 320, "nullable": false },
        { "name": "joined", "type": "timestamptz" }
      ],
      "primaryKey": ["id"],
      "indexes": [{ "name": "owner_email_key", "columns": ["email"], "unique": true }]
    },
    {
      "name": "visit",
      "columns": [
        { "name": "owner_id", "type": "uuid", "nullable": false },
        { "name": "day", "type": "date", "nullable": false },
        { "name": "seq", "type": "int", "nullable": false, "default": 1 },
        { "name": "notes", "type": "json" }
      ],
      "primaryKey": ["owner_id", "day", "seq"],
      "indexes": [
        { "name": "visit_day_idx", "columns": ["day"], "unique": false },
        { "name": "visit_owner_day_idx", "columns": ["owner_id", "day"], "unique": false }
      ],
      "comment": "composite primary key"
    },
    {
      "name": "tag",
      "columns": [{ "name": "label", "type": "string", "maxLength": 40 }]
    }
  ]
}
"""

IDENTIFIERS_PACKAGE = (
    '{"namespace": "_Mixed_Case_9", "tables": [{"name": "'
    + "T" * 63
    + '", "columns": [{"name": "_", "type": "int", "nullable": false}, {"name": "'
    + "c" * 62
    + '9", "type": "string"}, {"name": "CamelCase", "type": "double"}, '
    '{"name": "snake_case_2", "type": "boolean"}], "primaryKey": ["_"], '
    '"indexes": [{"name": "IdxCamel", "columns": ["CamelCase", "snake_case_2"], "unique": true}]}, '
    '{"name": "lower", "columns": [{"name": "Id", "type": "int"}]}]}'
)


VH_CASES: list[VH] = [
    VH(
        "minimal",
        "Smallest valid package: one table, one column, nothing optional; dataset with "
        "only the four hashed fields.",
        '{"namespace":"n","tables":[{"name":"t","columns":[{"name":"id","type":"int"}]}]}',
        MIN_DATASET,
    ),
    VH(
        "minimal-pretty",
        "The minimal package and dataset pretty-printed with members reordered.",
        '{\n    "tables": [\n        {\n            "columns": [\n                {\n'
        '                    "type": "int",\n                    "name": "id"\n'
        '                }\n            ],\n            "name": "t"\n        }\n    ],\n'
        '    "namespace": "n"\n}\n',
        '{\n  "schema": "dogs",\n  "engine": "postgres",\n  "datasetId": "9afc0c483ed3",\n'
        '  "environmentId": "e2e404529091ed2"\n}\n',
        same_as="minimal",
    ),
    VH(
        "dog",
        "The dog package and dataset from docs/design.md (\"Inputs\") exactly as printed there. "
        "Base case for the dog-* vectors.",
        DOG_PACKAGE,
        DOG_DATASET,
    ),
    VH(
        "dog-minified",
        "Dog package and dataset minified (no whitespace at all).",
        '{"namespace":"dogs","tables":[{"name":"dog","columns":[{"name":"id","type":"bigint",'
        '"nullable":false},{"name":"name","type":"string","maxLength":200,"nullable":false},'
        '{"name":"weight","type":"decimal","precision":10,"scale":2},{"name":"owner",'
        '"type":"string","renamedFrom":"owner_name"},{"name":"active","type":"boolean",'
        '"default":true}],"primaryKey":["id"],"indexes":[{"name":"dog_name_idx","columns":'
        '["name"],"unique":false}],"comment":"One row per dog"}]}',
        '{"environmentId":"e2e404529091ed2","datasetId":"9afc0c483ed3","datasetAlias":'
        '"WsDevDogSrc","engine":"postgres","schema":"dogs","migrationMode":"synchronous",'
        '"eventBusName":"default","allowDestructive":["dropColumn:dog.weight"]}',
        same_as="dog",
    ),
    VH(
        "dog-reordered-members",
        "Dog package and dataset with object members in a different order at every "
        "depth (array element order unchanged).",
        """{
  "tables": [
    {
      "comment": "One row per dog",
      "indexes": [{ "unique": false, "columns": ["name"], "name": "dog_name_idx" }],
      "primaryKey": ["id"],
      "columns": [
        { "nullable": false, "type": "bigint", "name": "id" },
        { "nullable": false, "maxLength": 200, "name": "name", "type": "string" },
        { "scale": 2, "precision": 10, "type": "decimal", "name": "weight" },
        { "renamedFrom": "owner_name", "type": "string", "name": "owner" },
        { "default": true, "name": "active", "type": "boolean" }
      ],
      "name": "dog"
    }
  ],
  "namespace": "dogs"
}
""",
        """{
  "allowDestructive": ["dropColumn:dog.weight"],
  "schema": "dogs",
  "eventBusName": "default",
  "engine": "postgres",
  "migrationMode": "synchronous",
  "datasetAlias": "WsDevDogSrc",
  "datasetId": "9afc0c483ed3",
  "environmentId": "e2e404529091ed2"
}
""",
        same_as="dog",
    ),
    VH(
        "dog-tabs-crlf",
        "Dog package indented with tabs, CRLF line ends and spaces around every token; "
        "dataset on one line with extra spaces.",
        "{\r\n\t\"namespace\" : \"dogs\" ,\r\n\t\"tables\" : [\r\n\t\t{\r\n"
        "\t\t\t\"name\" : \"dog\" ,\r\n\t\t\t\"columns\" : [\r\n"
        "\t\t\t\t{ \"name\" : \"id\" , \"type\" : \"bigint\" , \"nullable\" : false } ,\r\n"
        "\t\t\t\t{ \"name\" : \"name\" , \"type\" : \"string\" , \"maxLength\" : 200 , \"nullable\" : false } ,\r\n"
        "\t\t\t\t{ \"name\" : \"weight\" , \"type\" : \"decimal\" , \"precision\" : 10 , \"scale\" : 2 } ,\r\n"
        "\t\t\t\t{ \"name\" : \"owner\" , \"type\" : \"string\" , \"renamedFrom\" : \"owner_name\" } ,\r\n"
        "\t\t\t\t{ \"name\" : \"active\" , \"type\" : \"boolean\" , \"default\" : true }\r\n"
        "\t\t\t] ,\r\n\t\t\t\"primaryKey\" : [ \"id\" ] ,\r\n"
        "\t\t\t\"indexes\" : [ { \"name\" : \"dog_name_idx\" , \"columns\" : [ \"name\" ] , \"unique\" : false } ] ,\r\n"
        "\t\t\t\"comment\" : \"One row per dog\"\r\n\t\t}\r\n\t]\r\n}\r\n",
        '  { "environmentId" : "e2e404529091ed2" ,  "datasetId" : "9afc0c483ed3" , '
        '"datasetAlias" : "WsDevDogSrc" , "engine" : "postgres" , "schema" : "dogs" , '
        '"migrationMode" : "synchronous" , "eventBusName" : "default" , '
        '"allowDestructive" : [ "dropColumn:dog.weight" ] }  ',
        same_as="dog",
    ),
    VH(
        "dog-unicode-escapes",
        "Dog package with some strings spelled with \\u escapes (\\u0064ogs, \\u0069d, "
        "upper- and lower-case hex): the parsed strings are identical.",
        r"""{
  "namespace": "\u0064ogs",
  "tables": [
    {
      "name": "do\u0067",
      "columns": [
        { "name": "\u0069d", "type": "bigint", "nullable": false },
        { "name": "name", "type": "\u0073tring", "maxLength": 200, "nullable": false },
        { "name": "weight", "type": "decimal", "precision": 10, "scale": 2 },
        { "name": "owner", "type": "string", "renamedFrom": "owner_name" },
        { "name": "active", "type": "boolean", "default": true }
      ],
      "primaryKey": ["id"],
      "indexes": [{ "name": "dog_name_idx", "columns": ["\u006E\u0061me"], "unique": false }],
      "comment": "One row per \u0064\u006Fg"
    }
  ]
}
""",
        DOG_DATASET.replace('"dogs"', '"\\u0064ogs"'),
        same_as="dog",
    ),
    VH(
        "dog-without-renamedFrom",
        "Dog package without the column's renamedFrom hint: rename hints are not hashed.",
        DOG_PACKAGE.replace(', "renamedFrom": "owner_name"', ""),
        DOG_DATASET,
        same_as="dog",
    ),
    VH(
        "dog-renamedFrom-lists",
        "Dog package with a list of rename hints on the column and on the table "
        "(string on the table, list on the column): not hashed.",
        DOG_PACKAGE.replace('"renamedFrom": "owner_name"', '"renamedFrom": ["owner_name", "owner_nm", "ownr"]')
        .replace('"name": "dog",', '"name": "dog",\n      "renamedFrom": "dogs_v1",'),
        DOG_DATASET,
        same_as="dog",
    ),
    VH(
        "dog-table-renamedFrom-list",
        "Dog package with a list of rename hints on the table: not hashed.",
        DOG_PACKAGE.replace('"name": "dog",', '"name": "dog",\n      "renamedFrom": ["doggo", "dogs_v1"],'),
        DOG_DATASET,
        same_as="dog",
    ),
    VH(
        "dog-explicit-nulls",
        "Dog package with null-valued members (\"comment\": null, \"default\": null, "
        "\"renamedFrom\": null on the table and a column, \"maxLength\": null) and a "
        "dataset with \"datasetAlias\": null and \"eventBusName\": null: a null member "
        "means an absent one.",
        """{
  "namespace": "dogs",
  "tables": [
    {
      "name": "dog",
      "renamedFrom": null,
      "columns": [
        { "name": "id", "type": "bigint", "nullable": false, "comment": null },
        { "name": "name", "type": "string", "maxLength": 200, "nullable": false, "default": null },
        { "name": "weight", "type": "decimal", "precision": 10, "scale": 2, "comment": null, "default": null },
        { "name": "owner", "type": "string", "renamedFrom": "owner_name", "maxLength": null },
        { "name": "active", "type": "boolean", "default": true, "renamedFrom": null }
      ],
      "primaryKey": ["id"],
      "indexes": [{ "name": "dog_name_idx", "columns": ["name"], "unique": false }],
      "comment": "One row per dog"
    }
  ]
}
""",
        DOG_DATASET.replace('"WsDevDogSrc"', "null").replace('"default"', "null"),
        same_as="dog",
    ),
    VH(
        "dog-dataset-other-alias-mode-bus",
        "Dog package; dataset with another datasetAlias, migrationMode asynchronous and a "
        "custom eventBusName: none of these are hashed.",
        DOG_PACKAGE,
        DOG_DATASET.replace("WsDevDogSrc", "WsProdDogSrc")
        .replace('"synchronous"', '"asynchronous"')
        .replace('"eventBusName": "default"', '"eventBusName": "depot-events"'),
        same_as="dog",
    ),
    VH(
        "dog-dataset-only-hashed-fields",
        "Dog package; dataset with only environmentId, datasetId, engine and schema.",
        DOG_PACKAGE,
        MIN_DATASET,
        same_as="dog",
    ),
    VH(
        "dog-allowDestructive-true",
        "Dog package; dataset with \"allowDestructive\": true.",
        DOG_PACKAGE,
        DOG_DATASET.replace('["dropColumn:dog.weight"]', "true"),
        same_as="dog",
    ),
    VH(
        "dog-allowDestructive-false",
        "Dog package; dataset with \"allowDestructive\": false.",
        DOG_PACKAGE,
        DOG_DATASET.replace('["dropColumn:dog.weight"]', "false"),
        same_as="dog",
    ),
    VH(
        "dog-engine-aurora",
        "Dog package; dataset engine aurora-postgresql instead of postgres: a new version.",
        DOG_PACKAGE,
        DOG_DATASET.replace('"postgres"', '"aurora-postgresql"'),
        differs_from=["dog"],
    ),
    VH(
        "dog-engine-snowflake",
        "Dog package; dataset engine snowflake instead of postgres: a new version.",
        DOG_PACKAGE,
        DOG_DATASET.replace('"postgres"', '"snowflake"'),
        differs_from=["dog", "dog-engine-aurora"],
    ),
    VH(
        "dog-engine-sqlite",
        "Dog package; dataset engine sqlite instead of postgres: a new version.",
        DOG_PACKAGE,
        DOG_DATASET.replace('"postgres"', '"sqlite"'),
        differs_from=["dog", "dog-engine-aurora", "dog-engine-snowflake"],
    ),
    VH(
        "dog-schema-changed",
        "Dog package; dataset schema dogs_v2 instead of dogs: a new version.",
        DOG_PACKAGE,
        DOG_DATASET.replace('"schema": "dogs"', '"schema": "dogs_v2"'),
        differs_from=["dog"],
    ),
    VH(
        "dog-environment-changed",
        "Dog package; another environmentId: a new version.",
        DOG_PACKAGE,
        DOG_DATASET.replace("e2e404529091ed2", "f00d00000000001"),
        differs_from=["dog"],
    ),
    VH(
        "dog-datasetId-changed",
        "Dog package; another datasetId: a new version.",
        DOG_PACKAGE,
        DOG_DATASET.replace("9afc0c483ed3", "9afc0c483ed4"),
        differs_from=["dog"],
    ),
    VH(
        "dog-column-changed",
        "Dog package with maxLength 250 instead of 200 on dog.name: a new version.",
        DOG_PACKAGE.replace('"maxLength": 200', '"maxLength": 250'),
        DOG_DATASET,
        differs_from=["dog"],
    ),
    VH(
        "dog-columns-reordered",
        "Dog package with the columns weight and owner swapped: array order is part of "
        "the package, so this is a new version.",
        DOG_PACKAGE.replace(
            '        { "name": "weight", "type": "decimal", "precision": 10, "scale": 2 },\n'
            '        { "name": "owner", "type": "string", "renamedFrom": "owner_name" },\n',
            '        { "name": "owner", "type": "string", "renamedFrom": "owner_name" },\n'
            '        { "name": "weight", "type": "decimal", "precision": 10, "scale": 2 },\n',
        ),
        DOG_DATASET,
        differs_from=["dog"],
    ),
    VH(
        "dog-explicit-nullable-true",
        "Dog package with \"nullable\": true written on dog.weight. Same meaning as the "
        "absent member, but the package is hashed as given (only nulls and renamedFrom "
        "are dropped), so this is a new version.",
        DOG_PACKAGE.replace('"precision": 10, "scale": 2 }', '"precision": 10, "scale": 2, "nullable": true }'),
        DOG_DATASET,
        differs_from=["dog"],
    ),
    VH(
        "unicode-text",
        "Raw non-ASCII in comments and string defaults: Zürich, emoji (flag and face), "
        "CJK, raw U+2028/U+2029, U+0080.",
        UNICODE_PACKAGE,
        MIN_DATASET,
    ),
    VH(
        "unicode-text-escaped",
        "The unicode-text package minified with every non-ASCII character written as a "
        "\\u escape (surrogate pairs for astral characters).",
        UNICODE_PACKAGE_ESCAPED,
        MIN_DATASET,
        same_as="unicode-text",
    ),
    VH(
        "comment-escapes",
        "Comments and a string default containing quote, backslash, solidus, the short "
        "escapes, U+0000, U+001F, U+007F, U+2028, U+2029 and HTML-ish text.",
        ESCAPES_PACKAGE,
        MIN_DATASET,
    ),
    VH(
        "comment-escapes-alt",
        "The comment-escapes package minified, members reordered, with other escape "
        "spellings (\\u0009 for \\t, \\u005c for \\\\, raw DEL / U+2028, unescaped '/').",
        ESCAPES_PACKAGE_ALT,
        MIN_DATASET,
        same_as="comment-escapes",
    ),
    VH(
        "numeric-defaults",
        "Number defaults: -0 on an int column, 1e-7 and 0.1 on double columns, "
        "+-9007199254740991 (2^53-1) on bigint columns, 4.50 on decimal(10,2), i32 "
        "extremes, -2.5E+3 on a double.",
        NUMERIC_PACKAGE,
        MIN_DATASET,
    ),
    VH(
        "numeric-defaults-alt-notation",
        "The numeric-defaults package with other spellings of the same numbers "
        "(0 for -0, 0.0000001 for 1e-7, 1.0E-1 for 0.1, 4.5 for 4.50, -2500.00 for "
        "-2.5E+3).",
        NUMERIC_PACKAGE_ALT,
        MIN_DATASET,
        same_as="numeric-defaults",
    ),
    VH(
        "string-number-defaults",
        "Exact numbers as strings: bigint defaults \"9223372036854775807\" and "
        "\"-9223372036854775808\", decimal(22,2) default \"12345678901234567890.12\", "
        "decimal(38,38) with 38 fraction digits, decimal(5) with integer default 12345.",
        STRING_NUMBER_PACKAGE,
        MIN_DATASET,
    ),
    VH(
        "all-types",
        "One column of every type with a valid default (date, timestamp with and "
        "without fraction, timestamptz Z and +05:30, uuid, json text, binary hex), a "
        "uuid primary key and two indexes.",
        ALL_TYPES_PACKAGE,
        MIN_DATASET.replace('"postgres"', '"aurora-postgresql"').replace('"dogs"', '"kitchen"'),
    ),
    VH(
        "multi-table",
        "Three tables, composite primary key, unique and multi-column indexes, a json "
        "column outside keys; snowflake dataset.",
        MULTI_TABLE_PACKAGE,
        '{"environmentId": "e2e404529091ed2", "datasetId": "0123456789ab", '
        '"datasetAlias": "Kennel", "engine": "snowflake", "schema": "KENNEL", '
        '"migrationMode": "asynchronous", "allowDestructive": ["dropTable:kennel.tag", "dropColumn:visit.notes"]}',
    ),
    VH(
        "identifiers",
        "Identifier edge cases: 63-character table and column names, a lone '_', mixed "
        "case; sqlite dataset.",
        IDENTIFIERS_PACKAGE,
        '{"environmentId": "e2e404529091ed2", "datasetId": "9afc0c483ed3", '
        '"engine": "sqlite", "schema": "main"}',
    ),
    # ---- must be rejected --------------------------------------------------------
    VH(
        "error-bigint-default-2p53",
        "Integer default 9007199254740992 (2^53) on a bigint column: not exactly "
        "representable in JCS, must be written as a string.",
        one_table('        { "name": "id", "type": "bigint", "default": 9007199254740992 }'),
        MIN_DATASET,
        error="DM1008",
    ),
    VH(
        "error-bigint-default-minus-2p53",
        "Integer default -9007199254740992 (-2^53) on a bigint column.",
        one_table('        { "name": "id", "type": "bigint", "default": -9007199254740992 }'),
        MIN_DATASET,
        error="DM1008",
    ),
    VH(
        "error-double-default-1e16",
        "Float-notation default 1e16 on a double column: its value is an integer of "
        "magnitude >= 2^53, rejected whatever the notation.",
        one_table('        { "name": "x", "type": "double", "default": 1e16 }'),
        MIN_DATASET,
        error="DM1008",
    ),
    VH(
        "error-double-default-1e21",
        "Default 1e21 on a double column.",
        one_table('        { "name": "x", "type": "double", "default": 1e21 }'),
        MIN_DATASET,
        error="DM1008",
    ),
    VH(
        "error-double-default-2p53-decimal-point",
        "Default 9007199254740992.0 (2^53 with a fraction part of zero) on a double "
        "column.",
        one_table('        { "name": "x", "type": "double", "default": 9007199254740992.0 }'),
        MIN_DATASET,
        error="DM1008",
    ),
    VH(
        "error-unknown-column-field",
        "Misspelled column member \"nulable\": false (unknown field).",
        one_table('        { "name": "id", "type": "int", "nulable": false }'),
        MIN_DATASET,
        error="DM1007",
    ),
    VH(
        "error-malformed-json-truncated",
        "Package text that is not JSON (truncated).",
        '{"namespace": "dogs", "tables": [{"name": "dog", "columns": [',
        MIN_DATASET,
        error="DM1003",
    ),
    VH(
        "error-malformed-json-trailing-comma",
        "Package text that is not JSON (trailing comma).",
        '{"namespace": "dogs", "tables": [{"name": "t", "columns": [{"name": "id", "type": "int"}]},]}',
        MIN_DATASET,
        error="DM1003",
    ),
]

# ---- service-schema members (enums, identity, keys, checks, function defaults) --------

ORDERS_PACKAGE = """{
  "namespace": "shop",
  "enums": [
    { "name": "order_status", "values": ["pending", "paid", "shipped", "cancelled"], "renamedFrom": "status_v1" }
  ],
  "tables": [
    {
      "name": "customers",
      "columns": [
        { "name": "id", "type": "bigint", "identity": "always", "nullable": false },
        { "name": "email", "type": "string", "maxLength": 320, "nullable": false },
        { "name": "country", "type": "char", "maxLength": 2 },
        { "name": "created_at", "type": "timestamptz", "nullable": false, "default": { "function": "now" } }
      ],
      "primaryKey": ["id"],
      "uniqueConstraints": [{ "name": "customers_email_key", "columns": ["email"] }],
      "checks": [{ "name": "customers_email_at", "expression": "email LIKE '%@%'" }]
    },
    {
      "name": "orders",
      "columns": [
        { "name": "id", "type": "bigint", "identity": "byDefault", "start": 1000, "increment": 1, "nullable": false },
        { "name": "customer_id", "type": "bigint", "nullable": false },
        { "name": "status", "type": "enum", "enum": "order_status", "nullable": false, "default": "pending" },
        { "name": "total", "type": "numeric", "nullable": false, "default": 0 },
        { "name": "public_id", "type": "uuid", "default": { "function": "genRandomUuid" } },
        { "name": "placed_on", "type": "date", "default": { "function": "currentDate" } },
        { "name": "tags", "type": "array", "items": "string", "maxLength": 40 },
        { "name": "meta", "type": "json", "jsonStorage": "text" },
        { "name": "delivery_window", "type": "interval" }
      ],
      "primaryKey": ["id"],
      "foreignKeys": [
        { "name": "orders_customer_fk", "columns": ["customer_id"], "references": { "table": "customers", "columns": ["id"] },
          "onDelete": "restrict", "onUpdate": "cascade", "deferrable": "initiallyDeferred" }
      ],
      "checks": [{ "name": "orders_total_nonneg", "expression": "total >= 0" }]
    },
    {
      "name": "order_items",
      "columns": [
        { "name": "order_id", "type": "bigint", "nullable": false },
        { "name": "line", "type": "smallint", "nullable": false },
        { "name": "quantity", "type": "int", "nullable": false, "default": 1 },
        { "name": "unit_price", "type": "decimal", "precision": 12, "scale": 2, "nullable": false },
        { "name": "weight_kg", "type": "real" },
        { "name": "pick_time", "type": "time", "default": "08:30:00" }
      ],
      "primaryKey": ["order_id", "line"],
      "foreignKeys": [
        { "name": "order_items_order_fk", "columns": ["order_id"], "references": { "table": "orders", "columns": ["id"] }, "onDelete": "cascade" }
      ],
      "checks": [
        { "name": "order_items_quantity_pos", "expression": "quantity > 0 AND quantity <= 1000" },
        { "name": "order_items_price", "expression": "unit_price BETWEEN 0 AND 100000" }
      ]
    }
  ]
}"""

ORDERS_DATASET = ('{"environmentId": "e2e404529091ed2", "datasetId": "0rders000001", '
                  '"engine": "postgres", "schema": "shop"}')

ORDERS_SQLITE_PACKAGE = """{"namespace":"shop","enums":[{"name":"order_status","values":["pending","paid"]}],
"tables":[{"name":"customers","columns":[{"name":"id","type":"bigint","identity":"byDefault"},
{"name":"created_at","type":"timestamp","default":{"function":"currentTimestamp"}}],"primaryKey":["id"]},
{"name":"orders","columns":[{"name":"id","type":"int","identity":"byDefault"},{"name":"customer_id","type":"bigint"},
{"name":"status","type":"enum","enum":"order_status","default":"paid"},{"name":"tags","type":"array","items":"int"}],
"primaryKey":["id"],"foreignKeys":[{"name":"orders_customer_fk","columns":["customer_id"],"references":{"table":"customers","columns":["id"]},"onDelete":"setNull"}],
"checks":[{"name":"orders_status_known","expression":"status IN ('pending', 'paid') OR status IS NULL"}]}]}"""


def _reorder(text: str) -> str:
    """The same document minified with every object's members in reverse order."""
    def rev(v):
        if isinstance(v, dict):
            return {k: rev(v[k]) for k in reversed(list(v))}
        if isinstance(v, list):
            return [rev(x) for x in v]
        return v
    return json.dumps(rev(json.loads(text)), separators=(",", ":"), ensure_ascii=True)


VH_CASES += [
    VH(
        "orders-service-members",
        "A service schema using every member added for service schemas: a package enum "
        "(with renamedFrom), identity always/byDefault with start and increment, char, "
        "numeric, smallint, real, time, interval, an array of strings, json stored as "
        "text, function defaults now/genRandomUuid/currentDate, named unique constraints, "
        "foreign keys with actions and deferrable, check constraints; postgres dataset.",
        ORDERS_PACKAGE,
        ORDERS_DATASET,
        differs_from=["dog"],
    ),
    VH(
        "orders-service-members-reordered",
        "The orders package minified, every object's members in reverse order, non-ASCII "
        "escaped.",
        _reorder(ORDERS_PACKAGE),
        ORDERS_DATASET,
        same_as="orders-service-members",
    ),
    VH(
        "orders-enum-without-renamedFrom",
        "The orders package without the enum's renamedFrom hint: rename hints on enums "
        "are not hashed either.",
        ORDERS_PACKAGE.replace(', "renamedFrom": "status_v1"', ""),
        ORDERS_DATASET,
        same_as="orders-service-members",
    ),
    VH(
        "orders-check-expression-changed",
        "The orders package with one check expression written differently "
        "(total >= 0 -> total > -1): the expression text is hashed as written.",
        ORDERS_PACKAGE.replace('"total >= 0"', '"total > -1"'),
        ORDERS_DATASET,
        differs_from=["orders-service-members"],
    ),
    VH(
        "orders-sqlite",
        "A smaller service schema for sqlite: identity on the single-column integer "
        "primary key, an enum column, an array of int, a currentTimestamp default, a "
        "foreign key with onDelete setNull and a check with IN and IS NULL.",
        ORDERS_SQLITE_PACKAGE,
        '{"environmentId": "e2e404529091ed2", "datasetId": "0rders000001", '
        '"engine": "sqlite", "schema": "main"}',
    ),
    VH(
        "error-foreign-key-unknown-member",
        "Misspelled foreign-key member \"onDelet\" (unknown field).",
        ORDERS_PACKAGE.replace('"onDelete": "restrict"', '"onDelet": "restrict"'),
        ORDERS_DATASET,
        error="DM1007",
    ),
]


# ---- views and grants (docs/views-and-grants.md), numbers 090-099 -------------------

ORDERS_VIEWS_PACKAGE = ORDERS_PACKAGE.rstrip()[:-1].rstrip() + """,
  "views": [
    { "name": "customer_totals", "renamedFrom": "customer_spend", "comment": "per customer",
      "query": "SELECT c.email, count(o.id) AS orders, sum(o.total) AS spent FROM customers c LEFT JOIN orders o ON o.customer_id = c.id GROUP BY c.email" },
    { "name": "status_counts", "materialized": true, "columns": ["status", "n"],
      "query": "SELECT status, count(*) FROM orders GROUP BY status" }
  ],
  "grants": [
    { "role": "reporting", "privileges": ["select"], "on": { "views": "all" }, "future": true },
    { "role": "orders_app", "privileges": ["select", "insert", "update"], "on": { "tables": ["orders", "order_items"] } },
    { "role": "orders_app", "privileges": ["usage"], "on": { "sequences": "all" } }
  ]
}"""

VH_CASES += [
    VH(
        "orders-views-grants",
        "The orders package with views (one materialized, with columns, a comment and a "
        "renamedFrom hint) and grants (views all with future, listed tables, all "
        "sequences); postgres dataset. views are hashed after tables, grants after enums.",
        ORDERS_VIEWS_PACKAGE,
        ORDERS_DATASET,
        differs_from=["orders-service-members"],
        number=90,
    ),
    VH(
        "orders-views-grants-reordered",
        "The same package minified, every object's members in reverse order.",
        _reorder(ORDERS_VIEWS_PACKAGE),
        ORDERS_DATASET,
        same_as="orders-views-grants",
        number=91,
    ),
    VH(
        "orders-views-without-renamedFrom",
        "Without the view's renamedFrom hint: rename hints on views are not hashed.",
        ORDERS_VIEWS_PACKAGE.replace(' "renamedFrom": "customer_spend",', ""),
        ORDERS_DATASET,
        same_as="orders-views-grants",
        number=92,
    ),
    VH(
        "orders-view-query-changed",
        "One view query written differently (count(o.id) -> count(*)): the query text is "
        "hashed as written.",
        ORDERS_VIEWS_PACKAGE.replace("count(o.id)", "count(*)"),
        ORDERS_DATASET,
        differs_from=["orders-views-grants"],
        number=93,
    ),
    VH(
        "orders-grant-privileges-reordered",
        "The privileges of one grant in another order: lists are hashed in the order "
        "written.",
        ORDERS_VIEWS_PACKAGE.replace('["select", "insert", "update"]', '["update", "select", "insert"]'),
        ORDERS_DATASET,
        differs_from=["orders-views-grants"],
        number=94,
    ),
    VH(
        "orders-view-materialized-false",
        "\"materialized\": false written out on the first view: a member given is hashed "
        "(false differs from absent, as for every optional boolean).",
        ORDERS_VIEWS_PACKAGE.replace('"comment": "per customer",', '"comment": "per customer", "materialized": false,'),
        ORDERS_DATASET,
        differs_from=["orders-views-grants"],
        number=95,
    ),
    VH(
        "orders-views-only",
        "Views without grants on a sqlite dataset (views exist on SQLite; grants do not).",
        ORDERS_SQLITE_PACKAGE.rstrip()[:-1] + ',"views":[{"name":"paid_orders","query":"SELECT id, customer_id FROM orders WHERE status = \'paid\'"}]}',
        '{"environmentId": "e2e404529091ed2", "datasetId": "0rders000001", '
        '"engine": "sqlite", "schema": "main"}',
        differs_from=["orders-sqlite"],
        number=96,
    ),
    VH(
        "error-view-unknown-member",
        "Misspelled view member \"materialised\" (unknown field).",
        ORDERS_VIEWS_PACKAGE.replace('"materialized": true', '"materialised": true'),
        ORDERS_DATASET,
        error="DM1007",
        number=97,
    ),
    VH(
        "error-grant-unknown-member",
        "Misspelled grant member \"futur\" (unknown field).",
        ORDERS_VIEWS_PACKAGE.replace('"future": true', '"futur": true'),
        ORDERS_DATASET,
        error="DM1007",
        number=98,
    ),
]


# ---- index options (partial, expression keys, order/nulls, include, method) ----------

INDEX_PACKAGE = """{
  "namespace": "shop",
  "tables": [
    {
      "name": "accounts",
      "columns": [
        { "name": "id", "type": "bigint", "nullable": false },
        { "name": "email", "type": "string", "maxLength": 320, "nullable": false },
        { "name": "deleted_at", "type": "timestamptz" },
        { "name": "score", "type": "int" },
        { "name": "tags", "type": "array", "items": "string" },
        { "name": "profile", "type": "json" }
      ],
      "primaryKey": ["id"],
      "indexes": [
        { "name": "accounts_email_live", "columns": [{ "expression": "lower(email)" }], "unique": true,
          "where": "deleted_at IS NULL" },
        { "name": "accounts_score", "columns": [{ "column": "score", "order": "desc", "nulls": "last" }, "id"],
          "include": ["email"] },
        { "name": "accounts_tags", "columns": ["tags"], "method": "gin" },
        { "name": "accounts_profile", "columns": ["profile"], "method": "gin" },
        { "name": "accounts_id_hash", "columns": ["id"], "method": "hash" }
      ]
    }
  ]
}"""

INDEX_DATASET = ('{"environmentId": "e2e404529091ed2", "datasetId": "acc0unts0001", '
                 '"engine": "postgres", "schema": "shop"}')

VH_CASES += [
    VH(
        "index-options",
        "Index options on postgres: a unique partial expression index (lower(email) where "
        "deleted_at IS NULL), a key with order desc and nulls last plus a plain key and an "
        "include column, gin on an array and on a json column, a hash index.",
        INDEX_PACKAGE,
        INDEX_DATASET,
        number=80,
    ),
    VH(
        "index-options-reordered",
        "The index-options package minified with every object's members in reverse order.",
        _reorder(INDEX_PACKAGE),
        INDEX_DATASET,
        same_as="index-options",
        number=81,
    ),
    VH(
        "index-options-online-and-renamedFrom",
        "The index-options package with \"online\": true and a renamedFrom on an index, "
        "and a dataset with \"onlineIndexes\": true: how indexes are built and what they "
        "were called are not hashed.",
        INDEX_PACKAGE.replace('"method": "hash" }', '"method": "hash", "online": true, "renamedFrom": "accounts_id_h" }'),
        INDEX_DATASET.replace('"schema": "shop"}', '"schema": "shop", "onlineIndexes": true}'),
        same_as="index-options",
        number=82,
    ),
    VH(
        "index-where-changed",
        "The index-options package with the partial index's condition written differently: "
        "the condition text is hashed as written.",
        INDEX_PACKAGE.replace('"deleted_at IS NULL"', '"deleted_at is null"'),
        INDEX_DATASET,
        differs_from=["index-options"],
        number=83,
    ),
    VH(
        "index-order-changed",
        "The index-options package with a key's order asc instead of desc.",
        INDEX_PACKAGE.replace('"order": "desc"', '"order": "asc"'),
        INDEX_DATASET,
        differs_from=["index-options"],
        number=84,
    ),
    VH(
        "index-column-object-vs-name",
        "An index key written as {\"column\": \"id\"} instead of \"id\": hashed as written, so "
        "a different version.",
        INDEX_PACKAGE.replace(
            '{ "name": "accounts_id_hash", "columns": ["id"]', '{ "name": "accounts_id_hash", "columns": [{ "column": "id" }]'),
        INDEX_DATASET,
        differs_from=["index-options"],
        number=85,
    ),
    VH(
        "index-sqlite-partial-expression",
        "SQLite: a partial index and an expression key with order desc.",
        """{"namespace":"shop","tables":[{"name":"accounts","columns":[{"name":"id","type":"int","nullable":false},
{"name":"email","type":"string"},{"name":"deleted_at","type":"timestamp"}],"primaryKey":["id"],
"indexes":[{"name":"accounts_email_live","columns":[{"expression":"lower(email)","order":"desc"}],"unique":true,"where":"deleted_at IS NULL"}]}]}""",
        '{"environmentId": "e2e404529091ed2", "datasetId": "acc0unts0001", '
        '"engine": "sqlite", "schema": "main"}',
        number=86,
    ),
    VH(
        "error-index-key-unknown-member",
        "Misspelled index key member \"ordr\" (unknown field).",
        INDEX_PACKAGE.replace('"order": "desc"', '"ordr": "desc"'),
        INDEX_DATASET,
        error="DM1007",
        number=87,
    ),
]

# --------------------------------------------------------------------------------------
# Version hash (docs/design.md, "Version hash")
# --------------------------------------------------------------------------------------


def strip_nulls(v):
    """Remove every object member whose value is null, at any depth (null array
    elements are not members and stay)."""
    if isinstance(v, dict):
        return {k: strip_nulls(x) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [strip_nulls(x) for x in v]
    return v


def hash_document(package_text: str, dataset_text: str) -> dict:
    package = strip_nulls(json.loads(package_text))
    dataset = strip_nulls(json.loads(dataset_text))
    for enum in package.get("enums", []):
        enum.pop("renamedFrom", None)
    for view in package.get("views", []):
        view.pop("renamedFrom", None)
    for table in package.get("tables", []):
        table.pop("renamedFrom", None)
        for column in table.get("columns", []):
            column.pop("renamedFrom", None)
        # How an index is built (online) and what it was called are not schema.
        for index in table.get("indexes", []):
            index.pop("renamedFrom", None)
            index.pop("online", None)
    picked = {k: dataset[k] for k in ("environmentId", "datasetId", "engine", "schema")}
    return {"dataset": picked, "package": package}


def version_hash(package_text: str, dataset_text: str) -> str:
    canonical = rfc8785.dumps(hash_document(package_text, dataset_text))
    return hashlib.sha256(canonical).hexdigest()


# --------------------------------------------------------------------------------------
# Validation (sanity check of the cases themselves; a transcription of the rules)
# --------------------------------------------------------------------------------------

# Problem classes and the error codes the vectors use for them.
CODE_OF = {"json": "DM1003", "unknown": "DM1007", "range": "DM1008"}

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
TYPES = {"string", "int", "bigint", "decimal", "double", "boolean", "date", "timestamp",
         "timestamptz", "json", "uuid", "binary", "smallint", "real", "time", "char",
         "numeric", "interval", "array", "enum"}
TABLE_KEYS = {"name", "columns", "primaryKey", "indexes", "comment", "renamedFrom",
              "uniqueConstraints", "foreignKeys", "checks"}
COLUMN_KEYS = {"name", "type", "nullable", "maxLength", "precision", "scale", "default",
               "comment", "renamedFrom", "enum", "items", "jsonStorage", "identity", "start",
               "increment"}
ENUM_KEYS = {"name", "values", "renamedFrom"}
VIEW_KEYS = {"name", "query", "columns", "materialized", "comment", "renamedFrom"}
GRANT_KEYS = {"role", "privileges", "on", "future"}
PRIVILEGES = {"select", "insert", "update", "delete", "truncate", "references", "usage"}
UNIQUE_KEYS = {"name", "columns"}
FK_KEYS = {"name", "columns", "references", "onDelete", "onUpdate", "deferrable"}
CHECK_KEYS = {"name", "expression"}
FUNCTIONS = {"now": {"timestamp", "timestamptz"}, "currentTimestamp": {"timestamp", "timestamptz"},
             "currentDate": {"date"}, "currentTime": {"time"}, "genRandomUuid": {"uuid"}}
ACTIONS = {"noAction", "restrict", "cascade", "setNull", "setDefault"}
INDEX_KEYS = {"name", "columns", "unique", "where", "include", "method", "online", "renamedFrom"}
INDEX_KEY_KEYS = {"column", "expression", "order", "nulls"}
INDEX_METHODS = {"btree", "hash", "gin", "gist", "brin"}
DATASET_KEYS = {"environmentId", "datasetId", "datasetAlias", "engine", "schema",
                "migrationMode", "eventBusName", "allowDestructive", "onlineIndexes"}
ENGINES = {"postgres", "aurora-postgresql", "snowflake", "sqlite"}
MODES = {"synchronous", "asynchronous"}
DATE = r"\d{4}-\d{2}-\d{2}"
TIME = r"\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?"
TS = re.compile(DATE + "T" + TIME)
TSTZ = re.compile(DATE + "T" + TIME + r"(?:Z|[+-]\d{2}:\d{2})")
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
HEX = re.compile(r"(?:[0-9a-fA-F]{2})*")
INT_STR = re.compile(r"-?\d+")
DEC_STR = re.compile(r"[+-]?\d+(?:\.\d+)?")
LIMIT = 2**53


class IntTok(int):
    token: str


class FloatTok(float):
    token: str


def _int_tok(s):
    v = IntTok(int(s))
    v.token = s
    return v


def _float_tok(s):
    v = FloatTok(float(s))
    v.token = s
    return v


def _bad_constant(s):
    raise ValueError(f"not JSON: {s}")


def parse_tokens(text: str):
    return json.loads(text, parse_int=_int_tok, parse_float=_float_tok,
                      parse_constant=_bad_constant)


def is_num(v) -> bool:
    return isinstance(v, (IntTok, FloatTok))


def is_int_tok(v) -> bool:
    return isinstance(v, IntTok)


class Problems(list):
    def add(self, kind: str, path: str, msg: str):
        self.append((kind, path, msg))


def check_numbers(v, path: str, out: Problems):
    if isinstance(v, dict):
        for k, x in v.items():
            check_numbers(x, f"{path}.{k}", out)
    elif isinstance(v, list):
        for i, x in enumerate(v):
            check_numbers(x, f"{path}[{i}]", out)
    elif isinstance(v, FloatTok):
        if not math.isfinite(v) or (v.is_integer() and abs(v) >= LIMIT):
            out.add("range", path, f"number {v.token} is an integer >= 2^53")
    elif isinstance(v, IntTok):
        if abs(v) >= LIMIT:
            out.add("range", path, f"number {v.token} is an integer >= 2^53")


def check_ident(v, path, out):
    if not isinstance(v, str) or not IDENT.fullmatch(v):
        out.add("other", path, f"bad identifier {v!r}")


def check_unique(names, path, out):
    seen = set()
    for n in names:
        if isinstance(n, str):
            if n.lower() in seen:
                out.add("other", path, f"duplicate {n!r}")
            seen.add(n.lower())


def _parses(fn, text) -> bool:
    try:
        fn(text)
        return True
    except ValueError:
        return False


def check_default(col, path, out, enums=None):
    t, d = col.get("type"), col["default"]
    if isinstance(d, dict):
        if d.keys() != {"function"} or t not in FUNCTIONS.get(d.get("function"), set()):
            out.add("other", path, f"bad function default {d!r} for {t}")
        return
    if t == "enum":
        if d not in (enums or {}).get(col.get("enum"), []):
            out.add("other", path, f"default {d!r} is not a value of the enum")
        return
    if t in ("smallint", "real", "time", "char", "numeric"):
        t = {"smallint": "int", "real": "double", "char": "string"}.get(t, t)
        if t == "time":
            if not (isinstance(d, str) and re.fullmatch(TIME, d)):
                out.add("other", path, f"bad time default {d!r}")
            return
        if t == "numeric":
            if not (is_num(d) or (isinstance(d, str) and DEC_STR.fullmatch(d))):
                out.add("other", path, f"bad numeric default {d!r}")
            return
    if t in ("interval", "array"):
        out.add("other", path, f"no default on {t}")
        return
    if is_num(d) and (not math.isfinite(d) or (abs(d) >= LIMIT)):
        out.add("range", path, "number default out of range")
        return
    ok = True
    if t == "string":
        ok = isinstance(d, str) and len(d) <= col.get("maxLength", 10**9)
    elif t == "int":
        ok = is_int_tok(d) and -(2**31) <= d < 2**31
    elif t == "bigint":
        ok = is_int_tok(d) or (isinstance(d, str) and INT_STR.fullmatch(d)
                               and -(2**63) <= int(d) < 2**63)
    elif t == "decimal":
        if is_num(d) or (isinstance(d, str) and DEC_STR.fullmatch(d)):
            _, digits, exp = decimal.Decimal(d.token if is_num(d) else d).as_tuple()
            digits = list(digits)
            while exp < 0 and len(digits) > 1 and digits[-1] == 0:  # 4.50 -> 4.5
                digits.pop()
                exp += 1
            while len(digits) > 1 and digits[0] == 0:
                digits.pop(0)
            frac = max(0, -exp)
            total = max(0, len(digits) + exp) + frac
            ok = total <= col["precision"] and frac <= col.get("scale", 0)
        else:
            ok = False
    elif t == "double":
        ok = is_num(d)
    elif t == "boolean":
        ok = isinstance(d, bool)
    elif t == "date":
        ok = isinstance(d, str) and re.fullmatch(DATE, d) and _parses(_dt.date.fromisoformat, d)
    elif t == "timestamp":
        ok = isinstance(d, str) and TS.fullmatch(d) and _parses(_dt.datetime.fromisoformat, d)
    elif t == "timestamptz":
        ok = isinstance(d, str) and TSTZ.fullmatch(d) and _parses(_dt.datetime.fromisoformat, d)
    elif t == "uuid":
        ok = isinstance(d, str) and UUID.fullmatch(d)
    elif t == "json":
        try:
            ok = isinstance(d, str) and (json.loads(d) or True)
        except ValueError:
            ok = False
    elif t == "binary":
        ok = isinstance(d, str) and HEX.fullmatch(d)
    if not ok:
        out.add("other", path, f"bad default {d!r} for {t}")


def validate_package(pkg, out: Problems):
    if not isinstance(pkg, dict):
        out.add("other", "$", "package must be an object")
        return
    for k in pkg.keys() - {"namespace", "tables", "enums", "views", "grants"}:
        out.add("unknown", f"$.{k}", "unknown field")
    # Views and grants: members, names and privileges (the query itself is checked by
    # the Rust core's SQL parser; these vectors only use queries it accepts).
    for vi, v in enumerate(pkg.get("views", [])):
        vp = f"$.views[{vi}]"
        for k in v.keys() - VIEW_KEYS:
            out.add("unknown", f"{vp}.{k}", "unknown field")
        check_ident(v.get("name"), f"{vp}.name", out)
        if not isinstance(v.get("query"), str) or not v["query"].lstrip().upper().startswith("SELECT"):
            out.add("other", f"{vp}.query", "query must be a SELECT")
    for gi, g in enumerate(pkg.get("grants", [])):
        gp = f"$.grants[{gi}]"
        for k in g.keys() - GRANT_KEYS:
            out.add("unknown", f"{gp}.{k}", "unknown field")
        check_ident(g.get("role"), f"{gp}.role", out)
        privs = g.get("privileges")
        if not isinstance(privs, list) or not privs or any(p not in PRIVILEGES for p in privs):
            out.add("other", f"{gp}.privileges", "bad privileges")
        on = g.get("on")
        if not isinstance(on, dict) or len(on) != 1 or not on.keys() <= {"tables", "views", "sequences"}:
            out.add("other", f"{gp}.on", "bad grant target")
    enums = {}
    for ei, e in enumerate(pkg.get("enums", [])):
        ep = f"$.enums[{ei}]"
        for k in e.keys() - ENUM_KEYS:
            out.add("unknown", f"{ep}.{k}", "unknown field")
        check_ident(e.get("name"), f"{ep}.name", out)
        vals = e.get("values")
        if not isinstance(vals, list) or not vals or len(set(vals)) != len(vals):
            out.add("other", f"{ep}.values", "bad enum values")
        else:
            enums[e.get("name")] = vals
    check_ident(pkg.get("namespace"), "$.namespace", out)
    tables = pkg.get("tables")
    if not isinstance(tables, list):
        out.add("other", "$.tables", "tables must be an array")
        return
    check_unique([t.get("name") for t in tables if isinstance(t, dict)], "$.tables", out)
    table_names = {t.get("name", "").lower() for t in tables if isinstance(t, dict)}
    reserved = table_names | {f"{n}_pkey" for n in table_names}
    index_names = []
    for ti, t in enumerate(tables):
        tp = f"$.tables[{ti}]"
        if not isinstance(t, dict):
            out.add("other", tp, "table must be an object")
            continue
        for k in t.keys() - TABLE_KEYS:
            out.add("unknown", f"{tp}.{k}", "unknown field")
        check_ident(t.get("name"), f"{tp}.name", out)
        if "comment" in t and not isinstance(t["comment"], str):
            out.add("other", f"{tp}.comment", "comment must be a string")
        rf = t.get("renamedFrom")
        if rf is not None and not (isinstance(rf, str) or (isinstance(rf, list) and rf and all(isinstance(x, str) for x in rf))):
            out.add("other", f"{tp}.renamedFrom", "bad renamedFrom")
        cols = t.get("columns")
        if not isinstance(cols, list) or not cols:
            out.add("other", f"{tp}.columns", "columns must be a non-empty array")
            continue
        check_unique([c.get("name") for c in cols if isinstance(c, dict)], f"{tp}.columns", out)
        by_name = {}
        for ci, c in enumerate(cols):
            cp = f"{tp}.columns[{ci}]"
            if not isinstance(c, dict):
                out.add("other", cp, "column must be an object")
                continue
            by_name[c.get("name")] = c
            for k in c.keys() - COLUMN_KEYS:
                out.add("unknown", f"{cp}.{k}", "unknown field")
            check_ident(c.get("name"), f"{cp}.name", out)
            typ = c.get("type")
            if typ not in TYPES:
                out.add("other", f"{cp}.type", f"unknown type {typ!r}")
            if "nullable" in c and not isinstance(c["nullable"], bool):
                out.add("other", f"{cp}.nullable", "must be boolean")
            if "comment" in c and not isinstance(c["comment"], str):
                out.add("other", f"{cp}.comment", "must be a string")
            rf = c.get("renamedFrom")
            if rf is not None and not (isinstance(rf, str) or (isinstance(rf, list) and rf and all(isinstance(x, str) for x in rf))):
                out.add("other", f"{cp}.renamedFrom", "bad renamedFrom")
            elem = c.get("items") if typ == "array" else typ
            if typ == "array" and elem not in TYPES - {"array", "enum", "interval"}:
                out.add("other", f"{cp}.items", "bad items")
            if (typ == "enum") != ("enum" in c) or (typ == "enum" and c["enum"] not in enums):
                out.add("other", f"{cp}.enum", "bad enum reference")
            if "jsonStorage" in c and (typ != "json" or c["jsonStorage"] not in ("jsonb", "text")):
                out.add("other", f"{cp}.jsonStorage", "bad jsonStorage")
            if "identity" in c:
                if c["identity"] not in ("always", "byDefault") or typ not in ("smallint", "int", "bigint") \
                        or "default" in c or c.get("nullable") is True or c.get("increment") == 0:
                    out.add("other", f"{cp}.identity", "bad identity")
            elif "start" in c or "increment" in c:
                out.add("other", cp, "start/increment without identity")
            if elem == "char" and "maxLength" not in c:
                out.add("other", f"{cp}.maxLength", "char needs a length")
            if "maxLength" in c:
                ml = c["maxLength"]
                if elem not in ("string", "char") or not is_int_tok(ml) or ml <= 0:
                    out.add("other", f"{cp}.maxLength", "bad maxLength")
            if elem == "decimal":
                p = c.get("precision")
                if not is_int_tok(p) or not 1 <= p <= 38:
                    out.add("other", f"{cp}.precision", "bad precision")
                    continue
                if "scale" in c and not (is_int_tok(c["scale"]) and 0 <= c["scale"] <= p):
                    out.add("other", f"{cp}.scale", "bad scale")
            else:
                for k in ("precision", "scale"):
                    if k in c:
                        out.add("other", f"{cp}.{k}", f"{k} only on decimal")
            if "default" in c:
                check_default(c, f"{cp}.default", out, enums)
        pk = t.get("primaryKey", [])
        if not isinstance(pk, list) or len(set(map(str, pk))) != len(pk):
            out.add("other", f"{tp}.primaryKey", "bad primaryKey")
            pk = []
        for i, n in enumerate(pk):
            c = by_name.get(n)
            if c is None or c.get("nullable") is True or c.get("type") == "json":
                out.add("other", f"{tp}.primaryKey[{i}]", f"bad key column {n!r}")
        for ii, ix in enumerate(t.get("indexes", [])):
            ip = f"{tp}.indexes[{ii}]"
            if not isinstance(ix, dict):
                out.add("other", ip, "index must be an object")
                continue
            for k in ix.keys() - INDEX_KEYS:
                out.add("unknown", f"{ip}.{k}", "unknown field")
            check_ident(ix.get("name"), f"{ip}.name", out)
            index_names.append(ix.get("name"))
            if isinstance(ix.get("name"), str) and ix["name"].lower() in reserved:
                out.add("other", f"{ip}.name", "index name clashes with a table/pkey name")
            if "unique" in ix and not isinstance(ix["unique"], bool):
                out.add("other", f"{ip}.unique", "must be boolean")
            icols = ix.get("columns")
            if not isinstance(icols, list) or not icols:
                out.add("other", f"{ip}.columns", "must be a non-empty array")
                continue
            for i, n in enumerate(icols):
                kp = f"{ip}.columns[{i}]"
                if isinstance(n, dict):
                    for k in n.keys() - INDEX_KEY_KEYS:
                        out.add("unknown", f"{kp}.{k}", "unknown field")
                    if ("column" in n) == ("expression" in n):
                        out.add("other", kp, "exactly one of column and expression")
                    if n.get("order", "asc") not in ("asc", "desc") or n.get("nulls", "first") not in ("first", "last"):
                        out.add("other", kp, "bad order or nulls")
                    if "expression" in n:
                        if not isinstance(n["expression"], str) or not n["expression"].strip():
                            out.add("other", f"{kp}.expression", "bad expression")
                        continue
                    n = n.get("column")
                c = by_name.get(n)
                if c is None or (c.get("type") == "json" and ix.get("method") != "gin"):
                    out.add("other", kp, f"bad index column {n!r}")
            if "method" in ix and ix["method"] not in INDEX_METHODS:
                out.add("other", f"{ip}.method", "bad index method")
            for i, n in enumerate(ix.get("include", [])):
                if n not in by_name:
                    out.add("other", f"{ip}.include[{i}]", f"bad include column {n!r}")
            if "online" in ix and not isinstance(ix["online"], bool):
                out.add("other", f"{ip}.online", "must be boolean")
        for key, allowed in (("uniqueConstraints", UNIQUE_KEYS), ("foreignKeys", FK_KEYS), ("checks", CHECK_KEYS)):
            for ki, item in enumerate(t.get(key, [])):
                kp = f"{tp}.{key}[{ki}]"
                for k in item.keys() - allowed:
                    out.add("unknown", f"{kp}.{k}", "unknown field")
                check_ident(item.get("name"), f"{kp}.name", out)
                index_names.append(item.get("name"))
                for i, n in enumerate(item.get("columns", [])):
                    if n not in by_name:
                        out.add("other", f"{kp}.columns[{i}]", f"bad column {n!r}")
                if key == "foreignKeys":
                    ref = item.get("references", {})
                    target = next((x for x in tables if x.get("name") == ref.get("table")), None)
                    keys = [target.get("primaryKey", [])] + [u["columns"] for u in target.get("uniqueConstraints", [])] if target else []
                    if sorted(ref.get("columns", [])) not in [sorted(k) for k in keys] \
                            or len(ref.get("columns", [])) != len(item.get("columns", [])):
                        out.add("other", f"{kp}.references", "bad reference")
                    for a in ("onDelete", "onUpdate"):
                        if a in item and item[a] not in ACTIONS:
                            out.add("other", f"{kp}.{a}", "bad action")
    check_unique(index_names, "$.tables[*].indexes", out)


def validate_dataset(ds, out: Problems):
    if not isinstance(ds, dict):
        out.add("other", "$", "dataset must be an object")
        return
    for k in ds.keys() - DATASET_KEYS:
        out.add("unknown", f"$.{k}", "unknown field")
    for k in ("environmentId", "datasetId", "engine", "schema"):
        if not isinstance(ds.get(k), str) or not ds.get(k):
            out.add("other", f"$.{k}", "required string")
    if ds.get("engine") not in ENGINES:
        out.add("other", "$.engine", "bad engine")
    check_ident(ds.get("schema"), "$.schema", out)
    if "migrationMode" in ds and ds["migrationMode"] not in MODES:
        out.add("other", "$.migrationMode", "bad mode")
    for k in ("datasetAlias", "eventBusName"):
        if k in ds and not isinstance(ds[k], str):
            out.add("other", f"$.{k}", "must be a string")
    ad = ds.get("allowDestructive", False)
    if not (isinstance(ad, bool) or (isinstance(ad, list) and all(isinstance(x, str) for x in ad))):
        out.add("other", "$.allowDestructive", "bad allowDestructive")


def validate(package_text: str, dataset_text: str) -> Problems:
    out = Problems()
    docs = []
    for name, text in (("package", package_text), ("dataset", dataset_text)):
        try:
            docs.append(strip_nulls(parse_tokens(text)))
        except ValueError as e:
            out.add("json", name, str(e))
            docs.append(None)
    if out:
        return out
    pkg, ds = docs
    check_numbers(pkg, "$", out)
    check_numbers(ds, "$", out)
    validate_package(pkg, out)
    validate_dataset(ds, out)
    return out


# --------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------


def file_names() -> dict[str, str]:
    names = {}
    numbers = set()
    i = 0
    for case in [*JCS_CASES, *VH_CASES]:
        if case.slug in names:
            raise SystemExit(f"duplicate slug {case.slug}")
        n = getattr(case, "number", None)
        if n is None:
            i += 1
            n = i
        if n in numbers:
            raise SystemExit(f"duplicate vector number {n:03d} ({case.slug})")
        numbers.add(n)
        names[case.slug] = f"{n:03d}-{case.slug}.json"
    return names


def render(obj) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False) + "\n"


def build() -> dict[str, str]:
    names = file_names()
    files: dict[str, str] = {}
    failures: list[str] = []

    for case in JCS_CASES:
        canonical = rfc8785.dumps(json.loads(case.input))
        files[names[case.slug]] = render({
            "description": case.description,
            "kind": "jcs",
            "input": case.input,
            "expected": {
                "canonical": canonical.decode("utf-8"),
                "sha256": hashlib.sha256(canonical).hexdigest(),
            },
        })

    hashes: dict[str, str] = {}
    for case in VH_CASES:
        problems = validate(case.package, case.dataset)
        if case.error is None:
            if problems:
                failures.append(f"{case.slug}: valid case fails validation: {problems}")
            hashes[case.slug] = version_hash(case.package, case.dataset)
            expected = {"versionHash": hashes[case.slug]}
        else:
            codes = {CODE_OF.get(kind, "?") for kind, _, _ in problems}
            if codes != {case.error}:
                failures.append(f"{case.slug}: expected only {case.error}, validation gave {problems}")
            expected = {"error": case.error}
        description = case.description
        if case.same_as:
            description += f" Same versionHash as {names[case.same_as]}."
        if case.differs_from:
            description += " versionHash differs from " + ", ".join(names[s] for s in case.differs_from) + "."
        files[names[case.slug]] = render({
            "description": description,
            "kind": "versionHash",
            "input": {"package": case.package, "dataset": case.dataset},
            "expected": expected,
        })

    # The vectors must prove what their descriptions say.
    def root(slug: str) -> str:
        while (c := next(c for c in VH_CASES if c.slug == slug)).same_as:
            slug = c.same_as
        return slug

    for case in VH_CASES:
        if case.same_as and hashes[case.slug] != hashes[case.same_as]:
            failures.append(f"{case.slug}: hash differs from {case.same_as}")
        for other in case.differs_from:
            if hashes[case.slug] == hashes[other]:
                failures.append(f"{case.slug}: hash equals {other}")
    by_hash: dict[str, set[str]] = {}
    for slug, h in hashes.items():
        by_hash.setdefault(h, set()).add(root(slug))
    for h, roots in by_hash.items():
        if len(roots) > 1:
            failures.append(f"undeclared equal hashes {h}: groups {sorted(roots)}")

    if failures:
        raise SystemExit("generate.py: case definitions are inconsistent:\n  " + "\n  ".join(failures))
    return files


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true",
                    help="compare with the files on disk instead of writing; exit 1 on any difference")
    args = ap.parse_args()

    version = getattr(rfc8785, "__version__", "?")
    if version != RFC8785_VERSION_USED:
        print(f"note: rfc8785 {version} installed, vectors were made with {RFC8785_VERSION_USED}",
              file=sys.stderr)

    files = build()
    on_disk = {p.name for p in OUT_DIR.iterdir() if p.is_file() and VECTOR_FILE.match(p.name)}

    if args.check:
        bad = []
        for name, text in files.items():
            path = OUT_DIR / name
            if not path.exists():
                bad.append(f"missing: {name}")
            elif path.read_text(encoding="utf-8") != text:
                bad.append(f"differs: {name}")
        bad += [f"extra:   {name}" for name in sorted(on_disk - files.keys())]
        if bad:
            print("tests/vectors is out of date (run tests/vectors/generate.py):", file=sys.stderr)
            for line in bad:
                print("  " + line, file=sys.stderr)
            return 1
        print(f"tests/vectors: {len(files)} vector files up to date")
        return 0

    for name in sorted(on_disk - files.keys()):
        (OUT_DIR / name).unlink()
        print(f"removed {name}")
    for name, text in files.items():
        path = OUT_DIR / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8", newline="\n")
            print(f"wrote   {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
