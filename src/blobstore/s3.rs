//! The S3 client for `--blob-store s3`: the `--s3-*` settings over the standard `AWS_*`
//! environment, and timeouts short enough that a store that is down answers
//! STORAGE_UNAVAILABLE in seconds rather than after object_store's three minutes of retries.

use std::time::Duration;

use anyhow::Context as _;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::{BackoffConfig, ClientOptions, RetryConfig};

use crate::config::S3Config;

pub(super) fn build(config: &S3Config) -> anyhow::Result<AmazonS3> {
    let mut builder = AmazonS3Builder::from_env()
        .with_virtual_hosted_style_request(!config.path_style)
        .with_retry(RetryConfig {
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_secs(1),
                base: 2.0,
            },
            max_retries: 2,
            retry_timeout: Duration::from_secs(10),
        });
    let mut client = ClientOptions::new()
        .with_connect_timeout(Duration::from_secs(3))
        .with_timeout(Duration::from_secs(60));
    if let Some(bucket) = &config.bucket {
        builder = builder.with_bucket_name(bucket);
    }
    if let Some(endpoint) = &config.endpoint {
        client = client.with_allow_http(endpoint.starts_with("http://"));
        builder = builder.with_endpoint(endpoint);
    }
    if let Some(region) = &config.region {
        builder = builder.with_region(region);
    }
    if let Some(key) = &config.access_key_id {
        builder = builder.with_access_key_id(key);
    }
    if let Some(secret) = &config.secret_access_key {
        builder = builder.with_secret_access_key(secret);
    }
    builder
        .with_client_options(client)
        .build()
        .context("configuring the S3 blob store (--s3-bucket and credentials are required)")
}
