//! The one way this binary configures the AWS SDK: the slim HTTP client (one rustls with
//! ring, no aws-lc), the standard retry policy (3 attempts) and the caller's timeouts.
//! `AWS_ENDPOINT_URL` (moto_server in the tests) and the usual credential chain apply.

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, ConfigLoader};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

/// A configuration loader with the slim HTTP client, standard retries and `timeouts`.
pub fn loader(timeouts: TimeoutConfig) -> ConfigLoader {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .timeout_config(timeouts)
        .retry_config(RetryConfig::standard().with_max_attempts(3))
}
