//! `s3s_server`: s3s-fs on a loopback port, for the S3 tool comparison.
//!
//! ```text
//! s3s_server PORT ACCESS_KEY SECRET_KEY DATA_DIR
//! ```

use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 5 {
        eprintln!("usage: s3s_server PORT ACCESS_KEY SECRET_KEY DATA_DIR");
        std::process::exit(2);
    }
    let fs =
        s3s_fs::FileSystem::new(&args[4]).map_err(|e| std::io::Error::other(format!("{e:?}")))?;
    let mut b = s3s::service::S3ServiceBuilder::new(fs);
    b.set_auth(s3s::auth::SimpleAuth::from_single(
        args[2].as_str(),
        args[3].as_str(),
    ));
    let service = b.build();
    let listener =
        tokio::net::TcpListener::bind(("127.0.0.1", args[1].parse::<u16>().unwrap_or(0))).await?;
    eprintln!("s3s-fs on http://{}", listener.local_addr()?);
    loop {
        let (sock, _) = listener.accept().await?;
        let svc = service.clone();
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(sock), svc)
                .await;
        });
    }
}
