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
        if let Some(outcome) = unanswered(e) {
            return outcome;
        }
        let Some(se) = e.as_service_error() else {
            return MailError::Unknown(detail);
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

/// An SES client for the mailer: the SDK's own retries are off, since a
/// retry after a timeout or a lost answer sends the email again (SES takes
/// no idempotency key). The notifier's backoff retries what is surely not
/// sent.
pub fn client(sdk: &aws_config::SdkConfig) -> Client {
    let conf = aws_sdk_ses::config::Builder::from(sdk)
        .retry_config(aws_sdk_ses::config::retry::RetryConfig::disabled())
        .build();
    Client::from_conf(conf)
}

/// What a failed SES call means for the email when SES did not answer with
/// an error of its own (`None`: it did; sort it by its code). Generic over
/// the operation's error, so any sending operation shares it.
///
/// Surely not sent (`Unavailable`, retried): the request was never built,
/// or the connection was never made (refused, no address, a connect
/// timeout), so no byte of it reached SES. Anything else may have reached
/// SES (`Unknown`): a timeout once connected, a connection dropped
/// mid-exchange, an answer that cannot be read.
pub fn unanswered<E, R>(e: &SdkError<E, R>) -> Option<MailError>
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let detail = DisplayErrorContext(e).to_string();
    Some(match e {
        SdkError::ServiceError(_) => return None,
        SdkError::ConstructionFailure(_) => MailError::Unavailable(detail),
        SdkError::DispatchFailure(d) if d.as_connector_error().is_some_and(never_connected) => {
            MailError::Unavailable(detail)
        }
        _ => MailError::Unknown(detail),
    })
}

/// Whether a connector error happened before a connection existed: an
/// `io::Error` of refusal in its chain, or the connector's own words for a
/// failed connect (hyper-util's `tcp connect error` / `dns error`, the
/// SDK's `HTTP connect timeout`).
fn never_connected(e: &aws_sdk_ses::error::ConnectorError) -> bool {
    use std::io::ErrorKind;
    let mut at: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = at {
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                ErrorKind::ConnectionRefused | ErrorKind::AddrNotAvailable
            )
        {
            return true;
        }
        let text = err.to_string().to_ascii_lowercase();
        if ["tcp connect error", "dns error", "http connect timeout"]
            .iter()
            .any(|w| text.contains(w))
        {
            return true;
        }
        at = err.source();
    }
    false
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

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ses::error::{ConnectorError, ErrorMetadata};
    use aws_sdk_ses::types::error::{AccountSendingPausedException, MessageRejected};

    type E = SdkError<SendRawEmailError, ()>;

    fn mailer() -> SesMailer {
        let conf = aws_sdk_ses::Config::builder()
            .behavior_version(aws_sdk_ses::config::BehaviorVersion::latest())
            .build();
        SesMailer::new(Client::from_conf(conf), "noreply@khamsa.test")
    }

    fn outcome(e: E) -> &'static str {
        match mailer().sort(&e) {
            MailError::Refused(_) => "refused",
            MailError::Unavailable(_) => "not sent",
            MailError::Unknown(_) => "unknown",
        }
    }

    fn dispatch(c: ConnectorError) -> E {
        SdkError::dispatch_failure(c)
    }

    #[test]
    fn service_errors_are_answers_sorted_permanent_or_transient() {
        let rejected = |m: &str| {
            SdkError::service_error(
                SendRawEmailError::MessageRejected(
                    MessageRejected::builder()
                        .message(m)
                        .meta(
                            ErrorMetadata::builder()
                                .code("MessageRejected")
                                .message(m)
                                .build(),
                        )
                        .build(),
                ),
                (),
            )
        };
        assert_eq!(
            outcome(rejected("Email address is not verified: a@b.test")),
            "refused"
        );
        assert_eq!(
            outcome(rejected(
                "Email address is not verified: noreply@khamsa.test"
            )),
            "not sent",
            "about our own sender: fixable, retried"
        );
        let generic = |code: &str| {
            SdkError::service_error(
                SendRawEmailError::generic(ErrorMetadata::builder().code(code).build()),
                (),
            )
        };
        assert_eq!(outcome(generic("InvalidParameterValue")), "refused");
        assert_eq!(outcome(generic("Throttling")), "not sent");
        assert_eq!(outcome(generic("InternalFailure")), "not sent");
        let paused = SdkError::service_error(
            SendRawEmailError::AccountSendingPausedException(
                AccountSendingPausedException::builder().build(),
            ),
            (),
        );
        assert_eq!(outcome(paused), "not sent");
    }

    #[test]
    fn a_request_that_never_left_is_not_sent() {
        assert_eq!(
            outcome(SdkError::construction_failure("no region")),
            "not sent"
        );
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(
            outcome(dispatch(ConnectorError::io(Box::new(refused)))),
            "not sent"
        );
        assert_eq!(
            outcome(dispatch(ConnectorError::io(
                "tcp connect error: Connection refused (os error 111)".into()
            ))),
            "not sent"
        );
        assert_eq!(
            outcome(dispatch(ConnectorError::timeout(
                "HTTP connect timeout occurred after 1s".into()
            ))),
            "not sent"
        );
    }

    #[test]
    fn a_request_that_may_have_arrived_is_unknown() {
        assert_eq!(
            outcome(SdkError::timeout_error("operation timeout (all attempts)")),
            "unknown"
        );
        assert_eq!(
            outcome(dispatch(ConnectorError::io(
                "connection closed before message completed".into()
            ))),
            "unknown"
        );
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert_eq!(
            outcome(dispatch(ConnectorError::io(Box::new(reset)))),
            "unknown"
        );
        assert_eq!(
            outcome(dispatch(ConnectorError::timeout(
                "HTTP read timeout occurred after 3s".into()
            ))),
            "unknown"
        );
        assert_eq!(
            outcome(dispatch(ConnectorError::other(
                "h2 protocol error".into(),
                None
            ))),
            "unknown"
        );
        assert_eq!(
            outcome(SdkError::response_error("unexpected end of XML", ())),
            "unknown"
        );
    }

    #[test]
    fn the_sorting_is_generic_over_the_operation() {
        use aws_sdk_ses::operation::send_email::SendEmailError;
        let t: SdkError<SendEmailError, ()> = SdkError::timeout_error("attempt timeout");
        assert!(matches!(unanswered(&t), Some(MailError::Unknown(_))));
        let s: SdkError<SendEmailError, ()> = SdkError::service_error(
            SendEmailError::generic(ErrorMetadata::builder().code("Throttling").build()),
            (),
        );
        assert!(
            unanswered(&s).is_none(),
            "a service error is sorted by code"
        );
    }
}
