//! Khamsa's production adapters, behind the ports of `khamsa-app`:
//! DynamoDB for the `Store`, SES for the `Mailer`, SQS for the `Notifier`
//! and `Scheduler`, and the workers that consume the queues.

pub mod dynamo;
pub mod https;
pub mod mime;
pub mod s3;
pub mod ses;
pub mod sqs;
pub mod workers;
