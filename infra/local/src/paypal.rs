//! The local server's PayPal: the built-in fake by default, or PayPal's
//! real sandbox when its four settings are in the environment. Either way
//! the same adapter (`khamsa-paypal`) and the same code paths run as in
//! AWS; only the base URL and the credentials differ.

use khamsa_app::ports::Payments;
use khamsa_paypal::{Config as PayPalConfig, Credentials, PayPal};
use khamsa_paypal_fake::FakePayPal;
use std::sync::Arc;
use std::time::Duration;

/// What the local server talks to for PayPal.
pub enum PayPalSetup {
    /// The fake, started here on a free port (or `KHAMSA_PAYPAL_FAKE_PORT`).
    Fake,
    /// PayPal's sandbox (or live) with real credentials.
    Real {
        api_base: String,
        webhook_id: String,
        credentials: Credentials,
    },
}

impl PayPalSetup {
    /// `Real` when `PAYPAL_CLIENT_ID`, `PAYPAL_CLIENT_SECRET`,
    /// `PAYPAL_API_BASE` and `PAYPAL_WEBHOOK_ID` are all set.
    pub fn from_env() -> PayPalSetup {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        match (
            var("PAYPAL_CLIENT_ID"),
            var("PAYPAL_CLIENT_SECRET"),
            var("PAYPAL_API_BASE"),
            var("PAYPAL_WEBHOOK_ID"),
        ) {
            (Some(client_id), Some(client_secret), Some(api_base), Some(webhook_id)) => {
                PayPalSetup::Real {
                    api_base,
                    webhook_id,
                    credentials: Credentials {
                        client_id,
                        client_secret,
                    },
                }
            }
            _ => PayPalSetup::Fake,
        }
    }
}

/// The providers, and the fake when it is the one in use (tests script it).
pub struct LocalPayPal {
    pub payments: Payments,
    pub fake: Option<Arc<FakePayPal>>,
}

/// PayPal's own calls answer within a few seconds; locally a hung call
/// should fail a test quickly rather than hang it.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Starts the fake if needed and builds the adapter. The fake posts its
/// webhook events to `public_url`'s `/webhooks/paypal`, as PayPal posts to
/// the listener URL registered for the webhook id.
pub async fn start(setup: PayPalSetup, public_url: &str) -> std::io::Result<LocalPayPal> {
    let (config, credentials, fake) = match setup {
        PayPalSetup::Real {
            api_base,
            webhook_id,
            credentials,
        } => (
            PayPalConfig {
                api_base,
                webhook_id,
                timeout: TIMEOUT,
            },
            credentials,
            None,
        ),
        PayPalSetup::Fake => {
            let port = std::env::var("KHAMSA_PAYPAL_FAKE_PORT")
                .ok()
                .and_then(|p| p.parse().ok())
                .unwrap_or(0);
            let fake = khamsa_paypal_fake::spawn(port).await?;
            fake.set_webhook_url(format!("{public_url}/webhooks/paypal"));
            (
                PayPalConfig {
                    api_base: fake.base_url(),
                    webhook_id: khamsa_paypal_fake::WEBHOOK_ID.into(),
                    timeout: TIMEOUT,
                },
                Credentials {
                    client_id: khamsa_paypal_fake::CLIENT_ID.into(),
                    client_secret: khamsa_paypal_fake::CLIENT_SECRET.into(),
                },
                Some(Arc::new(fake)),
            )
        }
    };
    let paypal = PayPal::new(config, &credentials).map_err(std::io::Error::other)?;
    Ok(LocalPayPal {
        payments: Payments::none().with(Arc::new(paypal)),
        fake,
    })
}
