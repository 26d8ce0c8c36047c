//! The simulator's IO shell: the hyper server, one request's path through the servlet's steps
//! (parameter map, verification, dispatch), extract downloads and the background template
//! download.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde_json::{Value, json};

use super::Shared;
use super::apis;
use super::request::servlet_params;
use super::state::SideEffect;
use super::templates::{
    Checksum, Download, checksum_mismatch, disk_header_problem, extract_extension, looks_like_ova,
};
use super::verify::verify_request;

pub(super) async fn serve(
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
    mut shutdown: tokio::sync::oneshot::Receiver<()>,
) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    loop {
        tokio::select! {
            _ = &mut shutdown => return,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let sh = shared.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| handle(sh.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                        .await;
                });
            }
        }
    }
}

type Resp = Response<Full<Bytes>>;

fn json_response(status: u16, body: &Value, desc: Option<&str>) -> Resp {
    let mut b = Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", "application/json; charset=UTF-8");
    if let Some(d) = desc {
        b = b.header("x-description", d.replace(['\r', '\n'], " "));
    }
    b.body(Full::new(Bytes::from(body.to_string())))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> std::result::Result<Resp, Infallible> {
    shared
        .requests
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = req.uri().path().to_owned();
    if let Some(file) = path.strip_prefix("/userdata/") {
        return Ok(serve_extract(&shared, file));
    }
    if path.trim_end_matches('/') != "/client/api" {
        return Ok(Response::builder()
            .status(404)
            .body(Full::new(Bytes::from_static(b"not found")))
            .unwrap_or_default());
    }
    let query = req.uri().query().unwrap_or("").to_owned();
    let is_form = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let body = is_form.then(|| String::from_utf8_lossy(&body).into_owned());
    let params = servlet_params(&query, body.as_deref());
    Ok(api(&shared, params))
}

/// `/userdata/<token>.<ext>`: the stored bytes, as they were downloaded (the format they were
/// registered as); a link name with another extension does not exist.
fn serve_extract(shared: &Shared, file: &str) -> Resp {
    let (token, ext) = file.rsplit_once('.').unwrap_or((file, ""));
    let tid = {
        let st = shared.lock();
        st.extracts.get(token).cloned().filter(|id| {
            let format = st
                .templates
                .iter()
                .find(|t| t.get("id").and_then(Value::as_str) == Some(id.as_str()))
                .and_then(|t| t.get("format").and_then(Value::as_str))
                .unwrap_or_default();
            extract_extension(format) == ext
        })
    };
    match tid.and_then(|t| shared.blob(&t)) {
        Some(bytes) => Response::builder()
            .status(200)
            .header("content-type", "application/octet-stream")
            .body(Full::new(bytes))
            .unwrap_or_default(),
        None => Response::builder()
            .status(404)
            .body(Full::new(Bytes::from_static(b"no such extract")))
            .unwrap_or_default(),
    }
}

const UNAUTHORIZED: &str = "unable to verify user credentials and/or request signature";

/// `getSerializedApiError`'s wrapper: the command's response name when the `command` parameter
/// names a known command, else `errorresponse`.
fn error_wrapper(params: &std::collections::BTreeMap<String, String>) -> String {
    params
        .get("command")
        .and_then(|c| apis::find(c))
        .map_or_else(
            || "errorresponse".to_owned(),
            |a| format!("{}response", a.name.to_lowercase()),
        )
}

fn api(shared: &Arc<Shared>, params: std::collections::BTreeMap<String, String>) -> Resp {
    let wrapper = error_wrapper(&params);
    let reply = |status: u16, inner: Value| {
        let desc = (status != 200)
            .then(|| inner.get("errortext").and_then(Value::as_str))
            .flatten()
            .map(str::to_owned);
        json_response(status, &json!({ wrapper.clone(): inner }), desc.as_deref())
    };
    if let Err(why) = verify_request(
        &params,
        &shared.cfg.api_key,
        &shared.cfg.secret_key,
        |c| apis::find(c).is_some(),
        SystemTime::now(),
    ) {
        tracing::info!(reason = ?why, command = params.get("command").map(String::as_str), "simulator: request refused");
        return reply(
            401,
            json!({"uuidList": [], "errorcode": 401, "cserrorcode": 9999, "errortext": UNAUTHORIZED}),
        );
    }
    let command = params.get("command").cloned().unwrap_or_default();
    // after verification the API works on lowercased names (ParamUnpackWorker)
    let lower: std::collections::BTreeMap<String, String> = params
        .into_iter()
        .map(|(k, v)| (k.to_lowercase(), v))
        .collect();
    let mut st = shared.lock();
    if st.knobs.throttle_next > 0 {
        st.knobs.throttle_next -= 1;
        let ms = st.knobs.throttle_retry_ms;
        let text = format!(
            "The given user has reached his/her account api limit, please retry after {ms} ms."
        );
        return reply(
            429,
            json!({"uuidList": [], "errorcode": 429, "cserrorcode": 9999, "errortext": text}),
        );
    }
    if st.knobs.fail_next > 0 {
        st.knobs.fail_next -= 1;
        let status = st.knobs.fail_status;
        return Response::builder()
            .status(status)
            .header("content-type", "text/html")
            .body(Full::new(Bytes::from(format!(
                "<html><body><h1>{status} Service Unavailable</h1></body></html>"
            ))))
            .unwrap_or_default();
    }
    let ((status, inner), effects) = st.dispatch(&command, &lower, &shared.base_url);
    let mutating = !crate::retry::is_read_only(&command)
        || command.eq_ignore_ascii_case("queryAsyncJobResult");
    if mutating {
        shared.save(&st);
    }
    drop(st);
    for e in effects {
        match e {
            SideEffect::Download { template_id, url } => {
                let sh = shared.clone();
                tokio::spawn(download(sh, template_id, url));
            }
        }
    }
    reply(status, inner)
}

/// The secondary storage's download: `<n>% Downloaded` while bytes arrive (when the length is
/// known), then the registered checksum and (for OVA) the archive's first entry are checked.
async fn download(shared: Arc<Shared>, template_id: String, url: String) {
    let set = |d: Download| {
        let mut st = shared.lock();
        st.set_download(&template_id, d);
        shared.save(&st);
    };
    set(Download::Progress(0));
    let fetched = async {
        let mut resp = shared
            .http
            .get(&url)
            .send()
            .await
            .map_err(|e| e.without_url().to_string())?;
        if !resp.status().is_success() {
            return Err(format!("http status {}", resp.status().as_u16()));
        }
        let total = resp.content_length().filter(|&n| n > 0);
        let mut bytes = Vec::new();
        let mut shown = 0u8;
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| e.without_url().to_string())?
        {
            bytes.extend_from_slice(&chunk);
            if let Some(total) = total {
                let pct = ((bytes.len() as u64 * 100 / total).min(99)) as u8;
                if pct >= shown.saturating_add(10) {
                    shown = pct;
                    set(Download::Progress(pct));
                }
            }
        }
        Ok(Bytes::from(bytes))
    }
    .await;
    let (format, checksum) = {
        let st = shared.lock();
        let format = st
            .templates
            .iter()
            .find(|t| t.get("id").and_then(Value::as_str) == Some(&template_id))
            .and_then(|t| t.get("format").and_then(Value::as_str).map(str::to_owned));
        (format, st.template_checksums.get(&template_id).cloned())
    };
    let bytes = match fetched {
        Err(e) => {
            return set(Download::Failed(format!(
                "Failed to download template: {e}"
            )));
        }
        Ok(b) => b,
    };
    if let Some(given) = checksum.as_deref().and_then(|c| Checksum::parse(c).ok()) {
        let computed = given.of(&bytes);
        if computed != given {
            return set(Download::Failed(checksum_mismatch(&computed, &given)));
        }
    }
    if format.as_deref() == Some("OVA") && !looks_like_ova(&bytes) {
        return set(Download::Failed(
            "Failed post download script: the file is not an OVA (no tar archive with an .ovf first)"
                .into(),
        ));
    }
    if let Some(problem) = format
        .as_deref()
        .and_then(|f| disk_header_problem(f, &bytes))
    {
        return set(Download::Failed(format!(
            "Failed post download script: {problem}"
        )));
    }
    if let Some(dir) = &shared.cfg.state_dir {
        let path = dir.join("templates").join(&template_id);
        if let Err(e) = std::fs::write(&path, &bytes) {
            tracing::warn!(error = %e, "simulator: cannot store template bytes");
        }
    }
    let n = bytes.len();
    shared
        .blobs
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(template_id.clone(), bytes);
    set(Download::Done(n));
}
