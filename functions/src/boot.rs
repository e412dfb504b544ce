//! Start-up, once per execution environment: the log subscriber, the
//! settings (fail fast), the AWS clients and the `App`. Everything here
//! lives for the life of the environment and is reused by every invocation.
//! Nothing is created in AWS: the table, the queues and the SES identity
//! are template.yaml's.

use crate::settings::{Settings, SettingsError};
use crate::{Api, Function, Worker};
use async_trait::async_trait;
use khamsa_app::ports::{Clock, Email, MailError, Mailer, Notifier, Payments, Scheduler, Store};
use khamsa_app::{App, Ports};
use khamsa_aws::dynamo::DynamoStore;
use khamsa_aws::ses::SesMailer;
use khamsa_aws::sqs::{SqsNotifier, SqsScheduler};
use khamsa_domain::Timestamp;
use khamsa_domain::ids::OutboxId;
use khamsa_domain::order::Timer;
use std::sync::Arc;
use tracing_subscriber::filter::LevelFilter;

#[derive(Debug, thiserror::Error)]
pub enum BootError {
    #[error("khamsa {function}: bad configuration: {source}")]
    Settings {
        function: &'static str,
        source: SettingsError,
    },
    #[error("khamsa {function} is an HTTP function, not a worker (or the other way round)")]
    WrongKind { function: &'static str },
}

/// JSON lines on stdout, which Lambda sends to CloudWatch Logs. The level
/// comes from `RUST_LOG`, else from Lambda's own `AWS_LAMBDA_LOG_LEVEL`
/// (the function's `LoggingConfig.ApplicationLogLevel`), else `info`: one
/// level, not `EnvFilter` directives, whose regex engine would add a few
/// hundred KB to every binary. The shared handler logs one line per
/// request (method, route, status, latency, caller id), never a body, a
/// header or a token.
pub fn init_tracing() {
    let level = ["RUST_LOG", "AWS_LAMBDA_LOG_LEVEL"]
        .iter()
        .find_map(|v| std::env::var(v).ok())
        .and_then(|l| level_filter(&l))
        .unwrap_or(LevelFilter::INFO);
    let _ = tracing_subscriber::fmt()
        .json()
        .with_max_level(level)
        .with_target(false)
        .with_current_span(false)
        .with_span_list(false)
        .try_init();
}

fn level_filter(name: &str) -> Option<LevelFilter> {
    match name.trim().to_ascii_lowercase().as_str() {
        "trace" => Some(LevelFilter::TRACE),
        "debug" => Some(LevelFilter::DEBUG),
        "info" => Some(LevelFilter::INFO),
        "warn" => Some(LevelFilter::WARN),
        // Lambda's FATAL: errors are the most severe level here.
        "error" | "fatal" => Some(LevelFilter::ERROR),
        "off" => Some(LevelFilter::OFF),
        _ => None,
    }
}

/// Reads the settings and builds the `App` of an HTTP function.
pub async fn boot_api(function: Function) -> Result<Api, BootError> {
    if !function.is_http() {
        return Err(BootError::WrongKind {
            function: function.name(),
        });
    }
    // HTTP functions never send email (the notifier does): no SES client
    // is built, or linked into their binaries.
    let parts = boot(function, |_, _| None).await?;
    Ok(Api {
        function,
        app: parts.app,
    })
}

/// Reads the settings and builds the `App` of a worker.
pub async fn boot_worker(function: Function) -> Result<Worker, BootError> {
    if function.is_http() {
        return Err(BootError::WrongKind {
            function: function.name(),
        });
    }
    let parts = boot(function, |sdk, settings| {
        let source = settings.ses_source.clone()?;
        let mailer: Arc<dyn Mailer> =
            Arc::new(SesMailer::new(aws_sdk_ses::Client::new(sdk), source));
        Some(mailer)
    })
    .await?;
    Ok(Worker {
        function,
        app: parts.app,
        scheduler: parts.scheduler,
        notifier: parts.notifier,
    })
}

struct Parts {
    app: App,
    scheduler: Option<Arc<SqsScheduler>>,
    notifier: Option<Arc<SqsNotifier>>,
}

async fn boot(
    function: Function,
    mailer: impl FnOnce(&aws_config::SdkConfig, &Settings) -> Option<Arc<dyn Mailer>>,
) -> Result<Parts, BootError> {
    init_tracing();
    let settings = Settings::from_env(function).map_err(|source| {
        let e = BootError::Settings {
            function: function.name(),
            source,
        };
        // Logged as well as returned: the runtime prints the error, this
        // puts it in the same JSON stream as everything else.
        tracing::error!(error = %e, "cannot start");
        e
    })?;

    // Region, credentials and endpoints from the Lambda environment (or
    // AWS_ENDPOINT_URL_* in the tests, which run against emulators); TLS
    // trusts the CA bundle file alone (no certificate directory scan).
    let sdk = khamsa_aws::https::sdk_defaults().load().await;
    let store: Arc<dyn Store> = Arc::new(DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        settings.table.clone(),
    ));
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let sqs = (settings.notifications_queue_url.is_some() || settings.timers_queue_url.is_some())
        .then(|| aws_sdk_sqs::Client::new(&sdk));
    let notifier = match (&sqs, &settings.notifications_queue_url) {
        (Some(c), Some(url)) => Some(Arc::new(SqsNotifier::new(c.clone(), url.clone()))),
        _ => None,
    };
    let scheduler = match (&sqs, &settings.timers_queue_url) {
        (Some(c), Some(url)) => Some(Arc::new(SqsScheduler::new(
            c.clone(),
            url.clone(),
            clock.clone(),
        ))),
        _ => None,
    };
    let mailer = mailer(&sdk, &settings).unwrap_or_else(|| Arc::new(NoMailer(function.name())));
    let app = App::new(
        Ports {
            store,
            clock,
            mailer,
            notifier: match &notifier {
                Some(n) => n.clone(),
                None => Arc::new(Unqueued(function.name())),
            },
            scheduler: match &scheduler {
                Some(s) => s.clone(),
                None => Arc::new(Unqueued(function.name())),
            },
            payments: Payments::none(),
        },
        settings.config,
        &settings.public_url,
    );
    tracing::debug!(function = function.name(), "started");
    Ok(Parts {
        app,
        scheduler,
        notifier,
    })
}

/// Wall time.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        Timestamp(ms)
    }
}

/// The notifier and scheduler of a function that has no queue (and no IAM
/// right to one). Nothing is lost: outbox and timer rows are committed
/// before these are told, and the sweeper queues them within minutes.
struct Unqueued(&'static str);

#[async_trait]
impl Notifier for Unqueued {
    async fn outbox_written(&self, ids: &[OutboxId]) {
        tracing::warn!(
            function = self.0,
            count = ids.len(),
            "outbox rows written by a function without the notifications queue; the sweeper will queue them"
        );
    }
}

#[async_trait]
impl Scheduler for Unqueued {
    async fn timers_set(&self, timers: &[Timer]) {
        tracing::debug!(
            function = self.0,
            count = timers.len(),
            "timers left to the sweeper"
        );
    }
}

/// Only the notifier sends email; every other function refuses to.
struct NoMailer(&'static str);

#[async_trait]
impl Mailer for NoMailer {
    async fn send(&self, _email: &Email) -> Result<(), MailError> {
        Err(MailError::Unavailable(format!(
            "{} does not send email; the notifier does",
            self.0
        )))
    }
}
