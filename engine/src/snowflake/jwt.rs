//! Key-pair authentication: an RS256 JWT whose issuer is
//! `ACCOUNT.USER.SHA256:<fingerprint>` and whose subject is `ACCOUNT.USER`, where the
//! fingerprint is the base64 SHA-256 of the DER SubjectPublicKeyInfo of the user's public
//! key (what `DESC USER` shows as RSA_PUBLIC_KEY_FP), signed with ring.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use ring::signature::{KeyPair, RsaKeyPair, RSA_PKCS1_SHA256};
use rustls::pki_types::pem::PemObject;
use sha2::{Digest, Sha256};

/// A user's RSA key, ready to sign tokens.
pub struct KeyPairAuth {
    key: RsaKeyPair,
    /// `ACCOUNT.USER`.
    subject: String,
    /// `SHA256:…`.
    fingerprint: String,
}

/// The account part of the JWT claims, as Snowflake documents it: upper case, and the
/// region (and cloud) after the first `.` dropped from an account locator
/// (`xy12345.us-east-1` → `XY12345`); for a `.global` (replication) identifier, the part
/// after the first `-` dropped. Organization-account names (`myorg-acct`) stay whole.
pub fn account_for_jwt(account: &str) -> String {
    let cut = if account.contains(".global") {
        account.find('-')
    } else {
        account.find('.')
    };
    match cut {
        Some(i) if i > 0 => account[..i].to_ascii_uppercase(),
        _ => account.to_ascii_uppercase(),
    }
}

/// DER length bytes.
fn der_len(n: usize) -> Vec<u8> {
    if n < 0x80 {
        vec![n as u8]
    } else {
        let bytes: Vec<u8> = n
            .to_be_bytes()
            .iter()
            .copied()
            .skip_while(|b| *b == 0)
            .collect();
        let mut out = vec![0x80 | bytes.len() as u8];
        out.extend(bytes);
        out
    }
}

fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend(der_len(content.len()));
    out.extend_from_slice(content);
    out
}

/// The DER SubjectPublicKeyInfo of an RSA public key given as DER RSAPublicKey (PKCS#1).
pub fn rsa_spki(rsa_public_key: &[u8]) -> Vec<u8> {
    // AlgorithmIdentifier { rsaEncryption (1.2.840.113549.1.1.1), NULL }
    let algorithm: &[u8] = &[
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
    ];
    let mut bits = vec![0u8];
    bits.extend_from_slice(rsa_public_key);
    let mut content = algorithm.to_vec();
    content.extend(der(0x03, &bits));
    der(0x30, &content)
}

impl KeyPairAuth {
    /// Loads a PKCS#8 PEM private key. Errors never quote the key.
    pub fn new(account: &str, user: &str, pem: &[u8]) -> Result<KeyPairAuth, String> {
        let text = String::from_utf8_lossy(pem);
        if text.contains("ENCRYPTED PRIVATE KEY") {
            return Err("the Snowflake private key is encrypted; give an unencrypted PKCS#8 key (openssl pkcs8 -topk8 -nocrypt)".into());
        }
        if text.contains("BEGIN RSA PRIVATE KEY") {
            return Err("the Snowflake private key is PKCS#1 (BEGIN RSA PRIVATE KEY); convert it to PKCS#8 with `openssl pkcs8 -topk8 -nocrypt -in key.pem -out key.p8`".into());
        }
        let der = rustls::pki_types::PrivatePkcs8KeyDer::from_pem_slice(pem).map_err(|_| {
            "the Snowflake private key is not a PKCS#8 PEM (-----BEGIN PRIVATE KEY-----)"
                .to_string()
        })?;
        let key = RsaKeyPair::from_pkcs8(der.secret_pkcs8_der())
            .map_err(|e| format!("the Snowflake private key is not a usable RSA key ({e})"))?;
        let spki = rsa_spki(key.public_key().as_ref());
        let fingerprint = format!("SHA256:{}", STANDARD.encode(Sha256::digest(&spki)));
        Ok(KeyPairAuth {
            key,
            subject: format!("{}.{}", account_for_jwt(account), user.to_ascii_uppercase()),
            fingerprint,
        })
    }

    /// `ACCOUNT.USER.SHA256:…`.
    pub fn issuer(&self) -> String {
        format!("{}.{}", self.subject, self.fingerprint)
    }

    /// A token valid from `now` (Unix seconds) for `lifetime_secs` (Snowflake allows at
    /// most one hour).
    pub fn token(&self, now: u64, lifetime_secs: u64) -> Result<String, String> {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
        let claims = serde_json::json!({
            "iss": self.issuer(),
            "sub": self.subject,
            "iat": now,
            "exp": now + lifetime_secs,
        });
        let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
        let signing_input = format!("{header}.{payload}");
        let mut signature = vec![0u8; self.key.public().modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| "signing the Snowflake JWT failed".to_string())?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_identifiers_as_snowflake_documents() {
        assert_eq!(account_for_jwt("xy12345.us-east-1"), "XY12345");
        assert_eq!(account_for_jwt("xy12345.us-east-2.aws"), "XY12345");
        assert_eq!(account_for_jwt("myorg-myaccount"), "MYORG-MYACCOUNT");
        assert_eq!(account_for_jwt("xy12345-foo.global"), "XY12345");
        assert_eq!(account_for_jwt("acct"), "ACCT");
    }

    #[test]
    fn der_lengths() {
        assert_eq!(der_len(5), vec![5]);
        assert_eq!(der_len(0x80), vec![0x81, 0x80]);
        assert_eq!(der_len(270), vec![0x82, 0x01, 0x0e]);
    }

    #[test]
    fn bad_keys_are_explained_without_echoing_them() {
        let e = KeyPairAuth::new(
            "a",
            "u",
            b"-----BEGIN RSA PRIVATE KEY-----\nsecretstuff\n-----END RSA PRIVATE KEY-----\n",
        )
        .err()
        .expect("refused");
        assert!(e.contains("PKCS#8") && !e.contains("secretstuff"), "{e}");
        let e = KeyPairAuth::new("a", "u", b"garbage-secret")
            .err()
            .expect("refused");
        assert!(!e.contains("garbage-secret"), "{e}");
    }
}
