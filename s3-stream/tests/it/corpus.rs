//! Recorded S3 responses of other implementations (testdata/corpus/s3-responses, with their
//! origin in SOURCES.md there), fed to the tolerant readers as `cases.tsv` says.

use std::path::PathBuf;

use s3_stream::xml::{self, Outcome};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/corpus/s3-responses")
}

/// What a reader answered, in the words of `cases.tsv`.
fn answer(reader: &str, body: &[u8]) -> String {
    fn show<T>(r: s3_stream::Result<Outcome<T>>, ok: impl Fn(T) -> String) -> String {
        match r {
            Ok(Outcome::Ok(v)) => ok(v),
            Ok(Outcome::Error(e)) => format!("error:{}", e.code.unwrap_or_default()),
            Err(_) => "invalid".into(),
        }
    }
    match reader {
        "initiate" => show(xml::parse_initiate(body), |id| format!("ok:{id}")),
        "complete" => show(xml::parse_complete(body), |e| match e {
            Some(e) => format!("ok:{e}"),
            None => "ok-none".into(),
        }),
        "copy" => show(xml::parse_copy_result(body), |e| format!("ok:{e}")),
        "list" => show(xml::parse_list_uploads(body), |p| {
            format!(
                "uploads={} next={}",
                p.uploads.len(),
                p.next.map_or("none".into(), |(k, _)| k)
            )
        }),
        "parts" => show(xml::parse_list_parts(body), |p| {
            let parts: Vec<String> = p
                .parts
                .iter()
                .map(|p| format!("{}/{}", p.number, p.size))
                .collect();
            format!(
                "parts={} next={}",
                parts.join(","),
                p.next.map_or("none".into(), |n| n.to_string())
            )
        }),
        "acl" => show(xml::parse_acl(body), |g| {
            let grants: Vec<String> = g
                .iter()
                .map(|g| {
                    let who = g.grantee.rsplit('/').next().unwrap_or_default();
                    format!("{who}:{}", g.permission)
                })
                .collect();
            format!("grants={}", grants.join(","))
        }),
        "error" => match xml::parse_error(body) {
            Some(e) => format!("error:{}", e.code.unwrap_or_default()),
            None => "invalid".into(),
        },
        other => panic!("unknown reader {other} in cases.tsv"),
    }
}

#[test]
fn recorded_responses_of_other_implementations() {
    let cases = std::fs::read_to_string(dir().join("cases.tsv")).unwrap();
    let mut n = 0;
    for line in cases
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let mut f = line.split('\t');
        let (file, reader, want) = (f.next().unwrap(), f.next().unwrap(), f.next().unwrap());
        let body = std::fs::read(dir().join(file)).unwrap();
        assert_eq!(answer(reader, &body), want, "{file} read as {reader}");
        // every prefix of a document is refused or read, never a panic
        for k in 0..body.len() {
            let _ = answer(reader, &body[..k]);
        }
        n += 1;
    }
    assert!(n >= 20, "only {n} cases");
    // every recorded file is in the table
    for e in std::fs::read_dir(dir()).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".xml") {
            assert!(
                cases.contains(&format!("{name}\t")),
                "{name} is not in cases.tsv"
            );
        }
    }
}
