//! Reads a SQLite database's catalog (`sqlite_master` and the table pragmas) into the
//! rows of [`depot_migrate_core::inspect::LiveCatalog`]; the mapping to a package is the
//! core's. depot-migrate's own tables (`depot_migrate_*`) and SQLite's are skipped.

use depot_migrate_core::inspect::{LiveCatalog, LiveColumn, LiveIndex, LiveTable, Unrepresented};
use rusqlite::{params, Connection};

/// The catalog rows of the database.
pub fn read(conn: &Connection) -> Result<LiveCatalog, rusqlite::Error> {
    let mut live = LiveCatalog::default();
    let objects: Vec<(String, String, Option<String>)> = {
        let mut st = conn.prepare("SELECT type, name, tbl_name FROM sqlite_master WHERE name NOT LIKE 'depot_migrate%' AND name NOT LIKE 'sqlite_%' AND type IN ('table', 'view', 'trigger') ORDER BY rowid")?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    for (kind, name, table) in objects {
        match kind.as_str() {
            "table" => live
                .tables
                .push(read_table(conn, &name, &mut live.unrepresented)?),
            "view" => live.unrepresented.push(Unrepresented {
                kind: "view".into(),
                name,
                reason: "the package model has no views".into(),
            }),
            _ => live.unrepresented.push(Unrepresented {
                kind: "trigger".into(),
                name: format!("{}.{name}", table.unwrap_or_default()),
                reason: "the package model has no triggers".into(),
            }),
        }
    }
    Ok(live)
}

fn read_table(
    conn: &Connection,
    name: &str,
    others: &mut Vec<Unrepresented>,
) -> Result<LiveTable, rusqlite::Error> {
    let mut t = LiveTable {
        name: name.to_string(),
        ..LiveTable::default()
    };
    let mut pk: Vec<(i64, String)> = Vec::new();
    let mut st = conn.prepare(
        "SELECT name, type, \"notnull\", dflt_value, pk, hidden FROM pragma_table_xinfo(?1) ORDER BY cid",
    )?;
    let rows = st.query_map(params![name], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, Option<String>>(3)?,
            r.get::<_, i64>(4)?,
            r.get::<_, i64>(5)?,
        ))
    })?;
    for row in rows {
        let (cn, ty, notnull, default, key, hidden) = row?;
        if hidden != 0 {
            others.push(Unrepresented {
                kind: "generated column".into(),
                name: format!("{name}.{cn}"),
                reason: "the package model has no generated columns; left out".into(),
            });
            continue;
        }
        if key > 0 {
            pk.push((key, cn.clone()));
        }
        t.columns.push(LiveColumn {
            name: cn,
            type_name: ty,
            nullable: notnull == 0,
            default,
            identity: None,
            comment: None,
        });
    }
    pk.sort();
    t.primary_key = pk.into_iter().map(|(_, c)| c).collect();
    let mut st = conn.prepare("SELECT l.name, l.\"unique\", l.origin, l.partial FROM pragma_index_list(?1) l ORDER BY l.name")?;
    let rows = st.query_map(params![name], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, i64>(3)?,
        ))
    })?;
    let list: Vec<_> = rows.collect::<Result<_, _>>()?;
    for (iname, unique, origin, partial) in list {
        if origin != "c" {
            // Backs the primary key or a UNIQUE column constraint.
            if origin == "u" {
                others.push(Unrepresented {
                    kind: "unique constraint".into(),
                    name: format!("{name}.{iname}"),
                    reason: "SQLite keeps no name for it; the package model plans unique constraints only on Postgres and Snowflake".into(),
                });
            }
            continue;
        }
        let mut cols = Vec::new();
        let mut expression = false;
        let mut desc = false;
        let mut st = conn.prepare(
            "SELECT name, \"desc\" FROM pragma_index_xinfo(?1) WHERE key = 1 ORDER BY seqno",
        )?;
        let rows = st.query_map(params![iname], |r| {
            Ok((r.get::<_, Option<String>>(0)?, r.get::<_, i64>(1)?))
        })?;
        for row in rows {
            let (c, d) = row?;
            match c {
                Some(c) => cols.push(c),
                None => expression = true,
            }
            desc |= d != 0;
        }
        let mut why = Vec::new();
        if expression {
            why.push("an expression");
        }
        if partial != 0 {
            why.push("a predicate (partial index)");
        }
        if desc {
            why.push("a sort order");
        }
        t.indexes.push(LiveIndex {
            name: iname,
            columns: cols,
            unique: unique != 0,
            unsupported: (!why.is_empty()).then(|| format!("it has {}", why.join(" and "))),
        });
    }
    let fks: i64 = conn.query_row(
        "SELECT count(*) FROM pragma_foreign_key_list(?1)",
        params![name],
        |r| r.get(0),
    )?;
    if fks > 0 {
        others.push(Unrepresented {
            kind: "foreign key".into(),
            name: name.to_string(),
            reason: format!("{fks} column reference(s); the planner plans foreign keys only on Postgres and Snowflake"),
        });
    }
    let sql: Option<String> = conn.query_row(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?1",
        params![name],
        |r| r.get(0),
    )?;
    if sql.is_some_and(|s| s.to_ascii_uppercase().contains("CHECK")) {
        others.push(Unrepresented {
            kind: "check".into(),
            name: name.to_string(),
            reason: "the planner plans checks only on Postgres; not read".into(),
        });
    }
    Ok(t)
}
