//! strum spells the names that keys, filters and messages use; serde the
//! ones stored and sent as JSON. Both must spell every variant alike.

use khamsa_domain::ledger::UserAccount;
use khamsa_domain::order::{OrderStatus, TimerKind};
use khamsa_domain::request::RequestStatus;
use khamsa_domain::service::ServiceStatus;
use khamsa_domain::withdrawal::WithdrawalStatus;
use serde::de::value::{Error, StrDeserializer};
use serde::de::{DeserializeOwned, IntoDeserializer};
use std::fmt::{Debug, Display};

fn serde_reads_the_strum_name<T>(all: &[T])
where
    T: Copy + Debug + Display + PartialEq + DeserializeOwned,
{
    for &v in all {
        let name = v.to_string();
        let de: StrDeserializer<'_, Error> = name.as_str().into_deserializer();
        assert_eq!(T::deserialize(de), Ok(v), "{name}");
    }
}

#[test]
fn strum_and_serde_name_every_variant_alike() {
    serde_reads_the_strum_name(&[
        OrderStatus::AwaitingInstructions,
        OrderStatus::InProgress,
        OrderStatus::Delivered,
        OrderStatus::Completed,
        OrderStatus::Cancelled,
    ]);
    serde_reads_the_strum_name(&[
        TimerKind::AutoCancel,
        TimerKind::AutoComplete,
        TimerKind::Reminder,
        TimerKind::Clearing,
        TimerKind::FilesExpire,
    ]);
    serde_reads_the_strum_name(&UserAccount::ALL);
    serde_reads_the_strum_name(&[RequestStatus::Open, RequestStatus::Closed]);
    serde_reads_the_strum_name(&[
        ServiceStatus::PendingReview,
        ServiceStatus::Active,
        ServiceStatus::Paused,
        ServiceStatus::Rejected,
    ]);
    serde_reads_the_strum_name(&[
        WithdrawalStatus::Requested,
        WithdrawalStatus::Approved,
        WithdrawalStatus::Processing,
        WithdrawalStatus::Paid,
        WithdrawalStatus::Rejected,
        WithdrawalStatus::Failed,
    ]);
}

#[test]
fn an_unknown_status_keeps_its_message() {
    let err = "lost".parse::<OrderStatus>().unwrap_err();
    assert_eq!(err.to_string(), "status: unknown order status");
    let err = "lost".parse::<ServiceStatus>().unwrap_err();
    assert_eq!(err.to_string(), "status: unknown service status");
}
