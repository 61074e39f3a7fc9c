//! Snowflake through the SQL API v2 (`POST /api/v2/statements`): the connection URL, the
//! credentials (from the environment only), key-pair JWTs and the HTTP client. The state
//! store on top of it is `store::snowflake`.
//!
//! URL: `snowflake://ACCOUNT/DATABASE?warehouse=WH&role=ROLE`. Credentials never go in
//! the URL; they come from the environment:
//!
//! - `DEPOT_SNOWFLAKE_USER` and `DEPOT_SNOWFLAKE_PRIVATE_KEY_PATH` (a PKCS#8 PEM file, not
//!   encrypted) or `DEPOT_SNOWFLAKE_PRIVATE_KEY` (the PEM text itself): key-pair JWT;
//! - or `DEPOT_SNOWFLAKE_TOKEN`: an OAuth access token (it wins when set);
//! - `DEPOT_SNOWFLAKE_ENDPOINT`: another base URL than
//!   `https://ACCOUNT.snowflakecomputing.com` (tests, private link).

pub mod api;
pub mod jwt;

use std::fmt;

/// How requests authenticate.
pub enum Auth {
    /// A key-pair JWT signed with the user's RSA key.
    KeyPair(Box<jwt::KeyPairAuth>),
    /// An OAuth access token.
    OAuth(String),
}

impl fmt::Debug for Auth {
    // Never prints a key or a token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::KeyPair(k) => write!(f, "KeyPair({})", k.issuer()),
            Auth::OAuth(_) => write!(f, "OAuth(***)"),
        }
    }
}

/// A parsed `snowflake://` URL plus the credentials from the environment.
#[derive(Debug)]
pub struct SnowflakeConfig {
    /// The database (upper-cased, as Snowflake stores unquoted names).
    pub database: String,
    /// The warehouse, if given.
    pub warehouse: Option<String>,
    /// The role, if given.
    pub role: Option<String>,
    /// The API base URL.
    pub endpoint: String,
    /// The credentials.
    pub auth: Auth,
}

/// The parts of a `snowflake://` URL, without credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnowflakeUrl {
    /// Account identifier.
    pub account: String,
    /// Database (upper-cased).
    pub database: String,
    /// Warehouse (upper-cased).
    pub warehouse: Option<String>,
    /// Role (upper-cased).
    pub role: Option<String>,
}

fn is_plain_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
        && s.len() <= 255
}

/// Parses `snowflake://ACCOUNT/DATABASE?warehouse=WH&role=ROLE`. Names are unquoted
/// Snowflake identifiers and are upper-cased, as Snowflake stores them.
pub fn parse_url(url: &str) -> Result<SnowflakeUrl, String> {
    let rest = url
        .strip_prefix("snowflake://")
        .ok_or_else(|| "a Snowflake URL starts with snowflake://".to_string())?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.contains('@') {
        return Err("credentials do not go in the snowflake:// URL; set DEPOT_SNOWFLAKE_USER with DEPOT_SNOWFLAKE_PRIVATE_KEY_PATH (or DEPOT_SNOWFLAKE_PRIVATE_KEY), or DEPOT_SNOWFLAKE_TOKEN".into());
    }
    let (account, database) = path.split_once('/').unwrap_or((path, ""));
    let database = database.trim_end_matches('/');
    let account_ok = !account.is_empty()
        && account
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !account_ok {
        return Err("the snowflake:// URL needs an account identifier (letters, digits, - _ .): snowflake://ACCOUNT/DATABASE?warehouse=WH&role=ROLE".into());
    }
    if !is_plain_identifier(database) {
        return Err("the snowflake:// URL needs a database name (an unquoted identifier): snowflake://ACCOUNT/DATABASE?warehouse=WH&role=ROLE".into());
    }
    let mut warehouse = None;
    let mut role = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if !is_plain_identifier(v) {
            return Err(format!(
                "the snowflake:// URL parameter {k} needs an unquoted identifier"
            ));
        }
        match k {
            "warehouse" => warehouse = Some(v.to_ascii_uppercase()),
            "role" => role = Some(v.to_ascii_uppercase()),
            _ => {
                return Err(format!(
                "unknown snowflake:// URL parameter {k:?}; use warehouse= and role= (credentials come from the environment)"
            ))
            }
        }
    }
    Ok(SnowflakeUrl {
        account: account.to_string(),
        database: database.to_ascii_uppercase(),
        warehouse,
        role,
    })
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl SnowflakeConfig {
    /// The URL plus credentials from the environment. Errors say which variable to set
    /// and never quote a secret.
    pub fn from_url(url: &str) -> Result<SnowflakeConfig, String> {
        let u = parse_url(url)?;
        let auth = if let Some(token) = env("DEPOT_SNOWFLAKE_TOKEN") {
            Auth::OAuth(token)
        } else {
            let user = env("DEPOT_SNOWFLAKE_USER").ok_or_else(|| {
                "no Snowflake credentials: set DEPOT_SNOWFLAKE_USER and DEPOT_SNOWFLAKE_PRIVATE_KEY_PATH (or DEPOT_SNOWFLAKE_PRIVATE_KEY) for key-pair authentication, or DEPOT_SNOWFLAKE_TOKEN for OAuth".to_string()
            })?;
            let pem = match (
                env("DEPOT_SNOWFLAKE_PRIVATE_KEY"),
                env("DEPOT_SNOWFLAKE_PRIVATE_KEY_PATH"),
            ) {
                (Some(text), _) => text.into_bytes(),
                (None, Some(path)) => std::fs::read(&path).map_err(|e| {
                    format!("cannot read DEPOT_SNOWFLAKE_PRIVATE_KEY_PATH {path}: {e}")
                })?,
                (None, None) => return Err("DEPOT_SNOWFLAKE_USER is set but no key: set DEPOT_SNOWFLAKE_PRIVATE_KEY_PATH (a PKCS#8 PEM file) or DEPOT_SNOWFLAKE_PRIVATE_KEY".into()),
            };
            Auth::KeyPair(Box::new(jwt::KeyPairAuth::new(&u.account, &user, &pem)?))
        };
        let endpoint = match env("DEPOT_SNOWFLAKE_ENDPOINT") {
            Some(e) => {
                if !(e.starts_with("https://") || e.starts_with("http://")) {
                    return Err("DEPOT_SNOWFLAKE_ENDPOINT must be an http(s):// base URL".into());
                }
                e.trim_end_matches('/').to_string()
            }
            None => format!(
                "https://{}.snowflakecomputing.com",
                u.account.to_ascii_lowercase().replace('_', "-")
            ),
        };
        Ok(SnowflakeConfig {
            database: u.database,
            warehouse: u.warehouse,
            role: u.role,
            endpoint,
            auth,
        })
    }
}

/// Every secret of the Snowflake environment, to scrub from any text that leaves the
/// process (errors, logs, events).
pub fn secrets() -> Vec<String> {
    ["DEPOT_SNOWFLAKE_TOKEN", "DEPOT_SNOWFLAKE_PRIVATE_KEY"]
        .iter()
        .filter_map(|k| env(k))
        .collect()
}

/// Removes the Snowflake secrets from a message and keeps it on one line.
pub fn scrub(message: &str) -> String {
    let mut out = message.to_string();
    for s in secrets() {
        out = out.replace(&s, "***");
        for line in s.lines().map(str::trim).filter(|l| l.len() >= 16) {
            out = out.replace(line, "***");
        }
    }
    scrub_tokens(&out).replace(['\n', '\r'], " ")
}

/// Replaces bearer tokens and anything shaped like a JWT (`eyJ….….…`, such as the
/// key-pair JWT this binary signs) with `***`, wherever an error body echoes them.
pub fn scrub_tokens(message: &str) -> String {
    let token_char = |c: char| c.is_ascii_alphanumeric() || "-_.=+/".contains(c);
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    loop {
        let bearer = rest.find("Bearer ").map(|i| (i, i + 7));
        let jwt = rest.find("eyJ").map(|i| (i, i));
        let next = match (bearer, jwt) {
            (Some(b), Some(j)) => Some(if b.0 <= j.0 { b } else { j }),
            (b, j) => b.or(j),
        };
        let Some((start, value)) = next else {
            out.push_str(rest);
            return out;
        };
        let len = rest[value..]
            .find(|c: char| !token_char(c))
            .unwrap_or(rest.len() - value);
        let token = &rest[value..value + len];
        let is_secret = value > start || token.matches('.').count() >= 2;
        out.push_str(&rest[..value]);
        if is_secret && !token.is_empty() {
            out.push_str("***");
        } else {
            out.push_str(token);
        }
        if len == 0 {
            // "Bearer " followed by nothing token-like: move past it.
            rest = &rest[value..];
            if let Some(c) = rest.chars().next() {
                out.push(c);
                rest = &rest[c.len_utf8()..];
            } else {
                return out;
            }
        } else {
            rest = &rest[value + len..];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_scrubbed_from_error_bodies() {
        let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJBQ0NULlVTRVIuU0hBMjU2OmFiYyJ9.c2lnbmF0dXJl";
        let body =
            format!("bad header Authorization: Bearer {jwt} for user; again {jwt}, eyJ alone");
        let s = scrub(&body);
        assert!(!s.contains("eyJhbGci"), "{s}");
        assert!(!s.contains("c2lnbmF0dXJl"), "{s}");
        assert_eq!(
            s,
            "bad header Authorization: Bearer *** for user; again ***, eyJ alone"
        );
        assert_eq!(scrub("Bearer "), "Bearer ");
    }

    #[test]
    fn urls_parse_and_fold() {
        let u = parse_url("snowflake://xy12345.us-east-1/analytics?warehouse=wh&role=Deployer")
            .expect("valid");
        assert_eq!(u.account, "xy12345.us-east-1");
        assert_eq!(u.database, "ANALYTICS");
        assert_eq!(u.warehouse.as_deref(), Some("WH"));
        assert_eq!(u.role.as_deref(), Some("DEPLOYER"));
        assert!(parse_url("snowflake://acct").is_err());
        assert!(parse_url("snowflake://user:pw@acct/db")
            .expect_err("credentials")
            .contains("DEPOT_SNOWFLAKE_USER"));
        assert!(parse_url("snowflake://acct/db?password=x").is_err());
        assert!(parse_url("snowflake://acct/db\"x").is_err());
        assert!(parse_url("snowflake://acct/db?role=a;drop").is_err());
    }
}
