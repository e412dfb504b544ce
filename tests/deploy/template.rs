//! template.yaml read as data (CloudFormation's short tags parse as YAML
//! tags: `!Ref X` is a tagged value) and checked against the OpenAPI
//! document, the function binaries' own route lists and settings, and each
//! function's list of AWS actions.

use crate::{Yaml, read_yaml};
use khamsa_functions::Function;
use khamsa_functions::settings::Settings;
use std::collections::{BTreeMap, BTreeSet};

// ------------------------------------------------------------ reading ---

/// `!Tag value` → ("Tag", value).
pub fn tagged(v: &Yaml) -> Option<(String, &Yaml)> {
    match v {
        Yaml::Tagged(t) => Some((
            t.tag.to_string().trim_start_matches('!').to_owned(),
            &t.value,
        )),
        _ => None,
    }
}

/// `!Ref X` → "X".
pub fn ref_of(v: &Yaml) -> Option<String> {
    match tagged(v)? {
        (t, Yaml::String(s)) if t == "Ref" => Some(s.clone()),
        _ => None,
    }
}

/// `!GetAtt X.Attr` → ("X", "Attr").
pub fn getatt_of(v: &Yaml) -> Option<(String, String)> {
    match tagged(v)? {
        (t, Yaml::String(s)) if t == "GetAtt" => {
            let (r, a) = s.split_once('.')?;
            Some((r.to_owned(), a.to_owned()))
        }
        _ => None,
    }
}

/// `!Sub "text"` → "text".
pub fn sub_of(v: &Yaml) -> Option<String> {
    match tagged(v)? {
        (t, Yaml::String(s)) if t == "Sub" => Some(s.clone()),
        _ => None,
    }
}

/// A list, or a lone value as a list of one.
pub fn list(v: &Yaml) -> Vec<&Yaml> {
    match v {
        Yaml::Sequence(s) => s.iter().collect(),
        Yaml::Null => vec![],
        other => vec![other],
    }
}

pub struct Template {
    pub doc: Yaml,
}

/// One `AWS::Serverless::Function`.
pub struct Func<'a> {
    pub logical: String,
    pub function: Function,
    pub props: &'a Yaml,
    pub metadata: &'a Yaml,
}

impl Func<'_> {
    /// The expressions of the function's `Schedule` events.
    pub fn schedules(&self) -> Vec<&str> {
        self.props["Events"]
            .as_mapping()
            .into_iter()
            .flat_map(|events| events.values())
            .filter(|e| e["Type"].as_str() == Some("Schedule"))
            .filter_map(|e| e["Properties"]["Schedule"].as_str())
            .collect()
    }
}

impl Template {
    pub fn load() -> Template {
        Template {
            doc: read_yaml("template.yaml"),
        }
    }

    pub fn resources(&self) -> impl Iterator<Item = (&str, &Yaml)> {
        self.doc["Resources"]
            .as_mapping()
            .expect("Resources")
            .iter()
            .map(|(k, v)| (k.as_str().expect("logical id"), v))
    }

    pub fn resource(&self, logical: &str) -> &Yaml {
        let r = &self.doc["Resources"][logical];
        assert!(!r.is_null(), "no resource {logical} in template.yaml");
        r
    }

    pub fn functions(&self) -> Vec<Func<'_>> {
        self.resources()
            .filter(|(_, r)| r["Type"].as_str() == Some("AWS::Serverless::Function"))
            .map(|(logical, r)| {
                let binary = r["Metadata"]["BuildProperties"]["Binary"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{logical}: no Metadata.BuildProperties.Binary"));
                let function = Function::from_name(binary).unwrap_or_else(|| {
                    panic!("{logical}: binary {binary:?} is not one of functions/Cargo.toml's")
                });
                Func {
                    logical: logical.to_owned(),
                    function,
                    props: &r["Properties"],
                    metadata: &r["Metadata"],
                }
            })
            .collect()
    }

    pub fn function(&self, f: Function) -> Func<'_> {
        self.functions()
            .into_iter()
            .find(|x| x.function == f)
            .unwrap_or_else(|| panic!("no function for binary {}", f.name()))
    }

    /// The environment a function gets (Globals merged with its own), each
    /// value resolved by `resolve` (a `!Ref` to a parameter becomes its
    /// default; anything else is the caller's to fill).
    pub fn environment(
        &self,
        f: Function,
        resolve: &dyn Fn(&str, &str) -> Option<String>,
    ) -> BTreeMap<String, String> {
        let func = self.function(f);
        let mut out = BTreeMap::new();
        for vars in [
            &self.doc["Globals"]["Function"]["Environment"]["Variables"],
            &func.props["Environment"]["Variables"],
        ] {
            let Some(m) = vars.as_mapping() else { continue };
            for (k, v) in m {
                let k = k.as_str().expect("variable name").to_owned();
                // `as_str` looks through tags: ask for the !Ref first.
                let value = if let Some(r) = ref_of(v) {
                    let p = &self.doc["Parameters"][r.as_str()];
                    match (resolve(&k, &r), &p["Default"]) {
                        (Some(x), _) => x,
                        (None, Yaml::String(d)) => d.clone(),
                        (None, Yaml::Number(n)) => n.to_string(),
                        (None, _) => panic!("{k}: cannot resolve !Ref {r}"),
                    }
                } else if let Some(s) = v.as_str().filter(|_| tagged(v).is_none()) {
                    s.to_owned()
                } else if sub_of(v).is_some() {
                    resolve(&k, "!Sub").unwrap_or_else(|| panic!("{k}: cannot resolve !Sub"))
                } else {
                    panic!("{k}: unexpected value {v:?}")
                };
                out.insert(k, value);
            }
        }
        out
    }
}

/// The routes of the OpenAPI document a Lambda function must serve (all
/// but the `x-local-only` ones), with whether the document says anyone may
/// call them (`security: [{}, ...]`).
fn openapi_routes() -> BTreeMap<(String, String), bool> {
    let doc = read_yaml("infra/openapi.yaml");
    let mut out = BTreeMap::new();
    for (path, item) in doc["paths"].as_mapping().expect("paths") {
        let path = path.as_str().expect("path");
        for (method, op) in item.as_mapping().expect("path item") {
            let method = method.as_str().expect("method");
            if !["get", "post", "put", "patch", "delete"].contains(&method) {
                continue;
            }
            if op["x-local-only"].as_bool() == Some(true) {
                continue;
            }
            let anonymous = list(&op["security"])
                .iter()
                .any(|s| s.as_mapping().is_some_and(|m| m.is_empty()));
            out.insert((method.to_ascii_uppercase(), path.to_owned()), anonymous);
        }
    }
    out
}

/// api.md: `GET /services*`, `GET /users/*`, `GET /requests*`,
/// `GET /payment-methods`, `POST /webhooks/paypal` and `/unsubscribe`
/// (a signed token, no sign-in; GET and POST) are public.
fn public_by_api_md(method: &str, path: &str) -> bool {
    (method == "GET"
        && (path.starts_with("/services")
            || path.starts_with("/users/")
            || path.starts_with("/requests")
            || path == "/payment-methods"
            || path == "/unsubscribe"))
        || (method == "POST" && (path == "/webhooks/paypal" || path == "/unsubscribe"))
}

/// (function, event name, method, path, authorizer) for every HttpApi
/// event; `$default` for the catch-all.
struct HttpEvent {
    function: Function,
    event: String,
    route: Option<(String, String)>,
    authorizer: Option<String>,
}

fn http_events(t: &Template) -> Vec<HttpEvent> {
    let mut out = Vec::new();
    for f in t.functions() {
        let Some(events) = f.props["Events"].as_mapping() else {
            continue;
        };
        for (name, e) in events {
            if e["Type"].as_str() != Some("HttpApi") {
                continue;
            }
            let name = name.as_str().unwrap().to_owned();
            let p = &e["Properties"];
            assert_eq!(
                ref_of(&p["ApiId"]).as_deref(),
                Some("HttpApi"),
                "{}.{name}: ApiId must be !Ref HttpApi",
                f.logical
            );
            let route = match (p["Method"].as_str(), p["Path"].as_str()) {
                (Some(m), Some(path)) => Some((m.to_ascii_uppercase(), path.to_owned())),
                (None, None) => None,
                _ => panic!("{}.{name}: Method and Path go together", f.logical),
            };
            out.push(HttpEvent {
                function: f.function,
                event: name,
                route,
                authorizer: p["Auth"]["Authorizer"].as_str().map(str::to_owned),
            });
        }
    }
    out
}

// ------------------------------------------------------------- routes ---

#[test]
fn every_route_has_exactly_one_function_and_every_function_a_route() {
    let t = Template::load();
    let routes = openapi_routes();
    assert!(routes.len() >= 40, "the OpenAPI document lost its routes?");
    let events = http_events(&t);
    let mut wired: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for e in &events {
        if let Some(r) = &e.route {
            wired
                .entry(r.clone())
                .or_default()
                .push(format!("{}.{}", e.function.name(), e.event));
        }
    }
    for (route, fns) in &wired {
        assert!(
            routes.contains_key(route),
            "{route:?} ({fns:?}) is not in infra/openapi.yaml"
        );
        assert_eq!(
            fns.len(),
            1,
            "{route:?} is wired to several functions: {fns:?}"
        );
    }
    for route in routes.keys() {
        assert!(
            wired.contains_key(route),
            "{route:?} has no function in template.yaml"
        );
    }
    // Each function serves in AWS exactly the routes its binary accepts.
    let functions = t.functions();
    assert_eq!(
        functions.len(),
        Function::ALL.len(),
        "one resource per binary"
    );
    for f in &functions {
        let in_template: BTreeSet<(String, String)> = events
            .iter()
            .filter(|e| e.function == f.function)
            .filter_map(|e| e.route.clone())
            .collect();
        let in_binary: BTreeSet<(String, String)> = f
            .function
            .routes()
            .iter()
            .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
            .collect();
        assert_eq!(in_template, in_binary, "{}: template vs binary", f.logical);
        let events = f.props["Events"].as_mapping().map_or(0, |m| m.len());
        assert!(
            events > 0,
            "{} has no event: nothing would ever call it",
            f.logical
        );
        assert_eq!(f.metadata["BuildMethod"].as_str(), Some("rust-cargolambda"));
    }
    // One catch-all, on the function that answers 404/405 for it.
    let catch_all: Vec<_> = events.iter().filter(|e| e.route.is_none()).collect();
    assert_eq!(catch_all.len(), 1, "exactly one $default route");
    assert_eq!(catch_all[0].function, Function::CATCH_ALL);
}

#[test]
fn routes_carry_the_authorizer_they_need() {
    let t = Template::load();
    let api = &t.resource("HttpApi")["Properties"];
    assert_eq!(
        api["Auth"]["DefaultAuthorizer"].as_str(),
        Some("CognitoJwt")
    );
    let jwt = &api["Auth"]["Authorizers"]["CognitoJwt"];
    assert_eq!(
        jwt["IdentitySource"].as_str(),
        Some("$request.header.Authorization")
    );
    let issuer = tagged(&jwt["JwtConfiguration"]["issuer"]).expect("issuer is a !Sub");
    assert_eq!(issuer.0, "Sub");
    assert!(
        issuer
            .1
            .as_str()
            .unwrap()
            .contains("cognito-idp.${AWS::Region}.amazonaws.com/${UserPool}"),
        "the issuer is the stack's user pool"
    );
    let audience = list(&jwt["JwtConfiguration"]["audience"]);
    assert_eq!(audience.len(), 1);
    assert_eq!(ref_of(audience[0]).as_deref(), Some("UserPoolClient"));
    assert_eq!(
        t.resource("OperatorsGroup")["Properties"]["GroupName"].as_str(),
        Some("operators")
    );

    let openapi = openapi_routes();
    for e in http_events(&t) {
        let Some((method, path)) = &e.route else {
            assert_eq!(
                e.authorizer.as_deref(),
                Some("NONE"),
                "$default answers 404/405 to anyone"
            );
            continue;
        };
        let public = public_by_api_md(method, path);
        assert_eq!(
            openapi.get(&(method.clone(), path.clone())).copied(),
            Some(public),
            "{method} {path}: api.md and the OpenAPI document disagree on who may call it"
        );
        match (public, e.authorizer.as_deref()) {
            (true, Some("NONE")) => {}
            (false, None | Some("CognitoJwt")) => {}
            (true, other) => panic!("{method} {path} is public but has authorizer {other:?}"),
            (false, other) => panic!("{method} {path} needs the JWT authorizer, has {other:?}"),
        }
    }
}

/// Local equal to AWS: for every route of the template, the local server
/// refuses an anonymous call with 401 exactly when API Gateway's JWT
/// authorizer would, and on a route without one a token (even a bad one)
/// is not read, as API Gateway passes it on unread.
#[tokio::test]
async fn the_local_server_authenticates_exactly_the_routes_the_template_authorizes() {
    let t = Template::load();
    let running = khamsa_local::spawn(0)
        .await
        .expect("the local server starts on a free port");
    let base = format!("http://{}", running.addr);
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("a reqwest client");
    let events = http_events(&t);
    assert!(events.len() > 40, "the template lost its routes?");
    for e in events {
        let (method, path) = e
            .route
            .clone()
            .unwrap_or_else(|| ("GET".to_owned(), "/no/such/route".to_owned()));
        let url = format!(
            "{base}{}",
            path.replace("{id}", "x_01hx3m9k2c7f0q8r5t6v7w8x9y")
        );
        let authorized = !matches!(e.authorizer.as_deref(), Some("NONE"));
        let send = |token: Option<&str>| {
            let mut req = client
                .request(method.parse().expect("a method"), &url)
                .header("content-type", "application/json")
                .header("idempotency-key", "parity-0001")
                .body("{}");
            if let Some(token) = token {
                req = req.header("authorization", format!("Bearer {token}"));
            }
            req.send()
        };
        let anonymous = send(None).await.expect("the local server answers").status();
        assert_eq!(
            anonymous.as_u16() == 401,
            authorized,
            "{method} {path} ({}.{}): anonymous call got {anonymous}; the template's authorizer is {:?}",
            e.function.name(),
            e.event,
            e.authorizer
        );
        if !authorized {
            let bad = send(Some("not.a.token")).await.expect("answers").status();
            assert_eq!(
                bad, anonymous,
                "{method} {path}: a token on a route without an authorizer must not be read"
            );
        }
    }
}

// ----------------------------------------------------------- policies ---

/// What each function may do: the DynamoDB actions its use cases call
/// (traced through `shared/aws/src/dynamo`: `GetItem` for single reads,
/// `Query` for lists and balances, `BatchGetItem` for the balances a
/// posting re-reads, `PutItem`/`UpdateItem` for a transaction's items and
/// `UpdateItem` for counters and "sent" marks), the queues it sends to,
/// the queue it consumes, and email.
struct Grants {
    dynamodb: &'static [&'static str],
    /// `DeleteItem` inside `TransactWriteItems` only (clearing an order's
    /// timers in the same transaction as its transition).
    transactional_delete: bool,
    /// `DeleteItem` outside a transaction (a stale timer's row).
    plain_delete: bool,
    sends_to: &'static [&'static str],
    consumes: Option<&'static str>,
    email: bool,
    /// Reads the PayPal secret (`secretsmanager:GetSecretValue` on exactly
    /// the `PayPalSecretArn` parameter).
    paypal: bool,
    /// Signs URLs for orders' files: `s3:PutObject` and `s3:GetObject` on
    /// the files bucket's `orders/*` only.
    files: bool,
    /// Deletes an ended order's files (the files-expire timer):
    /// `s3:DeleteObject` on the files bucket's `orders/*` only.
    deletes_files: bool,
}

const NOTIFY_AND_TIME: &[&str] = &["NotificationsQueue", "TimersQueue"];
const NOTIFY: &[&str] = &["NotificationsQueue"];
const PAYOUTS: &[&str] = &["PayoutsQueue"];
const NOTIFY_TIME_AND_PAYOUTS: &[&str] = &["NotificationsQueue", "TimersQueue", "PayoutsQueue"];
const READ_WRITE: &[&str] = &["GetItem", "Query", "PutItem", "UpdateItem"];
const MONEY: &[&str] = &["GetItem", "Query", "BatchGetItem", "PutItem", "UpdateItem"];

fn grants(f: Function) -> Grants {
    let g = |dynamodb, transactional_delete, sends_to| Grants {
        dynamodb,
        transactional_delete,
        plain_delete: false,
        sends_to,
        consumes: None,
        email: false,
        paypal: false,
        files: false,
        deletes_files: false,
    };
    match f {
        // `pay_with: "paypal"` opens a checkout for the shortfall.
        Function::Order => Grants {
            paypal: true,
            ..g(MONEY, false, NOTIFY_AND_TIME)
        },
        // No posting (so no balance re-read, no balance update); clears
        // the auto-cancel, sets the auto-complete.
        Function::Deliver => g(&["GetItem", "PutItem"], true, NOTIFY_AND_TIME),
        // The refund: no list read, no timer set.
        Function::Cancel => g(
            &["GetItem", "BatchGetItem", "PutItem", "UpdateItem"],
            true,
            NOTIFY,
        ),
        // The review and the service's rating counters.
        Function::Review => g(&["GetItem", "PutItem", "UpdateItem"], false, NOTIFY),
        // An auto-approved withdrawal is queued for the payouts worker.
        Function::Withdraw => g(MONEY, false, PAYOUTS),
        Function::Services => g(READ_WRITE, false, &[]),
        // Top-ups, their capture and PayPal's webhooks; a settled
        // pay-with-PayPal top-up places its order (emails, timers).
        Function::Accounts => Grants {
            paypal: true,
            ..g(MONEY, false, NOTIFY_AND_TIME)
        },
        Function::Orders => g(MONEY, true, NOTIFY_AND_TIME),
        // Reading the messages deletes the reader's inbox entry in the
        // transaction that clears their unread count.
        Function::Messages => Grants {
            files: true,
            ..g(&["GetItem", "Query", "PutItem"], true, NOTIFY)
        },
        // A new offer emails the request's owner.
        Function::Requests => g(&["GetItem", "Query", "PutItem"], false, NOTIFY),
        Function::Admin => g(MONEY, true, NOTIFY_TIME_AND_PAYOUTS),
        // An ended order's files: their records listed (a Query of the
        // order's partition), their objects deleted.
        Function::Timers => Grants {
            dynamodb: &["GetItem", "BatchGetItem", "PutItem", "UpdateItem", "Query"],
            transactional_delete: false,
            plain_delete: true,
            sends_to: NOTIFY_AND_TIME,
            consumes: Some("TimersQueue"),
            email: false,
            paypal: false,
            files: false,
            deletes_files: true,
        },
        Function::Notifier => Grants {
            dynamodb: &["GetItem", "UpdateItem"],
            transactional_delete: false,
            plain_delete: false,
            sends_to: &[],
            consumes: Some("NotificationsQueue"),
            email: true,
            paypal: false,
            files: false,
            deletes_files: false,
        },
        // The payouts poll queues what is due; it calls no one itself.
        Function::Sweeper => g(&["Query"], false, NOTIFY_TIME_AND_PAYOUTS),
        // Reads a withdrawal, commits its status with the postings (balances
        // re-read) and the email; no list read, no timer.
        Function::Payouts => Grants {
            dynamodb: &["GetItem", "BatchGetItem", "PutItem", "UpdateItem"],
            transactional_delete: false,
            plain_delete: false,
            sends_to: NOTIFY,
            consumes: Some("PayoutsQueue"),
            email: false,
            paypal: true,
            files: false,
            deletes_files: false,
        },
        // The 64 ledger totals items, read together; nothing written.
        Function::Reconcile => g(&["BatchGetItem"], false, &[]),
    }
}

/// Functions that move money: never a Scan, never a DeleteItem outside a
/// transaction — except the timers worker, whose stale-timer clean-up is a
/// plain DeleteItem the dynamo adapter makes (restricted to orders' items).
fn moves_money(f: Function) -> bool {
    matches!(
        f,
        Function::Order
            | Function::Cancel
            | Function::Withdraw
            | Function::Accounts
            | Function::Orders
            | Function::Admin
            | Function::Timers
            | Function::Payouts
    )
}

struct Statement<'a> {
    policy: String,
    actions: Vec<String>,
    resources: Vec<&'a Yaml>,
    condition: &'a Yaml,
}

fn statements<'a>(t: &'a Template, role: &str) -> Vec<Statement<'a>> {
    let r = &t.resource(role)["Properties"];
    assert!(
        r["ManagedPolicyArns"].is_null(),
        "{role}: no managed policies (they grant on every resource)"
    );
    let trust = list(&r["AssumeRolePolicyDocument"]["Statement"]);
    assert_eq!(trust.len(), 1, "{role}: one trust statement");
    assert_eq!(
        trust[0]["Principal"]["Service"].as_str(),
        Some("lambda.amazonaws.com"),
        "{role}: only Lambda assumes it"
    );
    let mut out = Vec::new();
    for p in list(&r["Policies"]) {
        let name = p["PolicyName"].as_str().unwrap_or("?").to_owned();
        for s in list(&p["PolicyDocument"]["Statement"]) {
            assert_eq!(
                s["Effect"].as_str(),
                Some("Allow"),
                "{role}/{name}: Allow only"
            );
            out.push(Statement {
                policy: name.clone(),
                actions: list(&s["Action"])
                    .iter()
                    .map(|a| a.as_str().expect("action").to_owned())
                    .collect(),
                resources: list(&s["Resource"]),
                condition: &s["Condition"],
            });
        }
    }
    out
}

fn is_table(v: &Yaml) -> bool {
    getatt_of(v) == Some(("Table".into(), "Arn".into()))
}

fn is_table_indexes(v: &Yaml) -> bool {
    tagged(v).is_some_and(|(t, s)| t == "Sub" && s.as_str() == Some("${Table.Arn}/index/*"))
}

/// The partition keys a DynamoDB statement is limited to.
fn leading_keys(c: &Yaml) -> Vec<&str> {
    condition_values(c, "ForAllValues:StringLike", "dynamodb:LeadingKeys")
}

fn condition_values<'a>(c: &'a Yaml, op: &str, key: &str) -> Vec<&'a str> {
    list(&c[op][key])
        .iter()
        .filter_map(|v| v.as_str())
        .collect()
}

#[test]
fn each_role_grants_only_its_functions_actions() {
    let t = Template::load();
    for f in t.functions() {
        let name = f.function.name();
        let want = grants(f.function);
        assert!(
            f.props["Policies"].is_null(),
            "{name}: its Role says it all; SAM Policies would add to it"
        );
        let role = match getatt_of(&f.props["Role"]) {
            Some((role, attr)) if attr == "Arn" => role,
            other => panic!("{name}: Role must be !GetAtt <Role>.Arn, is {other:?}"),
        };
        let mut granted: BTreeSet<String> = BTreeSet::new();
        for s in statements(&t, &role) {
            let p = &s.policy;
            for a in &s.actions {
                assert!(!a.contains('*'), "{name}/{p}: wildcard action {a}");
                granted.insert(a.clone());
            }
            for r in &s.resources {
                assert_ne!(r.as_str(), Some("*"), "{name}/{p}: every resource is named");
            }
            for a in &s.actions {
                let (service, action) = a.split_once(':').expect("service:action");
                match (service, action) {
                    ("logs", "CreateLogStream" | "PutLogEvents") => {
                        let log_group = format!("{}LogGroup", role.trim_end_matches("Role"));
                        assert!(
                            s.resources
                                .iter()
                                .all(|r| getatt_of(r) == Some((log_group.clone(), "Arn".into()))),
                            "{name}: logs only to its own log group {log_group}"
                        );
                    }
                    ("dynamodb", "Scan") => panic!("{name}: no function scans the table"),
                    ("dynamodb", "DeleteItem") => {
                        assert!(
                            want.transactional_delete || want.plain_delete,
                            "{name} deletes nothing"
                        );
                        let tx = condition_values(
                            s.condition,
                            "ForAnyValue:StringEquals",
                            "dynamodb:EnclosingOperation",
                        );
                        if want.transactional_delete {
                            assert_eq!(
                                tx,
                                ["TransactWriteItems"],
                                "{name}: DeleteItem only in a transaction"
                            );
                        } else {
                            assert!(!moves_money(f.function) || f.function == Function::Timers);
                        }
                        assert_eq!(
                            leading_keys(s.condition),
                            ["ORD#*"],
                            "{name}: DeleteItem only on an order's items (timers)"
                        );
                        assert!(
                            s.resources.iter().all(|r| is_table(r)),
                            "{name}: DeleteItem on the table"
                        );
                    }
                    ("dynamodb", "Query") => {
                        // The timers worker lists an order's files only.
                        if f.function == Function::Timers {
                            assert_eq!(
                                leading_keys(s.condition),
                                ["ORD#*"],
                                "{name}: Query only an order's items"
                            );
                        }
                        assert!(
                            s.resources
                                .iter()
                                .all(|r| is_table(r) || is_table_indexes(r)),
                            "{name}: Query on the table and its indexes only"
                        );
                    }
                    ("dynamodb", other) => {
                        assert!(
                            want.dynamodb.contains(&other),
                            "{name} is granted dynamodb:{other}, not in its list {:?}",
                            want.dynamodb
                        );
                        assert!(
                            s.resources.iter().all(|r| is_table(r)),
                            "{name}: dynamodb:{other} on the table only"
                        );
                        assert!(s.condition.is_null(), "{name}: unconditional item actions");
                    }
                    ("sqs", "SendMessage") => {
                        let queues: BTreeSet<String> = s
                            .resources
                            .iter()
                            .map(|r| getatt_of(r).expect("!GetAtt <Queue>.Arn").0)
                            .collect();
                        let want_q: BTreeSet<String> =
                            want.sends_to.iter().map(|q| (*q).to_owned()).collect();
                        assert_eq!(queues, want_q, "{name}: sends only to its queues");
                    }
                    ("sqs", "ReceiveMessage" | "DeleteMessage" | "GetQueueAttributes") => {
                        let q = want
                            .consumes
                            .unwrap_or_else(|| panic!("{name} consumes no queue"));
                        assert!(
                            s.resources
                                .iter()
                                .all(|r| getatt_of(r) == Some((q.into(), "Arn".into()))),
                            "{name}: consumes only {q}"
                        );
                    }
                    ("secretsmanager", "GetSecretValue") => {
                        // Each statement one secret: PayPal's where PayPal
                        // is called, the unsubscribe key where its links
                        // are signed or checked.
                        assert!(
                            s.resources.iter().all(|r| match ref_of(r).as_deref() {
                                Some("PayPalSecretArn") => want.paypal,
                                Some("UnsubscribeSecret") => f.function.unsubscribe_links(),
                                _ => false,
                            }),
                            "{name}: reads only the secrets it needs"
                        );
                    }
                    ("ses", "SendRawEmail") => {
                        assert!(want.email, "{name} sends no email");
                        assert_eq!(
                            ref_of(&s.condition["StringEquals"]["ses:FromAddress"]).as_deref(),
                            Some("SesSender"),
                            "{name}: only from the configured sender"
                        );
                    }
                    ("s3", "PutObject" | "GetObject") => {
                        assert!(want.files, "{name} signs no file URL");
                        assert!(
                            s.resources.iter().all(
                                |r| sub_of(r).as_deref() == Some("${FilesBucket.Arn}/orders/*")
                            ),
                            "{name}: only orders' files in the files bucket"
                        );
                    }
                    // Attaching a file tags it (issue 12): the message
                    // and the delivery functions.
                    ("s3", "PutObjectTagging") => {
                        assert!(want.files || name == "deliver", "{name} attaches no file");
                        assert!(
                            s.resources.iter().all(
                                |r| sub_of(r).as_deref() == Some("${FilesBucket.Arn}/orders/*")
                            ),
                            "{name}: only orders' files in the files bucket"
                        );
                    }
                    // An ended order's files, 90 days on: the timers only.
                    ("s3", "DeleteObject") => {
                        assert!(want.deletes_files, "{name} deletes no file");
                        assert!(
                            s.resources.iter().all(
                                |r| sub_of(r).as_deref() == Some("${FilesBucket.Arn}/orders/*")
                            ),
                            "{name}: only orders' files in the files bucket"
                        );
                    }
                    _ => panic!("{name}/{p}: {a} is outside its list"),
                }
            }
        }
        // And nothing it needs is missing.
        let mut needed: BTreeSet<String> = ["logs:CreateLogStream", "logs:PutLogEvents"]
            .map(String::from)
            .into();
        needed.extend(want.dynamodb.iter().map(|a| format!("dynamodb:{a}")));
        if want.transactional_delete || want.plain_delete {
            needed.insert("dynamodb:DeleteItem".into());
        }
        if !want.sends_to.is_empty() {
            needed.insert("sqs:SendMessage".into());
        }
        if want.consumes.is_some() {
            needed.extend(
                [
                    "sqs:ReceiveMessage",
                    "sqs:DeleteMessage",
                    "sqs:GetQueueAttributes",
                ]
                .map(String::from),
            );
        }
        if want.email {
            needed.insert("ses:SendRawEmail".into());
        }
        if want.paypal || f.function.unsubscribe_links() {
            needed.insert("secretsmanager:GetSecretValue".into());
        }
        if want.files {
            needed.extend(["s3:PutObject", "s3:GetObject"].map(String::from));
        }
        if want.files || name == "deliver" {
            needed.insert("s3:PutObjectTagging".into());
        }
        if want.deletes_files {
            needed.insert("s3:DeleteObject".into());
        }
        assert_eq!(granted, needed, "{name}: granted vs its list");
        if moves_money(f.function) {
            assert!(!granted.contains("dynamodb:Scan"));
        }
    }
}

// ----------------------------------------------- settings and wiring ---

/// Placeholder values for what is not a parameter.
fn placeholder(var: &str, reference: &str) -> Option<String> {
    match reference {
        "Table" => Some("khamsa-test".into()),
        "TimersQueue" | "NotificationsQueue" | "PayoutsQueue" => Some(format!(
            "https://sqs.us-east-1.amazonaws.com/123456789012/{reference}"
        )),
        // No default on purpose: operators must choose it.
        "SesSender" => Some("no-reply@khamsa.example".into()),
        "PayPalSecretArn" => {
            Some("arn:aws:secretsmanager:us-east-1:123456789012:secret:paypal-AbCdEf".into())
        }
        "PayPalWebhookId" => Some("WH-0000000000".into()),
        // The API's own URL, built from the stack's HttpApi.
        "!Sub" if var == "KHAMSA_API_URL" => {
            Some("https://abc123.execute-api.us-east-1.amazonaws.com".into())
        }
        "UnsubscribeSecret" => {
            Some("arn:aws:secretsmanager:us-east-1:123456789012:secret:unsub-AbCdEf".into())
        }
        "FilesBucket" => Some("khamsa-test-files".into()),
        _ => {
            let _ = var;
            None
        }
    }
}

#[test]
fn every_function_starts_with_the_environment_the_template_gives_it() {
    let t = Template::load();
    for f in Function::ALL {
        let env = t.environment(f, &placeholder);
        let s = Settings::from_vars(f, env.clone())
            .unwrap_or_else(|e| panic!("{}: would refuse to start: {e}", f.name()));
        // The template's defaults are product.md's.
        let deployed = khamsa_domain::Config {
            sandbox_topups: false,
            ..khamsa_domain::Config::default()
        };
        assert_eq!(s.config, deployed, "{}: sandbox top-ups off", f.name());
        // Only what it needs: a queue URL only where it sends to that queue.
        assert_eq!(
            env.contains_key("KHAMSA_NOTIFICATIONS_QUEUE_URL"),
            f.sends_notifications(),
            "{}",
            f.name()
        );
        assert_eq!(
            env.contains_key("KHAMSA_TIMERS_QUEUE_URL"),
            f.sets_timers(),
            "{}",
            f.name()
        );
        assert_eq!(
            env.contains_key("KHAMSA_SES_SOURCE"),
            f.sends_email(),
            "{}",
            f.name()
        );
        assert_eq!(
            env.contains_key("KHAMSA_PAYOUTS_QUEUE_URL"),
            f.queues_payouts(),
            "{}",
            f.name()
        );
        // PayPal's credentials are never in the environment: only the
        // secret's id, and only where PayPal is called.
        assert_eq!(
            env.contains_key("PAYPAL_SECRET_ID"),
            f.calls_paypal(),
            "{}",
            f.name()
        );
        // Nor is the unsubscribe key: only its secret's id, where needed.
        assert_eq!(
            env.contains_key("KHAMSA_UNSUBSCRIBE_SECRET_ID"),
            f.unsubscribe_links(),
            "{}",
            f.name()
        );
        assert!(
            !env.keys()
                .any(|k| k.contains("CLIENT_SECRET") || k.contains("CLIENT_ID")),
            "{}: no credential in the environment",
            f.name()
        );
    }
}

#[test]
fn functions_are_built_for_arm64_on_al2023() {
    let t = Template::load();
    let g = &t.doc["Globals"]["Function"];
    assert_eq!(g["Runtime"].as_str(), Some("provided.al2023"));
    assert_eq!(list(&g["Architectures"])[0].as_str(), Some("arm64"));
    assert_eq!(g["Handler"].as_str(), Some("bootstrap"));
    for f in t.functions() {
        assert!(f.props["Runtime"].is_null() && f.props["Architectures"].is_null());
        let log_group = ref_of(&f.props["LoggingConfig"]["LogGroup"]).expect("its own log group");
        assert_eq!(
            t.resource(&log_group)["Type"].as_str(),
            Some("AWS::Logs::LogGroup")
        );
    }
}

// -------------------------------------------------- queues and alarms ---

#[test]
fn queues_have_dead_letter_queues_and_report_partial_batches() {
    let t = Template::load();
    for (queue, dlq, consumer) in [
        ("TimersQueue", "TimersDeadLetterQueue", Function::Timers),
        (
            "NotificationsQueue",
            "NotificationsDeadLetterQueue",
            Function::Notifier,
        ),
        ("PayoutsQueue", "PayoutsDeadLetterQueue", Function::Payouts),
    ] {
        let q = &t.resource(queue)["Properties"];
        assert_eq!(
            getatt_of(&q["RedrivePolicy"]["deadLetterTargetArn"]),
            Some((dlq.into(), "Arn".into()))
        );
        assert_eq!(q["RedrivePolicy"]["maxReceiveCount"].as_u64(), Some(5));
        let f = t.function(consumer);
        let timeout = f.props["Timeout"]
            .as_u64()
            .expect("workers set their timeout");
        assert!(
            q["VisibilityTimeout"].as_u64().unwrap_or(30) >= 6 * timeout,
            "{queue}: visibility at least 6 x the consumer's timeout"
        );
        let events: Vec<&Yaml> = f.props["Events"]
            .as_mapping()
            .unwrap()
            .values()
            .filter(|e| e["Type"].as_str() == Some("SQS"))
            .collect();
        assert_eq!(events.len(), 1);
        let p = &events[0]["Properties"];
        assert_eq!(getatt_of(&p["Queue"]), Some((queue.into(), "Arn".into())));
        assert!(
            list(&p["FunctionResponseTypes"])
                .iter()
                .any(|x| x.as_str() == Some("ReportBatchItemFailures")),
            "{queue}: partial batch responses"
        );
        // An alarm on the DLQ's depth.
        let alarmed = t.resources().any(|(_, r)| {
            r["Type"].as_str() == Some("AWS::CloudWatch::Alarm")
                && r["Properties"]["MetricName"].as_str()
                    == Some("ApproximateNumberOfMessagesVisible")
                && list(&r["Properties"]["Dimensions"])
                    .iter()
                    .any(|d| getatt_of(&d["Value"]) == Some((dlq.into(), "QueueName".into())))
        });
        assert!(alarmed, "{dlq} has no depth alarm");
    }
    assert_eq!(
        t.function(Function::Sweeper).schedules(),
        ["rate(5 minutes)"]
    );
    // The reconciliation runs daily, and its violations metric alarms.
    assert_eq!(t.function(Function::Reconcile).schedules(), ["rate(1 day)"]);
    assert!(
        t.resources().any(|(_, r)| {
            r["Properties"]["Namespace"].as_str() == Some("Khamsa")
                && r["Properties"]["MetricName"].as_str() == Some("LedgerViolations")
                && list(&r["Properties"]["AlarmActions"])
                    .iter()
                    .any(|a| ref_of(a).as_deref() == Some("AlarmTopic"))
        }),
        "LedgerViolations has no alarm to AlarmTopic"
    );
    // Every function's errors are alarmed.
    for f in t.functions() {
        let alarmed = t.resources().any(|(_, r)| {
            r["Properties"]["Namespace"].as_str() == Some("AWS/Lambda")
                && r["Properties"]["MetricName"].as_str() == Some("Errors")
                && list(&r["Properties"]["Dimensions"])
                    .iter()
                    .any(|d| ref_of(&d["Value"]).as_deref() == Some(f.logical.as_str()))
        });
        assert!(alarmed, "{} has no error alarm", f.logical);
    }
}

#[test]
fn the_table_is_on_demand_recoverable_protected_and_expires_idempotency_records() {
    let t = Template::load();
    let p = &t.resource("Table")["Properties"];
    assert_eq!(p["BillingMode"].as_str(), Some("PAY_PER_REQUEST"));
    assert_eq!(p["DeletionProtectionEnabled"].as_bool(), Some(true));
    assert_eq!(
        p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"].as_bool(),
        Some(true)
    );
    assert_eq!(
        p["TimeToLiveSpecification"]["Enabled"].as_bool(),
        Some(true)
    );
    assert_eq!(
        t.resource("Table")["DeletionPolicy"].as_str(),
        Some("Retain")
    );
    // The key schema and indexes are compared with what the adapter
    // creates in DynamoDB Local: lambdas::the_table_is_the_one_the_adapter_creates.
}

/// The table as template.yaml declares it, for comparison with what
/// DynamoDB reports for the table the adapter creates.
pub type KeySchema = Vec<(String, String)>;
/// (index name, key schema, projection type).
pub type Index = (String, KeySchema, String);

pub struct TableShape {
    pub keys: KeySchema,
    pub indexes: Vec<Index>,
    pub ttl: String,
    pub attributes: BTreeMap<String, String>,
}

pub fn table_shape(t: &Template) -> TableShape {
    let p = &t.resource("Table")["Properties"];
    let keys = |v: &Yaml| -> KeySchema {
        list(v)
            .iter()
            .map(|k| {
                (
                    k["AttributeName"].as_str().unwrap().to_owned(),
                    k["KeyType"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let mut gsis: Vec<Index> = list(&p["GlobalSecondaryIndexes"])
        .iter()
        .map(|g| {
            (
                g["IndexName"].as_str().unwrap().to_owned(),
                keys(&g["KeySchema"]),
                g["Projection"]["ProjectionType"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            )
        })
        .collect();
    gsis.sort();
    let attrs = list(&p["AttributeDefinitions"])
        .iter()
        .map(|a| {
            (
                a["AttributeName"].as_str().unwrap().to_owned(),
                a["AttributeType"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    TableShape {
        keys: keys(&p["KeySchema"]),
        indexes: gsis,
        ttl: p["TimeToLiveSpecification"]["AttributeName"]
            .as_str()
            .unwrap()
            .to_owned(),
        attributes: attrs,
    }
}

#[test]
fn the_files_bucket_is_private_and_expires_uploads_never_attached() {
    use khamsa_app::ports::{TAG_UNATTACHED, TAGGING_HEADER};
    let t = Template::load();
    let p = &t.resource("FilesBucket")["Properties"];
    let block = &p["PublicAccessBlockConfiguration"];
    for k in [
        "BlockPublicAcls",
        "BlockPublicPolicy",
        "IgnorePublicAcls",
        "RestrictPublicBuckets",
    ] {
        assert_eq!(block[k].as_bool(), Some(true), "FilesBucket: {k}");
    }
    assert!(
        !p["BucketEncryption"]["ServerSideEncryptionConfiguration"].is_null(),
        "FilesBucket: encrypted"
    );
    // The browser's PUT sends the upload's signed headers: CORS allows them.
    let cors = list(&p["CorsConfiguration"]["CorsRules"]);
    let allowed: Vec<&str> = cors
        .iter()
        .flat_map(|r| list(&r["AllowedHeaders"]))
        .filter_map(|h| h.as_str())
        .collect();
    for h in ["content-type", TAGGING_HEADER] {
        assert!(allowed.contains(&h), "CORS does not allow {h}: {allowed:?}");
    }
    // What an upload is tagged with is what the lifecycle expires after a day.
    let (key, value) = TAG_UNATTACHED.split_once('=').unwrap();
    let rules = list(&p["LifecycleConfiguration"]["Rules"]);
    let expiring = rules.iter().find(|r| {
        r["Status"].as_str() == Some("Enabled")
            && list(&r["TagFilters"])
                .iter()
                .any(|f| f["Key"].as_str() == Some(key) && f["Value"].as_str() == Some(value))
    });
    let rule = expiring.unwrap_or_else(|| panic!("no enabled lifecycle rule for {TAG_UNATTACHED}"));
    assert_eq!(
        rule["ExpirationInDays"].as_u64(),
        Some(1),
        "{TAG_UNATTACHED}"
    );
    // No other rule expires a file by tag: an attached file is deleted by
    // the timers 90 days after its order ended (a lifecycle rule would
    // count from the object's creation), and nothing else tags one.
    let ids: Vec<&str> = rules.iter().filter_map(|r| r["Id"].as_str()).collect();
    assert_eq!(ids, ["unattached-uploads", "incomplete-multipart"]);
    for r in &rules {
        for f in list(&r["TagFilters"]) {
            assert_eq!(
                f["Value"].as_str(),
                Some(value),
                "only {TAG_UNATTACHED} expires by tag"
            );
        }
    }
}
