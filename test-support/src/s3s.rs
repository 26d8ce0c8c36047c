//! s3s-fs in-process: a real S3 server (SigV4 and SigV2 checked against one key pair) storing
//! objects as files under a folder, `<root>/<bucket>/<key>`.

use std::net::SocketAddr;
use std::path::Path;

/// Serves `s3` (an s3s-fs file system, or a wrapper around one that delays or refuses
/// operations) on `127.0.0.1:0` from tasks of the current tokio runtime, accepting requests
/// signed with this key pair only; returns the address.
pub async fn serve<S: s3s::S3>(s3: S, access_key: &str, secret_key: &str) -> SocketAddr {
    let mut b = s3s::service::S3ServiceBuilder::new(s3);
    b.set_auth(s3s::auth::SimpleAuth::from_single(access_key, secret_key));
    crate::http::serve_service(None, b.build()).await
}

/// The s3s-fs file system storing under `root` (a bucket is a folder of it).
pub fn file_system(root: &Path) -> s3s_fs::FileSystem {
    s3s_fs::FileSystem::new(root).unwrap()
}

/// A running s3s-fs over a temporary folder, removed when this is dropped.
#[derive(Debug)]
pub struct S3sFs {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// The folder the objects are stored under.
    pub dir: tempfile::TempDir,
}

impl S3sFs {
    /// s3s-fs over a fresh temporary folder, served from the current tokio runtime.
    pub async fn start(access_key: &str, secret_key: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let addr = serve(file_system(dir.path()), access_key, secret_key).await;
        Self {
            endpoint: format!("http://{addr}"),
            dir,
        }
    }
}
