#!/usr/bin/env python3
"""Checks that Snowflake SQL statements parse with sqlglot's Snowflake dialect.

Usage: python3 tests/sqlglot_check.py FILE

FILE holds a JSON list of SQL statements (strings, without a trailing `;`). Each is
parsed with `sqlglot.parse_one(stmt, read="snowflake")`. A statement fails when sqlglot
raises, returns nothing, or returns an opaque `exp.Command` (at the top or anywhere inside
the tree): sqlglot falls back to `Command` for statements or clauses it cannot parse,
without raising, so broken SQL would otherwise pass (shared/TOOLCHAIN.md, "Snowflake").
sqlglot's own "Falling back to parsing as a 'Command'" log lines are silenced: the
failures printed here say the same.

Prints each failing statement with the reason and exits 1 if any failed; else prints
`N statements parsed` and exits 0. Exits 2 for a bad FILE or a missing sqlglot.

sqlglot is pinned (scripts/setup.sh installs it): sqlglot==30.30.0.
"""

import json
import re
import sys

SQLGLOT_VERSION = "30.30.0"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def check(statements):
    """Returns a list of (statement, reason) for the statements that do not parse."""
    import logging

    import sqlglot
    from sqlglot import exp

    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    failures = []
    for stmt in statements:
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
    return failures


def main(argv):
    if len(argv) != 2:
        print("usage: sqlglot_check.py FILE  (FILE: a JSON list of SQL statements)", file=sys.stderr)
        return 2
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
        with open(argv[1], encoding="utf-8") as f:
            statements = json.load(f)
    except (OSError, ValueError) as e:
        print(f"cannot read {argv[1]}: {e}", file=sys.stderr)
        return 2
    if not isinstance(statements, list) or not all(isinstance(s, str) for s in statements):
        print(f"{argv[1]}: expected a JSON list of strings", file=sys.stderr)
        return 2

    failures = check(statements)
    for stmt, reason in failures:
        print(f"FAIL: {reason}\n  {stmt}")
    if failures:
        print(f"{len(failures)} of {len(statements)} statements failed to parse")
        return 1
    print(f"{len(statements)} statements parsed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
