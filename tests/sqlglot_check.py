#!/usr/bin/env python3
"""Checks that Snowflake SQL statements parse with sqlglot's Snowflake dialect.

Usage: python3 tests/sqlglot_check.py [--strict] FILE

FILE holds a JSON list of SQL statements (strings, without a trailing `;`). Each is
parsed with `sqlglot.parse_one(stmt, read="snowflake")`. A statement fails when sqlglot
raises, returns nothing, or returns an opaque `exp.Command` (at the top or anywhere inside
the tree): sqlglot falls back to `Command` for statements or clauses it cannot parse,
without raising, so broken SQL would otherwise pass (docs/contributing.md, "Toolchain pitfalls").
sqlglot's own "Falling back to parsing as a 'Command'" log lines are silenced: the
failures printed here say the same.

A few statement forms that Snowflake documents are beyond sqlglot's Snowflake parser
(it reads them as `Command`). They are listed in KNOWN_GAPS, each as a whole-statement
pattern over quoted identifiers, so that nothing else slips through with them; a
statement that matches one is accepted and listed on stderr. `--strict` turns the list
off and shows what sqlglot alone makes of every statement.

Prints each failing statement with the reason and exits 1 if any failed; else prints
`N statements parsed` (N counts the KNOWN_GAPS statements too; a line after it says how
many those were) and exits 0. Exits 2 for a bad FILE or a missing sqlglot.

sqlglot is pinned (scripts/setup.sh installs it): sqlglot==30.30.0.
"""

import json
import re
import sys

SQLGLOT_VERSION = "30.30.0"
ANSI = re.compile(r"\x1b\[[0-9;]*m")

_ID = r'"[A-Za-z_][A-Za-z0-9_]*"'
_TABLE = rf"{_ID}(?:\.{_ID}){{0,2}}"
# Forms that Snowflake documents and sqlglot 30.30.0 reads as an opaque Command.
KNOWN_GAPS = [
    (
        re.compile(rf"ALTER TABLE {_TABLE} RENAME CONSTRAINT {_ID} TO {_ID}"),
        "ALTER TABLE ... RENAME CONSTRAINT (docs.snowflake.com/en/sql-reference/constraints-alter)",
    ),
    (
        re.compile(rf"ALTER TABLE {_TABLE} (?:ALTER|MODIFY) COLUMN {_ID} UNSET COMMENT"),
        "ALTER TABLE ... { ALTER | MODIFY } COLUMN ... UNSET COMMENT (docs.snowflake.com/en/sql-reference/sql/alter-table-column)",
    ),
    (
        re.compile(rf"ALTER MATERIALIZED VIEW {_TABLE} RENAME TO {_ID}"),
        "ALTER MATERIALIZED VIEW ... RENAME TO (docs.snowflake.com/en/sql-reference/sql/alter-materialized-view)",
    ),
    (
        re.compile(rf"SHOW GRANTS TO ROLE {_ID}"),
        "SHOW GRANTS TO ROLE (docs.snowflake.com/en/sql-reference/sql/show-grants)",
    ),
    (
        re.compile(
            rf"(?:GRANT|REVOKE) (?:SELECT|INSERT|UPDATE|DELETE|TRUNCATE|REFERENCES|USAGE)"
            rf"(?:, (?:SELECT|INSERT|UPDATE|DELETE|TRUNCATE|REFERENCES|USAGE))* ON "
            rf"(?:FUTURE (?:TABLES|VIEWS|SEQUENCES)|ALL SEQUENCES) IN SCHEMA {_ID} (?:TO|FROM) ROLE {_ID}"
        ),
        "GRANT/REVOKE ... ON { FUTURE TABLES | FUTURE VIEWS | FUTURE SEQUENCES | ALL SEQUENCES } IN SCHEMA (docs.snowflake.com/en/sql-reference/sql/grant-privilege)",
    ),
]


def known_gap(stmt):
    """The description of the KNOWN_GAPS form the whole statement matches, if any."""
    for pattern, what in KNOWN_GAPS:
        if pattern.fullmatch(stmt):
            return what
    return None


def check(statements, strict=False):
    """Returns (failures, gaps): (statement, reason) for the statements that do not parse,
    and (statement, form) for those accepted as KNOWN_GAPS (never when `strict`)."""
    import logging

    import sqlglot
    from sqlglot import exp

    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    failures = []
    gaps = []
    for stmt in statements:
        gap = None if strict else known_gap(stmt)
        if gap is not None:
            gaps.append((stmt, gap))
            continue
        try:
            tree = sqlglot.parse_one(stmt, read="snowflake")
        except Exception as e:  # sqlglot raises ParseError, TokenError and others
            # The first line of the message, without sqlglot's terminal underlining.
            first = ANSI.sub("", str(e)).splitlines()[0] if str(e) else ""
            failures.append((stmt, f"{type(e).__name__}: {first}"))
            continue
        if tree is None:
            failures.append((stmt, "parsed to nothing"))
        elif isinstance(tree, exp.Command):
            failures.append((stmt, "not understood: sqlglot fell back to an opaque Command"))
        else:
            # sqlglot also falls back inside a statement: `ALTER TABLE t DROP PRIMARY KEY`
            # parses as an Alter whose action is an opaque Command, and so would
            # `ALTER TABLE t DROP anything at all`.
            inner = tree.find(exp.Command)
            if inner is not None:
                failures.append((stmt, f"part not understood: sqlglot fell back to an opaque Command for `{inner.sql(dialect='snowflake')}`"))
    return failures, gaps


def main(argv):
    args = argv[1:]
    strict = "--strict" in args
    args = [a for a in args if a != "--strict"]
    if len(args) != 1:
        print("usage: sqlglot_check.py [--strict] FILE  (FILE: a JSON list of SQL statements)", file=sys.stderr)
        return 2
    path = args[0]
    try:
        import sqlglot
    except ImportError:
        print(f"sqlglot is not installed: pip install sqlglot=={SQLGLOT_VERSION}", file=sys.stderr)
        return 2
    if sqlglot.__version__ != SQLGLOT_VERSION:
        print(
            f"warning: sqlglot {sqlglot.__version__} is installed; the pinned version is {SQLGLOT_VERSION}",
            file=sys.stderr,
        )
    try:
        with open(path, encoding="utf-8") as f:
            statements = json.load(f)
    except (OSError, ValueError) as e:
        print(f"cannot read {path}: {e}", file=sys.stderr)
        return 2
    if not isinstance(statements, list) or not all(isinstance(s, str) for s in statements):
        print(f"{path}: expected a JSON list of strings", file=sys.stderr)
        return 2

    failures, gaps = check(statements, strict)
    for stmt, what in gaps:
        print(f"accepted, a known sqlglot gap: {what}\n  {stmt}", file=sys.stderr)
    for stmt, reason in failures:
        print(f"FAIL: {reason}\n  {stmt}")
    if failures:
        print(f"{len(failures)} of {len(statements)} statements failed to parse")
        return 1
    print(f"{len(statements)} statements parsed")
    if gaps:
        print(f"({len(gaps)} of them in forms that Snowflake documents and sqlglot cannot parse: KNOWN_GAPS)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
