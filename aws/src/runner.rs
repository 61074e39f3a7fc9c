//! The operator's side of `--runner FUNCTION`: who the caller is (STS
//! `GetCallerIdentity`) and the Lambda Invoke API call (`RequestResponse`) that hands an
//! operator request (`depot_migrate_engine::operator::Request`) to the `MigrationRunner`
//! function and reads its answer.
//!
//! The AWS SDK's usual configuration applies: credentials from the environment, the
//! profile (`--profile`, `AWS_PROFILE`), SSO or an instance role; the region from the
//! function's ARN, else `AWS_REGION` / the profile; endpoints from `AWS_ENDPOINT_URL_LAMBDA`
//! / `AWS_ENDPOINT_URL` when set. The Invoke request is signed with SigV4 (`aws-sigv4`,
//! the SDK's signer) and sent over the same rustls (ring) stack as the rest of the binary.

use aws_config::timeout::TimeoutConfig;
use aws_config::{Region, SdkConfig};
use aws_credential_types::provider::ProvideCredentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use bytes::Bytes;
use depot_migrate_engine::operator::{Caller, Response};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use serde_json::Value;
use std::time::{Duration, SystemTime};

/// The longest a runner invocation may take: Lambda's longest timeout (15 minutes) and a
/// margin for the network.
const INVOKE_TIMEOUT: Duration = Duration::from_secs(16 * 60);

/// A runner function and the AWS configuration to reach it.
pub struct Runner {
    rt: tokio::runtime::Runtime,
    config: SdkConfig,
    function: String,
    region: String,
}

/// The region of a Lambda function ARN (`arn:aws:lambda:REGION:ACCOUNT:function:NAME`).
pub fn arn_region(function: &str) -> Option<&str> {
    let mut parts = function.split(':');
    (parts.next() == Some("arn")).then_some(())?;
    parts.next()?;
    (parts.next() == Some("lambda")).then_some(())?;
    parts.next().filter(|r| !r.is_empty())
}

/// Checks the `--runner` value: a function name (letters, digits, `-`, `_`, at most 64)
/// or a Lambda function ARN (optionally with a version or alias).
pub fn check_function(function: &str) -> Result<(), String> {
    let name_ok = |n: &str| {
        !n.is_empty()
            && n.len() <= 64
            && n.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if function.starts_with("arn:") {
        let p: Vec<&str> = function.split(':').collect();
        let ok = (7..=8).contains(&p.len())
            && p[2] == "lambda"
            && !p[3].is_empty()
            && p[4].len() == 12
            && p[5] == "function"
            && name_ok(p[6])
            && p.get(7).is_none_or(|q| name_ok(&q.replace('$', "")));
        if ok {
            return Ok(());
        }
    } else if name_ok(function) {
        return Ok(());
    }
    Err(format!(
        "--runner {function:?} is neither a Lambda function name nor a function ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME); the stack's MigrationRunner output names it"
    ))
}

impl Runner {
    /// Loads the AWS configuration (with `profile` when given).
    pub fn new(function: &str, profile: Option<&str>) -> Result<Runner, String> {
        check_function(function)?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the AWS runtime: {e}"))?;
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(10))
            .operation_timeout(Duration::from_secs(60))
            .build();
        let mut loader = crate::config::loader(timeouts);
        if let Some(p) = profile {
            loader = loader.profile_name(p);
        }
        if let Some(r) = arn_region(function) {
            loader = loader.region(Region::new(r.to_string()));
        }
        let config = rt.block_on(loader.load());
        let region = config
            .region()
            .map(|r| r.to_string())
            .ok_or_else(|| format!(
                "no AWS region for --runner {function}: set AWS_REGION, use a profile with a region (--profile), or pass the function's ARN"
            ))?;
        Ok(Runner {
            rt,
            config,
            function: function.to_string(),
            region,
        })
    }

    /// Who the caller is: STS `GetCallerIdentity` (needs no permission).
    pub fn caller_identity(&self) -> Result<Caller, String> {
        let sts = aws_sdk_sts::Client::new(&self.config);
        let out = self
            .rt
            .block_on(sts.get_caller_identity().send())
            .map_err(|e| {
                format!(
                    "STS GetCallerIdentity failed, so the caller cannot be recorded: {} (are AWS credentials configured? `aws sts get-caller-identity` shows it)",
                    aws_sdk_sts::error::DisplayErrorContext(&e)
                )
            })?;
        Ok(Caller {
            arn: out.arn().unwrap_or_default().to_string(),
            account: out.account().unwrap_or_default().to_string(),
            user_id: out.user_id().unwrap_or_default().to_string(),
        })
    }

    /// The Lambda endpoint: `AWS_ENDPOINT_URL_LAMBDA`, else `AWS_ENDPOINT_URL` (the SDK's
    /// configuration), else the regional endpoint.
    fn endpoint(&self) -> String {
        if let Some(e) = std::env::var("AWS_ENDPOINT_URL_LAMBDA")
            .ok()
            .filter(|v| !v.is_empty())
        {
            return e.trim_end_matches('/').to_string();
        }
        if let Some(e) = self.config.endpoint_url() {
            return e.trim_end_matches('/').to_string();
        }
        let suffix = if self.region.starts_with("cn-") {
            "amazonaws.com.cn"
        } else {
            "amazonaws.com"
        };
        format!("https://lambda.{}.{suffix}", self.region)
    }

    /// Invokes the function with `request` (Lambda Invoke, `RequestResponse`) and reads its
    /// operator response. Errors say whether the call was refused (and what permission
    /// is missing), failed in the function, or answered in another shape.
    pub fn invoke(&self, request: &Value) -> Result<Response, String> {
        let body = serde_json::to_vec(request).map_err(|e| format!("the request: {e}"))?;
        let function = &self.function;
        let encoded: String = function
            .bytes()
            .map(|b| match b {
                b':' => "%3A".to_string(),
                b'$' => "%24".to_string(),
                b => (b as char).to_string(),
            })
            .collect();
        let uri = format!(
            "{}/2015-03-31/functions/{encoded}/invocations",
            self.endpoint()
        );
        let creds = self
            .rt
            .block_on(async {
                match self.config.credentials_provider() {
                    Some(p) => p.provide_credentials().await.map_err(|e| e.to_string()),
                    None => Err("no credentials provider".to_string()),
                }
            })
            .map_err(|e| {
                format!(
                    "no AWS credentials to invoke {function}: {e} (configure them the AWS CLI's way, or pass --profile)"
                )
            })?;
        let identity: Identity = creds.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("lambda")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| format!("cannot sign the Invoke request: {e}"))?
            .into();
        let mut req = http::Request::builder()
            .method("POST")
            .uri(&uri)
            .header("content-type", "application/json")
            .header("x-amz-invocation-type", "RequestResponse")
            .header("x-amz-log-type", "None")
            .header(
                "user-agent",
                concat!("depot-migrate/", env!("CARGO_PKG_VERSION")),
            )
            .body(Full::new(Bytes::from(body.clone())))
            .map_err(|e| format!("bad Invoke request to {uri}: {e}"))?;
        let host = req
            .uri()
            .authority()
            .map(|a| a.to_string())
            .ok_or_else(|| format!("the Lambda endpoint {uri} has no host"))?;
        let host_header =
            http::HeaderValue::from_str(&host).map_err(|e| format!("endpoint host: {e}"))?;
        req.headers_mut().insert(http::header::HOST, host_header);
        let signed_headers: Vec<(String, String)> = req
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect();
        let signable = SignableRequest::new(
            "POST",
            uri.clone(),
            signed_headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            SignableBody::Bytes(&body),
        )
        .map_err(|e| format!("cannot sign the Invoke request: {e}"))?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| format!("cannot sign the Invoke request: {e}"))?
            .into_parts();
        instructions.apply_to_request_http1x(&mut req);

        let (status, headers, payload) = self.rt.block_on(async {
            let http = client()?;
            let fut = async {
                let resp = http.request(req).await.map_err(|e| {
                    let mut s = e.to_string();
                    let mut src = std::error::Error::source(&e);
                    while let Some(inner) = src {
                        s.push_str(": ");
                        s.push_str(&inner.to_string());
                        src = inner.source();
                    }
                    format!("cannot reach the Lambda API at {}: {s}", self.endpoint())
                })?;
                let status = resp.status().as_u16();
                let headers = resp.headers().clone();
                let bytes = resp
                    .into_body()
                    .collect()
                    .await
                    .map_err(|e| format!("reading the runner's answer failed: {e}"))?
                    .to_bytes();
                Ok::<_, String>((status, headers, bytes))
            };
            tokio::time::timeout(INVOKE_TIMEOUT, fut)
                .await
                .map_err(|_| {
                    format!("the runner {function} did not answer within {INVOKE_TIMEOUT:?}")
                })?
        })?;
        let header = |k: &str| {
            headers
                .get(k)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        if !(200..300).contains(&status) {
            let doc: Value = serde_json::from_slice(&payload).unwrap_or(Value::Null);
            let message = doc["message"]
                .as_str()
                .or(doc["Message"].as_str())
                .map(str::to_string)
                .unwrap_or_else(|| {
                    String::from_utf8_lossy(&payload)
                        .chars()
                        .take(300)
                        .collect()
                });
            let kind = header("x-amzn-errortype").unwrap_or_default();
            let hint = if status == 403 || kind.starts_with("AccessDenied") {
                " (the caller needs lambda:InvokeFunction on the runner: MigrationRunner.grantRead(...) or grantOperate(...))"
            } else if status == 404 {
                " (is --runner the function's name in this account and region?)"
            } else {
                ""
            };
            return Err(format!(
                "Lambda Invoke of {function} was refused (HTTP {status} {kind}): {message}{hint}"
            ));
        }
        if let Some(kind) = header("x-amz-function-error") {
            let doc: Value = serde_json::from_slice(&payload).unwrap_or(Value::Null);
            return Err(format!(
                "the runner {function} failed ({kind}): {}: {}",
                doc["errorType"].as_str().unwrap_or("?"),
                doc["errorMessage"].as_str().unwrap_or("(no message)")
            ));
        }
        let mut response = Response::parse(&payload)?;
        if response.request_id.is_none() {
            response.request_id = header("x-amzn-requestid");
        }
        Ok(response)
    }
}

type Https = hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>;

/// An HTTPS (and, for local endpoints, HTTP) client with the web PKI roots.
fn client() -> Result<Client<Https, Full<Bytes>>, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup failed: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let mut tcp = hyper_util::client::legacy::connect::HttpConnector::new();
    tcp.enforce_http(false);
    tcp.set_connect_timeout(Some(Duration::from_secs(10)));
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(tcp);
    Ok(Client::builder(hyper_util::rt::TokioExecutor::new()).build(https))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_names_and_arns_are_checked_and_arns_give_the_region() {
        assert!(check_function("Data-RunnerFn1A2B-x_y").is_ok());
        let arn = "arn:aws:lambda:eu-west-1:123456789012:function:depot-runner";
        assert!(check_function(arn).is_ok());
        assert!(check_function(&format!("{arn}:live")).is_ok());
        assert!(check_function(&format!("{arn}:$LATEST")).is_ok());
        assert_eq!(arn_region(arn), Some("eu-west-1"));
        assert_eq!(arn_region("depot-runner"), None);
        for bad in ["", "a b", "x/../y", "arn:aws:s3:::bucket", &"a".repeat(65)] {
            let e = check_function(bad).expect_err(bad);
            assert!(e.contains("neither a Lambda function name"), "{e}");
        }
    }
}
