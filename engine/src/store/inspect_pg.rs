//! Reads a PostgreSQL schema's catalog (`pg_catalog`) into the rows of
//! [`depot_migrate_core::inspect::LiveCatalog`]; the mapping to a package is the core's.
//! Runs in a read-only transaction with `search_path` set to the schema, so type and
//! reference names come back unqualified.

use depot_migrate_core::inspect::{
    LiveCatalog, LiveColumn, LiveForeignKey, LiveIdentity, LiveIndex, LiveTable, Unrepresented,
};
use depot_migrate_core::model::{Check, EnumType, UniqueConstraint};
use postgres::Client;

fn other(kind: &str, name: String, reason: &str) -> Unrepresented {
    Unrepresented {
        kind: kind.into(),
        name,
        reason: reason.into(),
    }
}

fn action(c: i8) -> String {
    match c as u8 {
        b'r' => "RESTRICT",
        b'c' => "CASCADE",
        b'n' => "SET NULL",
        b'd' => "SET DEFAULT",
        _ => "NO ACTION",
    }
    .into()
}

/// The catalog rows of `schema`.
pub fn read(client: &mut Client, schema: &str) -> Result<LiveCatalog, postgres::Error> {
    let mut tx = client.build_transaction().read_only(true).start()?;
    let quoted = format!("\"{}\"", schema.replace('"', "\"\""));
    tx.batch_execute(&format!(
        "SET LOCAL search_path TO {quoted}; SET LOCAL TIME ZONE 'UTC'"
    ))?;
    let mut live = LiveCatalog::default();
    // Enums.
    for r in tx.query(
        "SELECT t.typname::text, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace JOIN pg_enum e ON e.enumtypid = t.oid WHERE n.nspname = $1 GROUP BY t.typname ORDER BY t.typname",
        &[&schema],
    )? {
        live.enums.push(EnumType {
            name: r.get(0),
            values: r.get(1),
            renamed_from: None,
        });
    }
    // Relations: tables in creation order; everything else is listed.
    for r in tx.query(
        "SELECT c.oid, c.relname::text, c.relkind::text, coalesce(obj_description(c.oid, 'pg_class'), ''), c.relrowsecurity, c.relispartition, c.relpersistence::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 ORDER BY c.oid",
        &[&schema],
    )? {
        let oid: u32 = r.get(0);
        let name: String = r.get(1);
        let kind: String = r.get(2);
        match kind.as_str() {
            "r" | "p" => {
                if kind == "p" || r.get::<_, bool>(5) {
                    live.unrepresented.push(other(
                        "partitioned table",
                        name.clone(),
                        "the package model has no partitions; read as a plain table",
                    ));
                }
                if r.get::<_, bool>(4) {
                    live.unrepresented.push(other(
                        "row security",
                        name.clone(),
                        "the package model has no row-level security",
                    ));
                }
                if r.get::<_, String>(6) == "u" {
                    live.unrepresented.push(other(
                        "unlogged table",
                        name.clone(),
                        "the package model has no unlogged tables; read as a logged table",
                    ));
                }
                let comment: String = r.get(3);
                let t = read_table(&mut tx, oid, name, comment, &mut live.unrepresented)?;
                live.tables.push(t);
            }
            "v" => live
                .unrepresented
                .push(other("view", name, "the package model has no views")),
            "m" => live.unrepresented.push(other(
                "materialized view",
                name,
                "the package model has no materialized views",
            )),
            "f" => live.unrepresented.push(other(
                "foreign table",
                name,
                "the package model has no foreign tables",
            )),
            "S" => {
                let owned: bool = tx
                    .query_one(
                        "SELECT EXISTS (SELECT 1 FROM pg_depend WHERE objid = $1 AND classid = 'pg_class'::regclass AND deptype = 'i')",
                        &[&oid],
                    )?
                    .get(0);
                if !owned {
                    live.unrepresented.push(other(
                        "sequence",
                        name,
                        "not owned by an identity column; the package model has no sequences",
                    ));
                }
            }
            _ => {}
        }
    }
    for r in tx.query(
        "SELECT c.relname::text || '.' || t.tgname::text FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND NOT t.tgisinternal ORDER BY 1",
        &[&schema],
    )? {
        live.unrepresented.push(other(
            "trigger",
            r.get(0),
            "the package model has no triggers",
        ));
    }
    for r in tx.query(
        "SELECT p.proname::text || '(' || pg_get_function_identity_arguments(p.oid) || ')', p.prokind::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1 ORDER BY 1",
        &[&schema],
    )? {
        let kind = if r.get::<_, String>(1) == "p" {
            "procedure"
        } else {
            "function"
        };
        live.unrepresented.push(other(
            kind,
            r.get(0),
            "the package model has no functions or procedures",
        ));
    }
    for r in tx.query(
        "SELECT c.relname::text || '.' || p.polname::text FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 ORDER BY 1",
        &[&schema],
    )? {
        live.unrepresented
            .push(other("policy", r.get(0), "the package model has no policies"));
    }
    for r in tx.query(
        "SELECT t.typname::text, t.typtype::text FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = $1 AND t.typtype IN ('d', 'r', 'm') ORDER BY 1",
        &[&schema],
    )? {
        let kind = match r.get::<_, String>(1).as_str() {
            "d" => "domain",
            _ => "range type",
        };
        live.unrepresented
            .push(other(kind, r.get(0), "the package model has no such type"));
    }
    for r in tx.query(
        "SELECT t.typname::text FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace JOIN pg_class c ON c.oid = t.typrelid WHERE n.nspname = $1 AND t.typtype = 'c' AND c.relkind = 'c' ORDER BY 1",
        &[&schema],
    )? {
        live.unrepresented.push(other(
            "composite type",
            r.get(0),
            "the package model has no composite types",
        ));
    }
    tx.commit()?;
    Ok(live)
}

fn read_table(
    tx: &mut postgres::Transaction<'_>,
    oid: u32,
    name: String,
    comment: String,
    others: &mut Vec<Unrepresented>,
) -> Result<LiveTable, postgres::Error> {
    let mut t = LiveTable {
        name: name.clone(),
        comment: Some(comment).filter(|c| !c.is_empty()),
        ..LiveTable::default()
    };
    for r in tx.query(
        "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid), col_description(a.attrelid, a.attnum), a.attidentity::text, a.attgenerated::text, s.seqstart, s.seqincrement, (a.attcollation <> 0 AND a.attcollation <> (SELECT typcollation FROM pg_type WHERE oid = a.atttypid)) FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum LEFT JOIN pg_depend dep ON dep.refobjid = a.attrelid AND dep.refobjsubid = a.attnum AND dep.deptype = 'i' AND dep.classid = 'pg_class'::regclass LEFT JOIN pg_sequence s ON s.seqrelid = dep.objid WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        &[&oid],
    )? {
        let cn: String = r.get(0);
        let identity: String = r.get(5);
        let generated: String = r.get(6);
        if !generated.is_empty() {
            others.push(other(
                "generated column",
                format!("{name}.{cn}"),
                "the package model has no generated columns; read as a plain column",
            ));
        }
        if r.get::<_, bool>(9) {
            others.push(other(
                "collation",
                format!("{name}.{cn}"),
                "the package model has no collations; read with the default collation",
            ));
        }
        let default: Option<String> = if generated.is_empty() { r.get(3) } else { None };
        let col = LiveColumn {
            name: cn.clone(),
            type_name: r.get(1),
            nullable: !r.get::<_, bool>(2),
            default,
            identity: (!identity.is_empty()).then(|| LiveIdentity {
                always: identity == "a",
                start: r.get::<_, Option<i64>>(7).unwrap_or(1),
                increment: r.get::<_, Option<i64>>(8).unwrap_or(1),
            }),
            comment: r.get(4),
        };
        t.columns.push(col);
    }
    for r in tx.query(
        "SELECT k.conname::text, k.contype::text, array(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY u(n, o) JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY u.o), pg_get_constraintdef(k.oid), f.relname::text, fn.nspname::text = current_schema(), array(SELECT a.attname::text FROM unnest(k.confkey) WITH ORDINALITY u(n, o) JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n ORDER BY u.o), k.confdeltype, k.confupdtype, k.condeferrable, k.condeferred, k.confmatchtype::text FROM pg_constraint k LEFT JOIN pg_class f ON f.oid = k.confrelid LEFT JOIN pg_namespace fn ON fn.oid = f.relnamespace WHERE k.conrelid = $1 ORDER BY k.conname",
        &[&oid],
    )? {
        let cname: String = r.get(0);
        let kind: String = r.get(1);
        let cols: Vec<String> = r.get(2);
        let def: String = r.get(3);
        match kind.as_str() {
            "p" => t.primary_key = cols,
            "u" => t.unique_constraints.push(UniqueConstraint {
                name: cname,
                columns: cols,
            }),
            "c" => {
                let expr = def
                    .strip_prefix("CHECK ")
                    .map(|e| e.trim_end_matches(" NOT VALID").to_string())
                    .unwrap_or(def.clone());
                t.checks.push(Check {
                    name: cname,
                    expression: expr,
                });
            }
            "f" if r.get::<_, Option<bool>>(5) == Some(true) && r.get::<_, String>(11) == "s" => {
                t.foreign_keys.push(LiveForeignKey {
                    name: cname,
                    columns: cols,
                    ref_table: r.get(4),
                    ref_columns: r.get(6),
                    on_delete: action(r.get(7)),
                    on_update: action(r.get(8)),
                    deferrable: r.get(9),
                    initially_deferred: r.get(10),
                });
            }
            "f" => others.push(other(
                "foreign key",
                format!("{name}.{cname}"),
                "refers to another schema or uses MATCH FULL; the package model has no such foreign key",
            )),
            _ => others.push(Unrepresented {
                kind: "constraint".into(),
                name: format!("{name}.{cname}"),
                reason: format!("{def} has no package form"),
            }),
        }
    }
    // Indexes that back no constraint.
    for r in tx.query(
        "SELECT ic.relname::text, i.indisunique, array(SELECT CASE WHEN u.n = 0 THEN NULL ELSE a.attname::text END FROM unnest(i.indkey) WITH ORDINALITY u(n, o) LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = u.n ORDER BY u.o), i.indexprs IS NOT NULL, i.indpred IS NOT NULL, am.amname::text, i.indnkeyatts <> i.indnatts, EXISTS (SELECT 1 FROM unnest(i.indoption) o WHERE o <> 0), pg_get_indexdef(i.indexrelid), EXISTS (SELECT 1 FROM unnest(i.indclass) WITH ORDINALITY u(oc, o) JOIN pg_opclass oc ON oc.oid = u.oc WHERE NOT oc.opcdefault) FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam WHERE i.indrelid = $1 AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.conrelid = i.indrelid) ORDER BY ic.relname",
        &[&oid],
    )? {
        let cols: Vec<Option<String>> = r.get(2);
        let mut why = Vec::new();
        if r.get::<_, bool>(3) || cols.iter().any(Option::is_none) {
            why.push("an expression");
        }
        if r.get::<_, bool>(4) {
            why.push("a predicate (partial index)");
        }
        if r.get::<_, String>(5) != "btree" {
            why.push("another access method than btree");
        }
        if r.get::<_, bool>(6) {
            why.push("included columns");
        }
        if r.get::<_, bool>(7) {
            why.push("a sort order");
        }
        if r.get::<_, bool>(9) {
            why.push("an operator class");
        }
        let def: String = r.get(8);
        t.indexes.push(LiveIndex {
            name: r.get(0),
            columns: cols.into_iter().flatten().collect(),
            unique: r.get(1),
            unsupported: (!why.is_empty())
                .then(|| format!("{def} has {}", why.join(" and "))),
        });
    }
    Ok(t)
}
