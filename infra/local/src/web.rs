//! The web client (`web/`), served at `/` on the same origin as the API, so
//! the pages need no CORS and the links in emails (`/orders/{id}`,
//! `/me/withdrawals`) open a page in a browser while `fetch()` on the same
//! path still gets JSON.

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{ACCEPT, AUTHORIZATION, HeaderMap};
use serde_json::json;
use std::path::{Component, Path, PathBuf};

/// Where the client's files are: `KHAMSA_WEB_DIR`, else the repository's
/// `web/` (found from this crate's source at compile time, then from the
/// working directory).
#[derive(Debug, Clone)]
pub struct WebRoot {
    dir: Option<PathBuf>,
}

impl WebRoot {
    pub fn from_env() -> WebRoot {
        if let Some(d) = std::env::var_os("KHAMSA_WEB_DIR").filter(|d| !d.is_empty()) {
            return WebRoot::at(PathBuf::from(d));
        }
        let compiled = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web");
        let candidates = [compiled, PathBuf::from("web")];
        let dir = candidates
            .into_iter()
            .find(|d| d.join("index.html").is_file());
        WebRoot {
            dir: dir.and_then(|d| d.canonicalize().ok()),
        }
    }

    pub fn at(dir: PathBuf) -> WebRoot {
        WebRoot {
            dir: dir.canonicalize().ok(),
        }
    }

    /// The answer for a GET or HEAD that is the web client's, or `None`
    /// when the request is the API's.
    pub fn serve(&self, path: &str, headers: &HeaderMap) -> Option<hyper::Response<Full<Bytes>>> {
        if path == "/config.json" {
            // Locally the API is this same origin; sign-in is /dev/token.
            let body = json!({"mode": "local", "api": ""}).to_string();
            return Some(respond(200, "application/json", Bytes::from(body)));
        }
        let dir = self.dir.as_ref()?;
        if path != "/"
            && let Some(file) = resolve(dir, path)
            && let Ok(bytes) = std::fs::read(&file)
        {
            return Some(respond(200, content_type(&file), Bytes::from(bytes)));
        }
        if is_navigation(headers) {
            let index = std::fs::read(dir.join("index.html")).ok()?;
            return Some(respond(200, "text/html; charset=utf-8", Bytes::from(index)));
        }
        None
    }
}

/// A browser opening a page (a link, the address bar, a reload), as
/// opposed to a `fetch()` from the page or a command-line client. A
/// request that carries a token is always the API's.
pub fn is_navigation(headers: &HeaderMap) -> bool {
    if headers.contains_key(AUTHORIZATION) {
        return false;
    }
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    header("sec-fetch-mode").eq_ignore_ascii_case("navigate")
        || headers
            .get(ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.trim_start().starts_with("text/html"))
}

/// The file under `dir` that `path` names, refusing anything that would
/// leave it (`..`, encoded separators, absolute parts) or is not a file.
fn resolve(dir: &Path, path: &str) -> Option<PathBuf> {
    let decoded: String = percent_decode(path.trim_start_matches('/'))?;
    if decoded.contains('\\') || decoded.contains('\0') {
        return None;
    }
    let rel = Path::new(&decoded);
    if !rel.components().all(|c| matches!(c, Component::Normal(_))) {
        return None;
    }
    // Symlinks could still point outside: compare the real path.
    let file = dir.join(rel).canonicalize().ok()?;
    (file.starts_with(dir) && file.is_file()).then_some(file)
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn content_type(file: &Path) -> &'static str {
    match file.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "webp" => "image/webp",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn respond(status: u16, content_type: &str, body: Bytes) -> hyper::Response<Full<Bytes>> {
    hyper::Response::builder()
        .status(status)
        .header("content-type", content_type)
        .header("x-content-type-options", "nosniff")
        // The pages change with the code; a stale cached module would
        // pair old pages with a new API.
        .header("cache-control", "no-cache")
        .body(Full::new(body))
        .unwrap_or_else(|_| hyper::Response::new(Full::new(Bytes::new())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn root() -> (tempdir::Dir, WebRoot) {
        let d = tempdir::Dir::new();
        std::fs::write(d.0.join("index.html"), "<html>index</html>").unwrap();
        std::fs::write(d.0.join("app.js"), "export {}").unwrap();
        std::fs::create_dir(d.0.join("css")).unwrap();
        std::fs::write(d.0.join("css/site.css"), "body{}").unwrap();
        let web = d.0.join("..").join(d.0.file_name().unwrap());
        let r = WebRoot::at(web);
        (d, r)
    }

    mod tempdir {
        pub struct Dir(pub std::path::PathBuf);
        impl Dir {
            pub fn new() -> Dir {
                let p = std::env::temp_dir().join(format!(
                    "khamsa-web-{}-{}",
                    std::process::id(),
                    rand::random::<u64>()
                ));
                std::fs::create_dir_all(&p).unwrap();
                Dir(p)
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    fn nav() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("sec-fetch-mode", HeaderValue::from_static("navigate"));
        h
    }

    fn ctype(r: &hyper::Response<Full<Bytes>>) -> &str {
        r.headers()["content-type"].to_str().unwrap()
    }

    #[test]
    fn files_have_their_content_types() {
        let (_d, r) = root();
        let h = HeaderMap::new();
        assert_eq!(
            ctype(&r.serve("/app.js", &h).unwrap()),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(
            ctype(&r.serve("/css/site.css", &h).unwrap()),
            "text/css; charset=utf-8"
        );
        assert_eq!(
            ctype(&r.serve("/index.html", &h).unwrap()),
            "text/html; charset=utf-8"
        );
        let c = r.serve("/config.json", &h).unwrap();
        assert_eq!(ctype(&c), "application/json");
    }

    #[test]
    fn no_way_out_of_the_directory() {
        let (d, r) = root();
        let secret = d.0.parent().unwrap().join(format!(
            "{}-secret",
            d.0.file_name().unwrap().to_str().unwrap()
        ));
        std::fs::write(&secret, "secret").unwrap();
        let name = secret.file_name().unwrap().to_str().unwrap().to_owned();
        let h = HeaderMap::new();
        for p in [
            format!("/../{name}"),
            format!("/%2e%2e/{name}"),
            format!("/css/../../{name}"),
            format!("/..%2f{name}"),
            format!("/..%5c{name}"),
            "/css".to_owned(),
            "/%00".to_owned(),
            "/%zz".to_owned(),
        ] {
            assert!(r.serve(&p, &h).is_none(), "{p}");
        }
        // A navigation to such a path gets the index page, never the file.
        let b = r.serve(&format!("/../{name}"), &nav()).unwrap();
        assert_eq!(ctype(&b), "text/html; charset=utf-8");
        std::fs::remove_file(secret).unwrap();
    }

    #[test]
    fn navigations_get_the_page_and_fetches_get_the_api() {
        let (_d, r) = root();
        assert!(r.serve("/orders/o1", &nav()).is_some());
        assert!(r.serve("/", &nav()).is_some());
        let mut html = HeaderMap::new();
        html.insert(ACCEPT, HeaderValue::from_static("text/html,*/*"));
        assert!(r.serve("/me/withdrawals", &html).is_some());
        assert!(r.serve("/orders/o1", &HeaderMap::new()).is_none());
        let mut signed = nav();
        signed.insert(AUTHORIZATION, HeaderValue::from_static("Bearer x"));
        assert!(r.serve("/orders/o1", &signed).is_none());
        let mut json = HeaderMap::new();
        json.insert(ACCEPT, HeaderValue::from_static("application/json"));
        assert!(r.serve("/orders/o1", &json).is_none());
    }
}
