//! Privileges: the package's `grants` checked, and planned as `GRANT`/`REVOKE` steps.
//!
//! A grant is expanded into single privileges on single objects: `"all"` tables or views
//! means every table or view of the package at this version (listed by name, so a table
//! added later is granted by the plan that adds it), `"all"` sequences means every
//! sequence of the schema, and `future` means the engine's grants for objects created
//! later (Postgres `ALTER DEFAULT PRIVILEGES IN SCHEMA`, Snowflake `FUTURE` grants). The
//! plan compares those of the deployed package (names carried through renames) with the
//! new ones: it revokes what went away and grants what is new, after every other step,
//! and grants again what a view that is created again lost with its drop. Every role
//! with a grant also gets `USAGE` on the dataset's schema (without it the objects cannot
//! be reached), revoked with the role's last grant. Before any of
//! that it checks that every role it names exists (`checkRoles`, the first step): a
//! missing role fails the plan before anything ran, never half way.

use crate::error::{show, Code, JsonPath, Problem};
use crate::load::closest;
use crate::model::{Engine, GrantKind, IdentifierFolding, Objects, Package, Privilege};
use crate::plan::{Draft, Planner};
use crate::validate::check_identifier;
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// The checks of grants on a package (called by [`crate::validate::package`]).
pub fn validate(
    pkg: &Package,
    engine: Option<Engine>,
    folding: IdentifierFolding,
    problems: &mut Vec<Problem>,
) {
    let Some(grants) = pkg.grants.as_deref() else {
        return;
    };
    let root = JsonPath::root();
    if engine == Some(Engine::Sqlite) {
        problems.push(Problem::new(
            Code::InvalidGrant,
            root.key("grants"),
            "sqlite has no roles or privileges: anyone who can open the file reads it; remove \"grants\" for a sqlite dataset",
        ));
        return;
    }
    for (i, g) in grants.iter().enumerate() {
        let p = root.key("grants").index(i);
        if check_identifier(&g.role, "role", &|| p.key("role"), problems) {
            let lower = g.role.to_ascii_lowercase();
            if lower == "public" || lower.starts_with("pg_") {
                problems.push(Problem::new(
                    Code::InvalidGrant,
                    p.key("role"),
                    format!(
                        "role {} is reserved by the database (PUBLIC and the pg_ roles); grant to a role of your own",
                        show(&g.role)
                    ),
                ));
            }
        }
        let given = g.on.given();
        let (kind, objects) = match given.as_slice() {
            [one] => *one,
            [] => {
                problems.push(Problem::new(
                    Code::InvalidGrant,
                    p.key("on"),
                    "a grant is on \"tables\", \"views\" or \"sequences\"; give one of them",
                ));
                continue;
            }
            _ => {
                problems.push(Problem::new(
                    Code::InvalidGrant,
                    p.key("on"),
                    "a grant is on one kind of object; split it into one grant per kind",
                ));
                continue;
            }
        };
        if g.privileges.is_empty() {
            problems.push(Problem::new(
                Code::EmptyList,
                p.key("privileges"),
                "the grant gives no privileges; list at least one, like [\"select\"]",
            ));
        }
        for (k, pr) in g.privileges.iter().enumerate() {
            if !pr.applies_to(kind) {
                let fits: Vec<&str> = Privilege::ALL
                    .iter()
                    .filter(|x| x.applies_to(kind))
                    .map(|x| x.as_str())
                    .collect();
                problems.push(Problem::new(
                    Code::InvalidGrant,
                    p.key("privileges").index(k),
                    format!(
                        "privilege {} does not apply to {}; use {}",
                        show(pr.as_str()),
                        kind.as_str(),
                        fits.join(", ")
                    ),
                ));
            }
            if g.privileges[..k].contains(pr) {
                problems.push(Problem::new(
                    Code::InvalidGrant,
                    p.key("privileges").index(k),
                    format!("privilege {} is listed twice; keep one", show(pr.as_str())),
                ));
            }
        }
        let op = p.key("on").key(kind.as_str());
        match objects {
            Objects::All(_) => {}
            Objects::Names(names) => {
                if g.future == Some(true) {
                    problems.push(Problem::new(
                        Code::InvalidGrant,
                        p.key("future"),
                        "\"future\" applies to objects created later, so it needs \"all\"; write \"all\" or remove \"future\"",
                    ));
                }
                if names.is_empty() {
                    problems.push(Problem::new(
                        Code::EmptyList,
                        op.clone(),
                        "the grant names no objects; list at least one or write \"all\"",
                    ));
                }
                let known: Vec<&str> = match kind {
                    GrantKind::Tables => pkg.tables.iter().map(|t| t.name.as_str()).collect(),
                    GrantKind::Views => pkg
                        .views
                        .iter()
                        .flatten()
                        .map(|v| v.name.as_str())
                        .collect(),
                    GrantKind::Sequences => {
                        problems.push(Problem::new(
                            Code::InvalidGrant,
                            op.clone(),
                            "sequences belong to identity columns and have no names in the package; write \"all\"",
                        ));
                        continue;
                    }
                };
                for (k, n) in names.iter().enumerate() {
                    if !known.iter().any(|x| folding.same(x, n)) {
                        let hint = closest(n, &known)
                            .map(|c| format!("did you mean \"{c}\"? "))
                            .unwrap_or_default();
                        problems.push(Problem::new(
                            Code::InvalidGrant,
                            op.index(k),
                            format!(
                                "the grant names {} {}, which the package does not have; {hint}name one of its {}",
                                &kind.as_str()[..kind.as_str().len() - 1],
                                show(n),
                                kind.as_str()
                            ),
                        ));
                    }
                }
            }
        }
    }
}

/// What one privilege is on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Target {
    /// `USAGE` on the dataset's schema, which every role with a grant needs to reach
    /// the objects.
    Schema,
    Table(String),
    View(String),
    AllSequences,
    /// Objects created later, by the engine's class word (`TABLES`, `VIEWS`, `SEQUENCES`).
    Future(&'static str),
}

type Atoms = BTreeSet<(String, Target, Privilege)>;

/// The single privileges a package grants (role as written).
fn atoms(p: &Planner<'_>, pkg: &Package) -> Atoms {
    let mut out = Atoms::new();
    for g in pkg.grants.iter().flatten() {
        out.insert((g.role.clone(), Target::Schema, Privilege::Usage));
        for (kind, objects) in g.on.given() {
            let targets: Vec<Target> = match (kind, objects) {
                (GrantKind::Tables, Objects::All(_)) => pkg
                    .tables
                    .iter()
                    .map(|t| Target::Table(t.name.clone()))
                    .collect(),
                (GrantKind::Tables, Objects::Names(n)) => n
                    .iter()
                    .filter_map(|n| pkg.tables.iter().find(|t| p.d.names_equal(&t.name, n)))
                    .map(|t| Target::Table(t.name.clone()))
                    .collect(),
                (GrantKind::Views, Objects::All(_)) => pkg
                    .views
                    .iter()
                    .flatten()
                    .map(|v| Target::View(v.name.clone()))
                    .collect(),
                (GrantKind::Views, Objects::Names(n)) => n
                    .iter()
                    .filter_map(|n| {
                        pkg.views
                            .iter()
                            .flatten()
                            .find(|v| p.d.names_equal(&v.name, n))
                    })
                    .map(|v| Target::View(v.name.clone()))
                    .collect(),
                (GrantKind::Sequences, _) => vec![Target::AllSequences],
            };
            for pr in &g.privileges {
                for t in &targets {
                    out.insert((g.role.clone(), t.clone(), *pr));
                }
                if g.future == Some(true) && matches!(objects, Objects::All(_)) {
                    out.insert((g.role.clone(), Target::Future(p.d.future_class(kind)), *pr));
                }
            }
        }
    }
    out
}

/// The grant steps of a plan: the role check (first), and revokes and grants (last).
pub(crate) struct GrantSteps {
    pub(crate) check: Option<Draft>,
    pub(crate) changes: Vec<Draft>,
}

/// Plans grants. `table_name(old)` is the new name of an old table (`None`: dropped);
/// `view_name(old)` the new name of an old view that is kept (`None`: dropped, also when
/// it is created again); `refresh_sequences` says whether the plan creates sequences
/// (identity columns), which an `"all"` sequences grant must then cover.
pub(crate) fn plan(
    p: &Planner<'_>,
    from: Option<&Package>,
    to: &Package,
    table_name: &dyn Fn(&str) -> Option<String>,
    view_name: &dyn Fn(&str) -> Option<String>,
    refresh_sequences: bool,
) -> GrantSteps {
    let d = p.d;
    let mut steps = GrantSteps {
        check: None,
        changes: Vec::new(),
    };
    if !d.supports_grants() {
        return steps;
    }
    let new = atoms(p, to);
    let old: Atoms = from
        .map(|f| atoms(p, f))
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(r, t, pr)| {
            let t = match t {
                Target::Table(n) => Target::Table(table_name(&n)?),
                Target::View(n) => Target::View(view_name(&n)?),
                other => other,
            };
            Some((r, t, pr))
        })
        .collect();
    let mut revoke: BTreeMap<(String, Target), Vec<Privilege>> = BTreeMap::new();
    let mut grant: BTreeMap<(String, Target), Vec<Privilege>> = BTreeMap::new();
    for (r, t, pr) in old.difference(&new) {
        revoke.entry((r.clone(), t.clone())).or_default().push(*pr);
    }
    for (r, t, pr) in &new {
        let again = *t == Target::AllSequences && refresh_sequences;
        if again || !old.contains(&(r.clone(), t.clone(), *pr)) {
            grant.entry((r.clone(), t.clone())).or_default().push(*pr);
        }
    }
    let mut roles: Vec<String> = Vec::new();
    let mut seen = HashSet::new();
    for ((r, _), _) in revoke.iter().chain(grant.iter()) {
        if seen.insert(d.name_key(r)) {
            roles.push(r.clone());
        }
    }
    if roles.is_empty() {
        return steps;
    }
    let describe = |t: &Target| match t {
        Target::Schema => format!("schema {}", p.schema),
        Target::Table(n) => format!("table {n}"),
        Target::View(n) => format!("view {n}"),
        Target::AllSequences => "all sequences".to_string(),
        Target::Future(class) => format!("{} created later", class.to_ascii_lowercase()),
    };
    let target_key = |t: &Target| match t {
        Target::Schema => p.schema.to_string(),
        Target::Table(n) | Target::View(n) => n.clone(),
        Target::AllSequences => "sequences".to_string(),
        Target::Future(class) => format!("future_{}", class.to_ascii_lowercase()),
    };
    let sql = |t: &Target, privs: &[Privilege], role: &str, give: bool| -> String {
        let list: Vec<&str> = privs.iter().map(|x| x.sql()).collect();
        let list = list.join(", ");
        match t {
            Target::Schema => d.grant_on_schema(p.schema, &list, role, give),
            Target::Table(n) => d.grant_on_object(p.schema, n, false, &list, role, give),
            Target::View(n) => d.grant_on_object(p.schema, n, true, &list, role, give),
            Target::AllSequences => d.grant_on_all_sequences(p.schema, &list, role, give),
            Target::Future(class) => d.grant_future(p.schema, class, &list, role, give),
        }
    };
    for ((role, t), privs) in &revoke {
        let names: Vec<&str> = privs.iter().map(|x| x.as_str()).collect();
        steps.changes.push(Draft::new(
            "revoke",
            "",
            format!("{role}.{}", target_key(t)),
            format!("revoke {} on {} from {role}", names.join(", "), describe(t)),
            vec![sql(t, privs, role, false)],
        ));
    }
    for ((role, t), privs) in &grant {
        let names: Vec<&str> = privs.iter().map(|x| x.as_str()).collect();
        steps.changes.push(Draft::new(
            "grant",
            "",
            format!("{role}.{}", target_key(t)),
            format!("grant {} on {} to {role}", names.join(", "), describe(t)),
            vec![sql(t, privs, role, true)],
        ));
    }
    steps.check = Some(
        Draft::new(
            "checkRoles",
            "",
            roles.join("."),
            format!(
                "check that role{} {} exist{} before anything changes",
                if roles.len() == 1 { "" } else { "s" },
                roles.join(", "),
                if roles.len() == 1 { "s" } else { "" }
            ),
            d.check_roles(&roles),
        )
        .may_fail(true),
    );
    steps
}
