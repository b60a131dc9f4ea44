//! Where blobs are stored (`--blob-store`) and, for S3-compatible object storage, how to reach
//! it (`--s3-*`, or the standard `AWS_*` environment variables).

use clap::Args;

/// The blob store's backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
#[clap(rename_all = "lowercase")]
pub enum BlobBackend {
    /// The local directory `--blob-dir` (one machine).
    Dir,
    /// An S3-compatible bucket (`--s3-*`): every process serves every upload.
    S3,
}

/// S3-compatible object storage. Unset settings fall back to the standard `AWS_*`
/// environment variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`,
/// `AWS_REGION`, `AWS_ENDPOINT_URL`, ...).
#[derive(Clone, Args)]
pub struct S3Config {
    /// The S3 API's base URL for a store other than AWS (MinIO, Ceph, Garage, R2, ...), e.g.
    /// `http://127.0.0.1:9000`; AWS's regional endpoint when unset.
    #[arg(
        long = "s3-endpoint",
        id = "s3-endpoint",
        env = "CONFAB_S3_ENDPOINT",
        global = true
    )]
    pub endpoint: Option<String>,
    /// The bucket blobs go in (required with `--blob-store s3`).
    #[arg(
        long = "s3-bucket",
        id = "s3-bucket",
        env = "CONFAB_S3_BUCKET",
        global = true
    )]
    pub bucket: Option<String>,
    /// The bucket's region (`AWS_REGION`, else `us-east-1`, when unset).
    #[arg(
        long = "s3-region",
        id = "s3-region",
        env = "CONFAB_S3_REGION",
        global = true
    )]
    pub region: Option<String>,
    /// Address the bucket in the path (`<endpoint>/<bucket>/<key>`, what most self-hosted
    /// stores want) rather than in the host name (`<bucket>.<endpoint>`, AWS's way).
    #[arg(
        long = "s3-path-style",
        id = "s3-path-style",
        env = "CONFAB_S3_PATH_STYLE",
        default_value_t = false,
        action = clap::ArgAction::Set,
        num_args = 0..=1,
        default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new(),
        global = true
    )]
    pub path_style: bool,
    /// The access key id (`AWS_ACCESS_KEY_ID` when unset).
    #[arg(
        long = "s3-access-key-id",
        id = "s3-access-key-id",
        env = "CONFAB_S3_ACCESS_KEY_ID",
        global = true
    )]
    pub access_key_id: Option<String>,
    /// The secret access key (`AWS_SECRET_ACCESS_KEY` when unset).
    #[arg(
        long = "s3-secret-access-key",
        id = "s3-secret-access-key",
        env = "CONFAB_S3_SECRET_ACCESS_KEY",
        global = true
    )]
    pub secret_access_key: Option<String>,
}

/// Never prints the secret key, whoever formats the settings.
impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("path_style", &self.path_style)
            .field("access_key_id", &self.access_key_id)
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "<hidden>"),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_secret_key_is_never_printed() {
        let config = crate::config::Cli::load_from([
            "confab",
            "--blob-store",
            "s3",
            "--s3-bucket",
            "b",
            "--s3-secret-access-key",
            "hunter2-secret",
        ])
        .expect("settings")
        .config;
        assert_eq!(config.blobs.backend, super::BlobBackend::S3);
        assert_eq!(
            config.blobs.s3.secret_access_key.as_deref(),
            Some("hunter2-secret")
        );
        let shown = config.describe();
        assert!(!shown.contains("hunter2-secret"), "{shown}");
        assert!(shown.contains("<hidden>"), "{shown}");
    }
}
