//! SES behind the `Mailer` port.

use crate::sqs::{AwsError, sdk};
use async_trait::async_trait;
use aws_sdk_ses::Client;
use aws_sdk_ses::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_ses::operation::send_email::SendEmailError;
use aws_sdk_ses::types::{Body, Content, Destination, Message};
use khamsa_app::ports::{Email, MailError, Mailer};

/// Sends each email with `SendEmail` from one configured, verified address.
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
    fn sort<R: std::fmt::Debug>(&self, e: &SdkError<SendEmailError, R>) -> MailError {
        let detail = DisplayErrorContext(e).to_string();
        let Some(se) = e.as_service_error() else {
            return MailError::Unavailable(detail);
        };
        let message = se.message().unwrap_or_default();
        let about_us = message
            .to_ascii_lowercase()
            .contains(&self.source.to_ascii_lowercase());
        let permanent = match se {
            SendEmailError::MessageRejected(_) => !about_us,
            SendEmailError::MailFromDomainNotVerifiedException(_)
            | SendEmailError::AccountSendingPausedException(_)
            | SendEmailError::ConfigurationSetDoesNotExistException(_)
            | SendEmailError::ConfigurationSetSendingPausedException(_) => false,
            _ => se.code() == Some("InvalidParameterValue"),
        };
        if permanent {
            MailError::Refused(detail)
        } else {
            MailError::Unavailable(detail)
        }
    }
}

fn has_crlf(s: &str) -> bool {
    s.contains(['\r', '\n'])
}

fn utf8(data: &str) -> Result<Content, MailError> {
    Content::builder()
        .data(data)
        .charset("UTF-8")
        .build()
        .map_err(|e| MailError::Refused(e.to_string()))
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, email: &Email) -> Result<(), MailError> {
        // Refuse rather than strip: SES builds the headers from these, and
        // a line break in one is a bug or a header-injection attempt.
        for (name, value) in [
            ("to", email.to.as_str()),
            ("source", self.source.as_str()),
            ("subject", email.subject.as_str()),
        ] {
            if has_crlf(value) {
                return Err(MailError::Refused(format!(
                    "header value contains CR or LF: {name}"
                )));
            }
        }
        let message = Message::builder()
            .subject(utf8(&email.subject)?)
            .body(
                Body::builder()
                    .html(utf8(&email.html)?)
                    .text(utf8(&email.text)?)
                    .build(),
            )
            .build();
        let out = self
            .client
            .send_email()
            .source(&self.source)
            .destination(Destination::builder().to_addresses(&email.to).build())
            .message(message)
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
