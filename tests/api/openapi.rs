//! The OpenAPI document lists exactly the routes the server serves.

use std::collections::BTreeSet;

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The local server's own routes, never in a Lambda function.
const LOCAL_ONLY: &[(&str, &str)] = &[
    ("GET", "/health"),
    ("POST", "/dev/token"),
    ("POST", "/dev/clock"),
    ("GET", "/dev/emails"),
];

#[test]
fn openapi_paths_match_the_served_routes() {
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/openapi.yaml");
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{file}: {e}"));
    let doc: serde_yaml::Value =
        serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{file} is not YAML: {e}"));
    let paths = doc["paths"]
        .as_mapping()
        .unwrap_or_else(|| panic!("{file} has no `paths` mapping"));

    let mut documented = BTreeSet::new();
    for (path, item) in paths {
        let path = path.as_str().expect("a path is a string");
        let item = item
            .as_mapping()
            .unwrap_or_else(|| panic!("{path}: not a path item"));
        for key in item.keys() {
            // Path items also hold `parameters`, `summary`, ...: only methods count.
            if let Some(m) = key.as_str().filter(|k| METHODS.contains(k)) {
                documented.insert((m.to_uppercase(), path.to_owned()));
            }
        }
    }

    let served: BTreeSet<(String, String)> = khamsa_http::ROUTES
        .iter()
        .chain(LOCAL_ONLY)
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();

    let undocumented: Vec<String> = served
        .difference(&documented)
        .map(|(m, p)| format!("{m} {p}"))
        .collect();
    let unserved: Vec<String> = documented
        .difference(&served)
        .map(|(m, p)| format!("{m} {p}"))
        .collect();
    assert!(
        undocumented.is_empty() && unserved.is_empty(),
        "infra/openapi.yaml and the served routes differ.\n\
         served but not in openapi.yaml ({}):\n  {}\n\
         in openapi.yaml but not served ({}):\n  {}",
        undocumented.len(),
        undocumented.join("\n  "),
        unserved.len(),
        unserved.join("\n  "),
    );
    assert_eq!(
        documented.len(),
        khamsa_http::ROUTES.len() + LOCAL_ONLY.len()
    );
}
