//! Every default of product.md's rules table, in one overridable struct.

use crate::money::Money;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    pub service_price_min: Money,
    pub service_price_max: Money,
    pub service_price_step: Money,
    pub upgrades_max: usize,
    pub upgrade_price_min: Money,
    pub upgrade_price_max: Money,
    pub upgrade_price_step: Money,
    pub upgrade_extra_days_max: u32,
    pub quantity_max: u32,
    pub delivery_days_min: u32,
    pub delivery_days_max: u32,
    /// The platform's share of an order total, e.g. 0.20.
    pub fee_rate: Decimal,
    /// An in-progress order is cancelled this many days after `due_at`.
    pub auto_cancel_late_days: u32,
    /// An order awaiting instructions is cancelled this many days after placement.
    pub auto_cancel_no_instructions_days: u32,
    /// A delivered order completes by itself after this many days.
    pub auto_complete_days: u32,
    /// The buyer is reminded this many hours before the auto-complete.
    pub reminder_hours_before_complete: u32,
    /// Seller's net stays pending this many days after completion.
    pub clearing_days: u32,
    pub withdrawal_min: Money,
    /// Withdrawals up to this are approved as they are requested; 0.00
    /// (the default) leaves every one to an operator.
    pub auto_approve_withdrawal_max: Money,
    pub topup_min: Money,
    pub topup_max: Money,
    /// Top-ups a user may have waiting for the provider at once.
    pub topups_pending_max: usize,
    /// A provider top-up not captured within this many hours expires.
    pub topup_expiry_hours: u32,
    pub review_window_days: u32,
    pub review_text_max: usize,
    pub title_max: usize,
    pub description_max: usize,
    pub message_max: usize,
    pub request_budget_max: Money,
    pub categories: Vec<String>,
    /// How many sub-accounts the platform's revenue is spread over.
    pub platform_shards: u8,
    /// Whether the `sandbox` top-up method (money with no payment behind
    /// it) is accepted: on for the local server, off in a deployed stack.
    pub sandbox_topups: bool,
    /// Files on messages and deliveries (product.md "Files").
    pub file_max_bytes: u64,
    pub files_per_item: usize,
    /// Content types an upload may declare; the download is always served
    /// as an attachment, so none is ever rendered inline.
    pub file_types: Vec<String>,
    /// How long a presigned upload or download URL is valid.
    pub file_url_seconds: u32,
    /// An ended order's files are deleted this many days after it ended.
    pub files_keep_days: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            service_price_min: Money::dollars(5),
            service_price_max: Money::dollars(25),
            service_price_step: Money::dollars(5),
            upgrades_max: 5,
            upgrade_price_min: Money::dollars(5),
            upgrade_price_max: Money::dollars(100),
            upgrade_price_step: Money::dollars(5),
            upgrade_extra_days_max: 30,
            quantity_max: 10,
            delivery_days_min: 1,
            delivery_days_max: 30,
            fee_rate: Decimal::new(20, 2),
            auto_cancel_late_days: 3,
            auto_cancel_no_instructions_days: 7,
            auto_complete_days: 3,
            reminder_hours_before_complete: 24,
            clearing_days: 14,
            withdrawal_min: Money::dollars(10),
            auto_approve_withdrawal_max: Money::ZERO,
            topup_min: Money::dollars(1),
            topup_max: Money::dollars(1000),
            topups_pending_max: 5,
            topup_expiry_hours: 3,
            review_window_days: 30,
            review_text_max: 1000,
            title_max: 120,
            description_max: 5000,
            message_max: 5000,
            request_budget_max: Money::dollars(10_000),
            categories: [
                "design",
                "writing-translation",
                "marketing",
                "programming",
                "video",
                "audio",
                "business",
                "engineering",
                "teaching",
                "data",
                "lifestyle",
            ]
            .map(String::from)
            .to_vec(),
            platform_shards: 16,
            sandbox_topups: true,
            file_max_bytes: 25 * 1024 * 1024,
            files_per_item: 10,
            file_types: [
                "image/png",
                "image/jpeg",
                "image/gif",
                "image/webp",
                "image/svg+xml",
                "application/pdf",
                "application/msword",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                "application/vnd.ms-excel",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "application/vnd.ms-powerpoint",
                "application/vnd.openxmlformats-officedocument.presentationml.presentation",
                "text/plain",
                "audio/mpeg",
                "audio/wav",
                "audio/ogg",
                "audio/mp4",
                "video/mp4",
                "video/webm",
                "video/quicktime",
                "application/zip",
            ]
            .map(String::from)
            .to_vec(),
            file_url_seconds: 300,
            files_keep_days: 90,
        }
    }
}
