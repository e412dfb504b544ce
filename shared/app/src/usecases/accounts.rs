//! Profiles and top-ups.

use super::input::fields;
use crate::app::{App, Outcome};
use crate::caller::Caller;
use crate::error::{AppError, AppResult};
use crate::ids::new_id;
use crate::ports::{Locale, Profile, UnitOfWork, Write};
use khamsa_domain::DomainError;
use khamsa_domain::ids::TopupId;
use khamsa_domain::text::{EmailAddress, Text};
use khamsa_domain::withdrawal::{Topup, TopupMethod};

const DISPLAY_NAME_MAX: usize = 60;

/// Makes sure the caller has a profile, reading it only the first time a
/// process sees this caller with this email.
pub async fn ensure_known(app: &App, caller: &Caller) -> AppResult<()> {
    if !app.known_callers.contains(caller) {
        ensure_profile(app, caller).await?;
        app.known_callers.insert(caller);
    }
    Ok(())
}

/// A user's profile is created on their first authenticated call, and its
/// email follows the token's `email` claim.
pub async fn ensure_profile(app: &App, caller: &Caller) -> AppResult<Profile> {
    let existing = app.store.profile(&caller.id).await?;
    let claimed = caller
        .email
        .as_deref()
        .and_then(|e| EmailAddress::parse("email", e).ok());
    let wanted = match (&existing, claimed) {
        (Some(p), Some(email)) if p.email != email => Profile { email, ..p.clone() },
        (Some(p), _) => return Ok(p.clone()),
        (None, email) => Profile {
            id: caller.id.clone(),
            email: email.ok_or_else(|| {
                AppError::Domain(DomainError::invalid(
                    "email",
                    "the token carries no usable email claim",
                ))
            })?,
            display_name: caller.id.to_string(),
            locale: Locale::Ar,
            paypal_email: None,
            created_at: app.now(),
            version: 0,
        },
    };
    let uow = UnitOfWork {
        writes: vec![Write::Profile(wanted.clone())],
        ..Default::default()
    };
    match app.commit(uow, None).await {
        Ok(()) => Ok(Profile {
            version: wanted.version + 1,
            ..wanted
        }),
        // Two first calls at once: the other one created it.
        Err(AppError::Busy) => app.store.profile(&caller.id).await?.ok_or(AppError::Busy),
        Err(e) => Err(e),
    }
}

pub async fn update_profile(
    app: &App,
    caller: &Caller,
    body: &[u8],
) -> AppResult<Outcome<Profile>> {
    let mut p = ensure_profile(app, caller).await?;
    let f = fields(body)?;
    if let Some(name) = f.opt_str("display_name")? {
        p.display_name = Text::parse_line("display_name", &name, DISPLAY_NAME_MAX)?.into_string();
    }
    if let Some(locale) = f.opt_str("locale")? {
        p.locale = match locale.as_str() {
            "ar" => Locale::Ar,
            "en" => Locale::En,
            _ => return Err(DomainError::invalid("locale", "must be \"ar\" or \"en\"").into()),
        };
    }
    if let Some(pp) = f.nullable_str("paypal_email")? {
        p.paypal_email = pp
            .map(|e| EmailAddress::parse("paypal_email", &e))
            .transpose()?;
    }
    let uow = UnitOfWork {
        writes: vec![Write::Profile(p.clone())],
        ..Default::default()
    };
    p.version += 1;
    Ok(Outcome::new(p, uow))
}

pub async fn topup(app: &App, caller: &Caller, body: &[u8]) -> AppResult<Outcome<Topup>> {
    let f = fields(body)?;
    let amount = f.money("amount")?;
    let method = f.str("method")?.parse::<TopupMethod>()?;
    let now = app.now();
    let (topup, posting) = Topup::create(
        TopupId::new(new_id("top", now)),
        &caller.id,
        amount,
        method,
        now,
        &app.cfg,
    )?;
    let uow = UnitOfWork {
        writes: vec![Write::Topup(topup.clone())],
        postings: posting.into_iter().collect(),
        ..Default::default()
    };
    Ok(Outcome::new(topup, uow))
}
