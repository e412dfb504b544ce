//! SES behind the `Mailer` port.

use crate::sqs::{AwsError, sdk};
use async_trait::async_trait;
use aws_sdk_ses::Client;
use aws_sdk_ses::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_ses::operation::send_raw_email::SendRawEmailError;
use aws_sdk_ses::primitives::Blob;
use aws_sdk_ses::types::RawMessage;
use khamsa_app::ports::{Email, MailError, Mailer};

/// Sends each email with `SendRawEmail` (a MIME message built in
/// [`crate::mime`], so the optional ones carry `List-Unsubscribe`) from one
/// configured, verified address.
#[derive(Clone)]
pub struct SesMailer {
    client: Client,
    source: String,
}

impl SesMailer {
    pub fn new(client: Client, source: impl Into<String>) -> Self {
        SesMailer {
            client,
            source: source.into(),
        }
    }
}

impl SesMailer {
    /// Sorts an SES refusal. Permanent (`Refused`: the row fails, counted
    /// in `EmailsFailed`) when it is about this email: `MessageRejected`
    /// naming anything but our sender (an unverified or sandbox recipient,
    /// too many recipients, content), `InvalidParameterValue` (a malformed
    /// address). Transient (`Unavailable`: retried with backoff, bounded by
    /// the attempt limit) when it is about our own sending set-up, which an
    /// operator fixes once for every email waiting: the sender identity
    /// unverified (`MessageRejected` naming it), the MAIL FROM domain not
    /// verified, the account's sending paused, a missing configuration set;
    /// and throttling, 5xx, timeouts and dispatch failures. Failing those
    /// for good would drop every email sent during a fixable outage.
    fn sort<R: std::fmt::Debug>(&self, e: &SdkError<SendRawEmailError, R>) -> MailError {
        let detail = DisplayErrorContext(e).to_string();
        let Some(se) = e.as_service_error() else {
            return MailError::Unavailable(detail);
        };
        let message = se.message().unwrap_or_default();
        let about_us = message
            .to_ascii_lowercase()
            .contains(&self.source.to_ascii_lowercase());
        let permanent = match se {
            SendRawEmailError::MessageRejected(_) => !about_us,
            SendRawEmailError::MailFromDomainNotVerifiedException(_)
            | SendRawEmailError::AccountSendingPausedException(_)
            | SendRawEmailError::ConfigurationSetDoesNotExistException(_)
            | SendRawEmailError::ConfigurationSetSendingPausedException(_) => false,
            _ => se.code() == Some("InvalidParameterValue"),
        };
        if permanent {
            MailError::Refused(detail)
        } else {
            MailError::Unavailable(detail)
        }
    }
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, email: &Email) -> Result<(), MailError> {
        // Refuses a CR or LF in any header value before any call.
        let raw = crate::mime::build(&self.source, email)?;
        let message = RawMessage::builder()
            .data(Blob::new(raw))
            .build()
            .map_err(|e| MailError::Refused(e.to_string()))?;
        // No destinations: SES sends to the message's `To`, the one address.
        let out = self
            .client
            .send_raw_email()
            .source(&self.source)
            .raw_message(message)
            .send()
            .await
            .map_err(|e| self.sort(&e))?;
        tracing::info!(to = %email.to, message_id = out.message_id(), "email sent");
        Ok(())
    }
}

/// Asks SES to verify `address` as a sender. moto refuses `SendEmail` from
/// an unverified source and verifies at once, so local mode and tests call
/// this at start-up; in AWS the identity is verified out of band.
pub async fn verify_identity(client: &Client, address: &str) -> Result<(), AwsError> {
    client
        .verify_email_identity()
        .email_address(address)
        .send()
        .await
        .map_err(sdk("VerifyEmailIdentity"))?;
    Ok(())
}
