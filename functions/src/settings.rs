//! A function's settings, read once from its environment at start-up.
//! Anything missing or malformed stops the function before it takes its
//! first event, with a message naming the variable: a misconfigured
//! deployment fails its first invocation loudly (and its alarm fires)
//! instead of answering 500s one request at a time.
//!
//! template.yaml sets these variables; `infra/OPERATIONS.md` lists them.

use crate::Function;
use khamsa_domain::{Config, Money};
use serde_json::Value;

/// `KHAMSA_CFG_<FIELD>` overrides one field of the business rules'
/// `Config` (product.md's defaults), e.g. `KHAMSA_CFG_FEE_RATE=0.20` or
/// `KHAMSA_CFG_CATEGORIES=design,video`.
pub const CONFIG_PREFIX: &str = "KHAMSA_CFG_";

/// Sandbox top-ups settle at once with no payment behind them: real
/// money out of thin air in a deployed stack. Off unless this is `true`
/// (template parameter `AllowSandboxTopups`, for a test stage only).
pub const ALLOW_SANDBOX_TOPUPS: &str = "KHAMSA_ALLOW_SANDBOX_TOPUPS";

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// `KHAMSA_TABLE`: the DynamoDB table.
    pub table: String,
    /// `KHAMSA_NOTIFICATIONS_QUEUE_URL`, for the functions that write outbox rows.
    pub notifications_queue_url: Option<String>,
    /// `KHAMSA_TIMERS_QUEUE_URL`, for the functions that set timers.
    pub timers_queue_url: Option<String>,
    /// `KHAMSA_PAYOUTS_QUEUE_URL`, for the functions that queue payouts.
    pub payouts_queue_url: Option<String>,
    /// Where PayPal is and which secret holds its credentials, for the
    /// functions that call it.
    pub paypal: Option<PayPalSettings>,
    /// `KHAMSA_SES_SOURCE`: the verified sender (notifier only).
    pub ses_source: Option<String>,
    /// `KHAMSA_PUBLIC_URL`: where links in emails point (notifier only;
    /// empty elsewhere).
    pub public_url: String,
    /// The unsubscribe links' key and route, for the functions that sign
    /// (notifier) or check (accounts) them.
    pub unsubscribe: Option<UnsubscribeSettings>,
    /// The business rules, product.md's defaults with `KHAMSA_CFG_*` applied,
    /// and `sandbox_topups` from `KHAMSA_ALLOW_SANDBOX_TOPUPS` (off unless
    /// `true`).
    pub config: Config,
}

/// PayPal, as the template names it. The credentials themselves are never
/// in the environment: only the id of the Secrets Manager secret holding
/// `{"client_id": "...", "client_secret": "..."}`, read once: by a worker
/// at start-up, by an HTTP function on first use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayPalSettings {
    /// `PAYPAL_SECRET_ID`: the secret's ARN (or name).
    pub secret_id: String,
    /// `PAYPAL_API_BASE`: `https://api-m.sandbox.paypal.com` or `https://api-m.paypal.com`.
    pub api_base: String,
    /// `PAYPAL_WEBHOOK_ID`: the id PayPal gave the webhook listener.
    pub webhook_id: String,
}

/// Where the one-click unsubscribe links point and which secret signs them.
/// The key itself is never in the environment (nor in the template: the
/// stack generates it), only the secret's id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsubscribeSettings {
    /// `KHAMSA_UNSUBSCRIBE_SECRET_ID`: the secret's ARN (or name).
    pub secret_id: String,
    /// `KHAMSA_API_URL`: the API's base URL (`POST {it}/unsubscribe`);
    /// the notifier's only, empty where links are checked, not written.
    pub api_url: String,
}

/// What is wrong with the environment, by variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{var}: {problem}")]
pub struct SettingsError {
    pub var: String,
    pub problem: String,
}

fn err(var: &str, problem: impl Into<String>) -> SettingsError {
    SettingsError {
        var: var.to_owned(),
        problem: problem.into(),
    }
}

impl Settings {
    /// Reads the process environment.
    pub fn from_env(function: Function) -> Result<Settings, SettingsError> {
        Settings::from_vars(function, std::env::vars())
    }

    /// Reads the given variables (the process environment in production).
    pub fn from_vars(
        function: Function,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Settings, SettingsError> {
        let vars: Vec<(String, String)> = vars.into_iter().collect();
        let get = |k: &str| {
            vars.iter()
                .find(|(name, _)| name == k)
                .map(|(_, v)| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let required = |k: &str, what: &str| {
            get(k).ok_or_else(|| err(k, format!("is not set ({what}; template.yaml sets it)")))
        };
        let table = required("KHAMSA_TABLE", "the DynamoDB table's name")?;
        let notifications_queue_url = function
            .sends_notifications()
            .then(|| {
                required(
                    "KHAMSA_NOTIFICATIONS_QUEUE_URL",
                    "the notifications queue's URL",
                )
            })
            .transpose()?;
        let timers_queue_url = function
            .sets_timers()
            .then(|| required("KHAMSA_TIMERS_QUEUE_URL", "the timers queue's URL"))
            .transpose()?;
        let payouts_queue_url = function
            .queues_payouts()
            .then(|| required("KHAMSA_PAYOUTS_QUEUE_URL", "the payouts queue's URL"))
            .transpose()?;
        let paypal = if function.calls_paypal() {
            let api_base = required("PAYPAL_API_BASE", "PayPal's API base URL")?;
            if !api_base.starts_with("https://") && !api_base.starts_with("http://") {
                return Err(err("PAYPAL_API_BASE", format!("{api_base:?} is not a URL")));
            }
            Some(PayPalSettings {
                secret_id: required(
                    "PAYPAL_SECRET_ID",
                    "the Secrets Manager secret with PayPal's client id and secret",
                )?,
                api_base: api_base.trim_end_matches('/').to_owned(),
                webhook_id: required("PAYPAL_WEBHOOK_ID", "PayPal's webhook id")?,
            })
        } else {
            None
        };
        for (var, url) in [
            ("KHAMSA_NOTIFICATIONS_QUEUE_URL", &notifications_queue_url),
            ("KHAMSA_TIMERS_QUEUE_URL", &timers_queue_url),
            ("KHAMSA_PAYOUTS_QUEUE_URL", &payouts_queue_url),
        ] {
            if let Some(u) = url
                && !u.starts_with("https://")
                && !u.starts_with("http://")
            {
                return Err(err(var, format!("{u:?} is not a queue URL")));
            }
        }
        let ses_source = function
            .sends_email()
            .then(|| required("KHAMSA_SES_SOURCE", "the verified SES sender address"))
            .transpose()?;
        if let Some(s) = &ses_source {
            khamsa_domain::text::EmailAddress::parse("KHAMSA_SES_SOURCE", s)
                .map_err(|e| err("KHAMSA_SES_SOURCE", e.to_string()))?;
        }
        let public_url = if function.sends_email() {
            let u = required("KHAMSA_PUBLIC_URL", "where links in emails point")?;
            if !u.starts_with("https://") && !u.starts_with("http://") {
                return Err(err("KHAMSA_PUBLIC_URL", format!("{u:?} is not a URL")));
            }
            u.trim_end_matches('/').to_owned()
        } else {
            get("KHAMSA_PUBLIC_URL").unwrap_or_default()
        };
        let unsubscribe = if function.unsubscribe_links() {
            // Only the signer writes the URL. (An HTTP function could not
            // be given it anyway: the API already depends on the function.)
            let api_url = if function.sends_email() {
                let u = required("KHAMSA_API_URL", "the API's base URL")?;
                if !u.starts_with("https://") && !u.starts_with("http://") {
                    return Err(err("KHAMSA_API_URL", format!("{u:?} is not a URL")));
                }
                u
            } else {
                String::new()
            };
            Some(UnsubscribeSettings {
                secret_id: required(
                    "KHAMSA_UNSUBSCRIBE_SECRET_ID",
                    "the Secrets Manager secret that signs unsubscribe links",
                )?,
                api_url: api_url.trim_end_matches('/').to_owned(),
            })
        } else {
            None
        };
        let allow_sandbox_topups = match get(ALLOW_SANDBOX_TOPUPS).as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(err(
                    ALLOW_SANDBOX_TOPUPS,
                    format!("{other:?}: true or false"),
                ));
            }
        };
        let overrides = vars
            .iter()
            .filter_map(|(k, v)| k.strip_prefix(CONFIG_PREFIX).map(|f| (k.as_str(), f, v)));
        let mut config = config_with(overrides)?;
        config.sandbox_topups = allow_sandbox_topups;
        Ok(Settings {
            table,
            notifications_queue_url,
            timers_queue_url,
            payouts_queue_url,
            paypal,
            ses_source,
            public_url,
            unsubscribe,
            config,
        })
    }
}

/// product.md's defaults with each `(variable, field, value)` applied. A
/// field is named in upper snake case (`FEE_RATE` for `fee_rate`); numbers
/// are whole numbers, amounts and rates decimal text, lists comma-separated.
pub fn config_with<'a>(
    overrides: impl Iterator<Item = (&'a str, &'a str, &'a String)>,
) -> Result<Config, SettingsError> {
    let defaults = serde_json::to_value(Config::default()).expect("the config serializes");
    let Value::Object(mut fields) = defaults.clone() else {
        unreachable!("Config is a struct");
    };
    for (var, field, raw) in overrides {
        let key = field.to_ascii_lowercase();
        let Some(default) = defaults.get(&key) else {
            return Err(err(var, "no such setting"));
        };
        let raw = raw.trim();
        let value = match default {
            Value::Number(_) => Value::Number(
                raw.parse::<u64>()
                    .map_err(|_| err(var, format!("{raw:?} is not a whole number")))?
                    .into(),
            ),
            Value::Array(_) => Value::Array(
                raw.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| Value::String(s.to_owned()))
                    .collect(),
            ),
            _ => Value::String(raw.to_owned()),
        };
        // Each override alone on the defaults, so an error names its variable.
        let mut one = defaults.clone();
        one[&key] = value.clone();
        serde_json::from_value::<Config>(one).map_err(|e| err(var, e.to_string()))?;
        fields.insert(key, value);
    }
    let cfg: Config = serde_json::from_value(Value::Object(fields))
        .map_err(|e| err(CONFIG_PREFIX, e.to_string()))?;
    check(&cfg)?;
    Ok(cfg)
}

/// Rules the types alone do not hold.
fn check(cfg: &Config) -> Result<(), SettingsError> {
    let v = |f: &str| format!("{CONFIG_PREFIX}{}", f.to_ascii_uppercase());
    if cfg.fee_rate < rust_decimal::Decimal::ZERO || cfg.fee_rate >= rust_decimal::Decimal::ONE {
        return Err(err(&v("fee_rate"), "must be from 0 to below 1"));
    }
    let ranges: [(&str, Money, Money); 3] = [
        (
            "service_price",
            cfg.service_price_min,
            cfg.service_price_max,
        ),
        (
            "upgrade_price",
            cfg.upgrade_price_min,
            cfg.upgrade_price_max,
        ),
        ("topup", cfg.topup_min, cfg.topup_max),
    ];
    for (name, min, max) in ranges {
        if min > max {
            return Err(err(
                &v(&format!("{name}_min")),
                format!("is above {name}_max"),
            ));
        }
    }
    for (name, n) in [
        ("auto_complete_days", cfg.auto_complete_days),
        (
            "auto_cancel_no_instructions_days",
            cfg.auto_cancel_no_instructions_days,
        ),
        ("quantity_max", cfg.quantity_max),
        ("platform_shards", u32::from(cfg.platform_shards)),
    ] {
        if n == 0 {
            return Err(err(&v(name), "must be at least 1"));
        }
    }
    if u64::from(cfg.reminder_hours_before_complete) >= u64::from(cfg.auto_complete_days) * 24 {
        return Err(err(
            &v("reminder_hours_before_complete"),
            "must be shorter than the auto-complete period",
        ));
    }
    if cfg.categories.is_empty() {
        return Err(err(&v("categories"), "needs at least one category"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    const QUEUES: [(&str, &str); 2] = [
        ("KHAMSA_NOTIFICATIONS_QUEUE_URL", "https://sqs.example/1/n"),
        ("KHAMSA_TIMERS_QUEUE_URL", "https://sqs.example/1/t"),
    ];

    #[test]
    fn defaults_are_product_md() {
        let s = Settings::from_vars(Function::Services, vars(&[("KHAMSA_TABLE", "t")])).unwrap();
        // product.md's rules; sandbox top-ups are off unless asked for.
        assert_eq!(
            s.config,
            Config {
                sandbox_topups: false,
                ..Config::default()
            }
        );
        assert_eq!(s.table, "t");
        assert_eq!(s.notifications_queue_url, None);
    }

    #[test]
    fn a_missing_table_is_named() {
        let e = Settings::from_vars(Function::Accounts, vec![]).unwrap_err();
        assert_eq!(e.var, "KHAMSA_TABLE");
    }

    #[test]
    fn each_function_needs_only_its_queues() {
        let e = Settings::from_vars(Function::Order, vars(&[("KHAMSA_TABLE", "t")])).unwrap_err();
        assert_eq!(e.var, "KHAMSA_NOTIFICATIONS_QUEUE_URL");
        let mut v = vars(&[("KHAMSA_TABLE", "t")]);
        v.push((QUEUES[0].0.into(), QUEUES[0].1.into()));
        let e = Settings::from_vars(Function::Order, v.clone()).unwrap_err();
        assert_eq!(e.var, "KHAMSA_TIMERS_QUEUE_URL");
        // cancel sets no timer: the notifications queue is enough.
        let s = Settings::from_vars(Function::Cancel, v).unwrap();
        assert_eq!(s.timers_queue_url, None);
        let e = Settings::from_vars(
            Function::Notifier,
            vars(&[("KHAMSA_TABLE", "t"), ("KHAMSA_SES_SOURCE", "x")]),
        )
        .unwrap_err();
        assert_eq!(e.var, "KHAMSA_SES_SOURCE");
    }

    #[test]
    fn config_overrides_apply_and_are_checked() {
        let mut v = vars(&[
            ("KHAMSA_TABLE", "t"),
            ("KHAMSA_CFG_FEE_RATE", "0.15"),
            ("KHAMSA_CFG_CLEARING_DAYS", "7"),
            ("KHAMSA_CFG_WITHDRAWAL_MIN", "20.00"),
            ("KHAMSA_CFG_CATEGORIES", "design, video,"),
        ]);
        let s = Settings::from_vars(Function::Services, v.clone()).unwrap();
        assert_eq!(s.config.fee_rate.to_string(), "0.15");
        assert_eq!(s.config.clearing_days, 7);
        assert_eq!(s.config.withdrawal_min, Money::dollars(20));
        assert_eq!(s.config.categories, ["design", "video"]);
        for (var, value) in [
            ("KHAMSA_CFG_FEE_RATE", "1.5"),
            ("KHAMSA_CFG_CLEARING_DAYS", "two"),
            ("KHAMSA_CFG_WITHDRAWAL_MIN", "ten"),
            ("KHAMSA_CFG_NO_SUCH_THING", "1"),
            ("KHAMSA_CFG_TOPUP_MIN", "5000"),
        ] {
            v.push((var.into(), value.into()));
            let e = Settings::from_vars(Function::Services, v.clone()).unwrap_err();
            assert_eq!(e.var, var, "{e}");
            v.pop();
        }
    }

    const PAYPAL: [(&str, &str); 3] = [
        (
            "PAYPAL_SECRET_ID",
            "arn:aws:secretsmanager:us-east-1:1:secret:paypal",
        ),
        ("PAYPAL_API_BASE", "https://api-m.sandbox.paypal.com/"),
        ("PAYPAL_WEBHOOK_ID", "WH-1"),
    ];

    #[test]
    fn the_functions_that_call_paypal_need_its_secret_id_and_no_one_else_gets_it() {
        let mut v = vars(&[("KHAMSA_TABLE", "t")]);
        v.extend(vars(&QUEUES));
        let e = Settings::from_vars(Function::Payouts, v.clone()).unwrap_err();
        assert_eq!(e.var, "PAYPAL_API_BASE");
        v.extend(vars(&PAYPAL));
        let s = Settings::from_vars(Function::Payouts, v.clone()).unwrap();
        assert_eq!(
            s.paypal,
            Some(PayPalSettings {
                secret_id: PAYPAL[0].1.into(),
                api_base: "https://api-m.sandbox.paypal.com".into(),
                webhook_id: "WH-1".into(),
            })
        );
        // Set or not, a function that does not call PayPal ignores them.
        let s = Settings::from_vars(Function::Services, v).unwrap();
        assert_eq!(s.paypal, None);
    }

    #[test]
    fn the_functions_that_approve_withdrawals_need_the_payouts_queue() {
        let v = vars(&[("KHAMSA_TABLE", "t")]);
        let e = Settings::from_vars(Function::Withdraw, v.clone()).unwrap_err();
        assert_eq!(e.var, "KHAMSA_PAYOUTS_QUEUE_URL");
        let mut v = v;
        v.push((
            "KHAMSA_PAYOUTS_QUEUE_URL".into(),
            "https://sqs.example/1/p".into(),
        ));
        let s = Settings::from_vars(Function::Withdraw, v).unwrap();
        assert_eq!(
            s.payouts_queue_url.as_deref(),
            Some("https://sqs.example/1/p")
        );
    }

    const UNSUB: [(&str, &str); 2] = [
        (
            "KHAMSA_UNSUBSCRIBE_SECRET_ID",
            "arn:aws:secretsmanager:r:1:secret:u",
        ),
        ("KHAMSA_API_URL", "https://api.example/"),
    ];

    #[test]
    fn the_functions_that_sign_or_check_unsubscribe_links_need_the_secret_id() {
        let mut v = vars(&[
            ("KHAMSA_TABLE", "t"),
            ("KHAMSA_SES_SOURCE", "no-reply@khamsa.example"),
            ("KHAMSA_PUBLIC_URL", "https://khamsa.example"),
        ]);
        let e = Settings::from_vars(Function::Notifier, v.clone()).unwrap_err();
        assert_eq!(e.var, "KHAMSA_API_URL");
        v.extend(vars(&UNSUB));
        let s = Settings::from_vars(Function::Notifier, v.clone()).unwrap();
        assert_eq!(
            s.unsubscribe,
            Some(UnsubscribeSettings {
                secret_id: UNSUB[0].1.into(),
                api_url: "https://api.example".into(),
            })
        );
        let s = Settings::from_vars(Function::Services, v.clone()).unwrap();
        assert_eq!(s.unsubscribe, None);
        let mut v = vars(&[("KHAMSA_TABLE", "t")]);
        v.extend(vars(&QUEUES));
        v.extend(vars(&PAYPAL));
        let e = Settings::from_vars(Function::Accounts, v.clone()).unwrap_err();
        assert_eq!(e.var, "KHAMSA_UNSUBSCRIBE_SECRET_ID");
        v.extend(vars(&UNSUB[..1]));
        let s = Settings::from_vars(Function::Accounts, v).unwrap();
        assert_eq!(s.unsubscribe.map(|u| u.api_url), Some(String::new()));
    }

    #[test]
    fn sandbox_topups_are_off_unless_said() {
        let on = Settings::from_vars(
            Function::Accounts,
            vars(&[
                ("KHAMSA_TABLE", "t"),
                (ALLOW_SANDBOX_TOPUPS, "true"),
                ("KHAMSA_NOTIFICATIONS_QUEUE_URL", "http://q/n"),
                ("KHAMSA_TIMERS_QUEUE_URL", "http://q/t"),
                ("PAYPAL_SECRET_ID", "arn:aws:secretsmanager:r:1:secret:p"),
                ("PAYPAL_API_BASE", "https://api-m.sandbox.paypal.com"),
                ("PAYPAL_WEBHOOK_ID", "WH-1"),
                UNSUB[0],
                UNSUB[1],
            ]),
        )
        .unwrap();
        assert!(on.config.sandbox_topups);
        let e = Settings::from_vars(
            Function::Accounts,
            vars(&[
                ("KHAMSA_TABLE", "t"),
                (ALLOW_SANDBOX_TOPUPS, "yes"),
                ("KHAMSA_NOTIFICATIONS_QUEUE_URL", "http://q/n"),
                ("KHAMSA_TIMERS_QUEUE_URL", "http://q/t"),
                ("PAYPAL_SECRET_ID", "arn:aws:secretsmanager:r:1:secret:p"),
                ("PAYPAL_API_BASE", "https://api-m.sandbox.paypal.com"),
                ("PAYPAL_WEBHOOK_ID", "WH-1"),
                UNSUB[0],
                UNSUB[1],
            ]),
        )
        .unwrap_err();
        assert_eq!(e.var, ALLOW_SANDBOX_TOPUPS);
    }
}
