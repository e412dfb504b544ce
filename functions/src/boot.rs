//! Start-up, once per execution environment: the log subscriber, the
//! settings (fail fast), the AWS clients and the `App`. Everything here
//! lives for the life of the environment and is reused by every invocation.
//! Nothing is created in AWS: the table, the queues and the SES identity
//! are template.yaml's.

use crate::HttpBinary;
use crate::settings::{PayPalSettings, Settings, SettingsError, UnsubscribeSettings};
use crate::{Api, Function, Worker};
use async_trait::async_trait;
use khamsa_app::ports::payments::{
    Capture, Checkout, CheckoutRequest, CheckoutState, IdempotencyKey, PaymentError, PaymentMethod,
    PaymentProvider, PaymentResult, Payout, PayoutItem, PayoutItemId, PayoutRequest,
    ProviderOrderId, WebhookDelivery, WebhookEvent,
};
use khamsa_app::ports::{Clock, Email, MailError, Mailer, Notifier, Payments, Scheduler, Store};
use khamsa_app::unsubscribe::Unsubscribe;
use khamsa_app::{App, Ports};
use khamsa_aws::dynamo::DynamoStore;
use khamsa_aws::ses::SesMailer;
use khamsa_aws::sqs::{SqsNotifier, SqsPayoutQueue, SqsScheduler};
use khamsa_domain::Timestamp;
use khamsa_domain::ids::OutboxId;
use khamsa_domain::order::Timer;
use khamsa_paypal::{Config as PayPalConfig, Credentials, PayPal};
use std::marker::PhantomData;
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
    /// The PayPal secret could not be read or is not the expected JSON.
    /// Never carries the secret's value.
    #[error("khamsa {function}: PayPal credentials: {problem}")]
    PayPal {
        function: &'static str,
        problem: String,
    },
    /// The unsubscribe links' key could not be read or is too short.
    /// Never carries the key.
    #[error("khamsa {function}: unsubscribe key: {problem}")]
    UnsubscribeKey {
        function: &'static str,
        problem: String,
    },
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
pub async fn boot_api<B: HttpBinary>() -> Result<Api<B>, BootError> {
    let function = B::FUNCTION;
    if !function.is_http() {
        return Err(BootError::WrongKind {
            function: function.name(),
        });
    }
    // HTTP functions never send email (the notifier does): no SES client
    // is built, or linked into their binaries.
    let mut parts = boot(function, |_, _| None).await?;
    if let Some(providers) = paypal_of::<B>(&parts) {
        parts.app.payments = providers;
    }
    let key = match unsubscribe_of::<B>(&parts) {
        Some(read) => Some(read.await?),
        None => None,
    };
    if let Some(key) = key {
        parts.app = parts.app.with_unsubscribe(key);
    }
    Ok(Api {
        function,
        app: parts.app,
        binary: PhantomData,
    })
}

/// Reads the settings and builds the `App` of a worker.
pub async fn boot_worker(function: Function) -> Result<Worker, BootError> {
    if function.is_http() {
        return Err(BootError::WrongKind {
            function: function.name(),
        });
    }
    let mut parts = boot(function, |sdk, settings| {
        let source = settings.ses_source.clone()?;
        let mailer: Arc<dyn Mailer> =
            Arc::new(SesMailer::new(khamsa_aws::ses::client(sdk), source));
        Some(mailer)
    })
    .await?;
    if function.calls_paypal() {
        parts.app.payments = payments(function, &parts).await?;
    }
    if let Some(u) = &parts.unsubscribe {
        let key = unsubscribe_key(function, &parts.sdk, u).await?;
        parts.app = parts.app.with_unsubscribe(key);
    }
    Ok(Worker {
        function,
        app: parts.app,
        scheduler: parts.scheduler,
        notifier: parts.notifier,
    })
}

struct Parts {
    app: App,
    sdk: aws_config::SdkConfig,
    paypal: Option<PayPalSettings>,
    unsubscribe: Option<UnsubscribeSettings>,
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
    // Operation and attempt timeouts on every client (issue 9).
    let sdk = khamsa_aws::https::sdk_defaults()
        .timeout_config(khamsa_aws::https::lambda_timeouts())
        .load()
        .await;
    let store: Arc<dyn Store> = Arc::new(DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        settings.table.clone(),
    ));
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let sqs = (settings.notifications_queue_url.is_some()
        || settings.timers_queue_url.is_some()
        || settings.payouts_queue_url.is_some())
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
    let app = match (&sqs, &settings.payouts_queue_url) {
        (Some(c), Some(url)) => {
            app.with_payout_queue(Arc::new(SqsPayoutQueue::new(c.clone(), url.clone())))
        }
        _ => app,
    };
    // Files' presigned URLs, where the stack gives the bucket (the
    // messages function, which serves the file routes).
    let app = match std::env::var("KHAMSA_FILES_BUCKET") {
        Ok(bucket) if !bucket.is_empty() => match khamsa_aws::s3::S3Urls::from_sdk(&sdk, bucket) {
            Ok(urls) => app.with_files(Arc::new(urls)),
            Err(e) => {
                tracing::error!(error = %e, "no presigned URLs for files");
                app
            }
        },
        _ => app,
    };
    tracing::debug!(function = function.name(), "started");
    Ok(Parts {
        app,
        sdk,
        paypal: settings.paypal,
        unsubscribe: settings.unsubscribe,
        scheduler,
        notifier,
    })
}

/// Decided when the binary is compiled (a `const` branch, so a function
/// that does not call PayPal links neither the adapter nor the Secrets
/// Manager client). The provider reads its secret on first use.
fn paypal_of<B: HttpBinary>(parts: &Parts) -> Option<Payments> {
    if const { B::FUNCTION.calls_paypal() } {
        let p = parts.paypal.clone()?;
        Some(Payments::none().with(Arc::new(LazyPayPal {
            function: B::FUNCTION.name(),
            sdk: parts.sdk.clone(),
            settings: p,
            cell: tokio::sync::OnceCell::new(),
        })))
    } else {
        None
    }
}

type KeyFuture<'a> = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<Arc<Unsubscribe>, BootError>> + Send + 'a>,
>;

/// As `paypal_of`: the key is read only by the HTTP function that checks
/// unsubscribe links (accounts, which links Secrets Manager already).
fn unsubscribe_of<B: HttpBinary>(parts: &Parts) -> Option<KeyFuture<'_>> {
    if const { B::FUNCTION.unsubscribe_links() } {
        let u = parts.unsubscribe.as_ref()?;
        Some(Box::pin(unsubscribe_key(B::FUNCTION, &parts.sdk, u)))
    } else {
        None
    }
}

/// The shortest key taken: 256 bits of HMAC-SHA256 key.
const UNSUBSCRIBE_KEY_MIN: usize = 32;

/// The unsubscribe links' key: the secret's whole `SecretString` (the
/// stack generates it). Only the secret's id is ever logged.
async fn unsubscribe_key(
    function: Function,
    sdk: &aws_config::SdkConfig,
    u: &UnsubscribeSettings,
) -> Result<Arc<Unsubscribe>, BootError> {
    let fail = |problem: String| {
        let e = BootError::UnsubscribeKey {
            function: function.name(),
            problem,
        };
        tracing::error!(error = %e, secret = %u.secret_id, "cannot start");
        e
    };
    let client = aws_sdk_secretsmanager::Client::new(sdk);
    let out = client
        .get_secret_value()
        .secret_id(&u.secret_id)
        .send()
        .await
        .map_err(|e| {
            fail(format!(
                "GetSecretValue {}: {}",
                u.secret_id,
                aws_sdk_secretsmanager::error::DisplayErrorContext(&e)
            ))
        })?;
    let key = out
        .secret_string()
        .ok_or_else(|| fail(format!("{} has no SecretString", u.secret_id)))?;
    if key.len() < UNSUBSCRIBE_KEY_MIN {
        return Err(fail(format!(
            "{} is shorter than {UNSUBSCRIBE_KEY_MIN} bytes",
            u.secret_id
        )));
    }
    Ok(Arc::new(Unsubscribe::new(key.as_bytes(), &u.api_url)))
}

/// The providers of a function that calls PayPal (its settings say where).
async fn payments(function: Function, parts: &Parts) -> Result<Payments, BootError> {
    match &parts.paypal {
        Some(p) => paypal(function, &parts.sdk, p).await,
        None => Ok(Payments::none()),
    }
}

/// PayPal's per-call limit here: a payout send that takes longer is retried
/// with the same `sender_batch_id`, which never pays twice.
const PAYPAL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(8);

/// The PayPal provider, its client id and secret read once from Secrets
/// Manager (the secret's JSON: `{"client_id": "...", "client_secret":
/// "..."}`); the adapter caches its OAuth token until shortly before it
/// expires. Only the secret's id is ever logged. A worker reads the secret
/// at start-up and stops on a bad one.
async fn paypal(
    function: Function,
    sdk: &aws_config::SdkConfig,
    p: &PayPalSettings,
) -> Result<Payments, BootError> {
    let provider = paypal_provider(sdk, p).await.map_err(|problem| {
        let e = BootError::PayPal {
            function: function.name(),
            problem,
        };
        tracing::error!(error = %e, secret = %p.secret_id, "cannot start");
        e
    })?;
    tracing::info!(function = function.name(), api = %p.api_base, "PayPal configured");
    Ok(Payments::none().with(Arc::new(provider)))
}

/// The PayPal client; the error says what is wrong, never the secret.
async fn paypal_provider(
    sdk: &aws_config::SdkConfig,
    p: &PayPalSettings,
) -> Result<PayPal, String> {
    let client = aws_sdk_secretsmanager::Client::new(sdk);
    let credentials = read_paypal_secret(&client, &p.secret_id).await?;
    PayPal::new(
        PayPalConfig {
            api_base: p.api_base.clone(),
            webhook_id: p.webhook_id.clone(),
            timeout: PAYPAL_TIMEOUT,
        },
        &credentials,
    )
    .map_err(|e| e.to_string())
}

/// An HTTP function's PayPal provider, built on first use: the Secrets
/// Manager call and the PayPal client's TLS set-up are off the cold start
/// (issue 11), and most requests of `order` never pay with PayPal. A bad
/// or unreadable secret fails each request that needs PayPal with a 503
/// (`payment_unavailable`) and an error log naming the secret's id; a
/// failure is not kept, so the next such request reads the secret again.
struct LazyPayPal {
    function: &'static str,
    sdk: aws_config::SdkConfig,
    settings: PayPalSettings,
    cell: tokio::sync::OnceCell<PayPal>,
}

impl LazyPayPal {
    async fn get(&self) -> Result<&PayPal, PaymentError> {
        self.cell
            .get_or_try_init(|| async {
                let provider = paypal_provider(&self.sdk, &self.settings).await;
                match &provider {
                    Ok(_) => tracing::info!(
                        function = self.function,
                        api = %self.settings.api_base,
                        "PayPal configured"
                    ),
                    Err(problem) => tracing::error!(
                        function = self.function,
                        secret = %self.settings.secret_id,
                        error = %problem,
                        "PayPal credentials"
                    ),
                }
                provider.map_err(|p| PaymentError::Transient(format!("PayPal credentials: {p}")))
            })
            .await
    }
}

#[async_trait]
impl PaymentProvider for LazyPayPal {
    fn method(&self) -> PaymentMethod {
        PaymentMethod::Paypal
    }

    async fn create_checkout(&self, req: &CheckoutRequest) -> PaymentResult<Checkout> {
        self.get().await?.create_checkout(req).await
    }

    async fn get_checkout(&self, id: &ProviderOrderId) -> PaymentResult<CheckoutState> {
        self.get().await?.get_checkout(id).await
    }

    async fn capture(&self, id: &ProviderOrderId, key: &IdempotencyKey) -> PaymentResult<Capture> {
        self.get().await?.capture(id, key).await
    }

    async fn send_payout(&self, req: &PayoutRequest) -> PaymentResult<Payout> {
        self.get().await?.send_payout(req).await
    }

    async fn get_payout_item(&self, id: &PayoutItemId) -> PaymentResult<PayoutItem> {
        self.get().await?.get_payout_item(id).await
    }

    async fn verify_webhook(&self, delivery: &WebhookDelivery) -> PaymentResult<WebhookEvent> {
        self.get().await?.verify_webhook(delivery).await
    }
}

/// Reads `{"client_id", "client_secret"}` from the secret `secret_id`. An
/// error says what is wrong, never what the secret holds.
pub async fn read_paypal_secret(
    client: &aws_sdk_secretsmanager::Client,
    secret_id: &str,
) -> Result<Credentials, String> {
    #[derive(serde::Deserialize)]
    struct Secret {
        client_id: String,
        client_secret: String,
    }
    let out = client
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|e| {
            format!(
                "GetSecretValue {secret_id}: {}",
                aws_sdk_secretsmanager::error::DisplayErrorContext(&e)
            )
        })?;
    let raw = out
        .secret_string()
        .ok_or_else(|| format!("{secret_id} has no SecretString"))?;
    let s: Secret = serde_json::from_str(raw).map_err(|_| {
        format!("{secret_id} is not JSON with string fields client_id and client_secret")
    })?;
    if s.client_id.trim().is_empty() || s.client_secret.trim().is_empty() {
        return Err(format!("{secret_id}: client_id or client_secret is empty"));
    }
    Ok(Credentials {
        client_id: s.client_id,
        client_secret: s.client_secret,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// An unreadable secret fails the request that needs PayPal as
    /// transient (a 503), naming the secret, and is tried again next time.
    #[tokio::test]
    async fn an_unreadable_paypal_secret_is_a_transient_error_on_use() {
        let sdk = khamsa_aws::https::sdk_defaults()
            .endpoint_url("http://127.0.0.1:9")
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_secretsmanager::config::Credentials::new(
                "a", "b", None, None, "test",
            ))
            .timeout_config(khamsa_aws::https::lambda_timeouts())
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .load()
            .await;
        let lazy = LazyPayPal {
            function: "order",
            sdk,
            settings: PayPalSettings {
                secret_id: "paypal-test-secret".into(),
                api_base: "http://127.0.0.1:9".into(),
                webhook_id: "WH".into(),
            },
            cell: tokio::sync::OnceCell::new(),
        };
        assert_eq!(lazy.method(), PaymentMethod::Paypal);
        for _ in 0..2 {
            match lazy.get_checkout(&ProviderOrderId::new("o1")).await {
                Err(PaymentError::Transient(m)) => assert!(m.contains("paypal-test-secret"), "{m}"),
                other => panic!("expected a transient error, got {other:?}"),
            }
        }
        assert!(lazy.cell.get().is_none(), "a failure is not kept");
    }
}
