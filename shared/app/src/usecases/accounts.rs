//! Profiles, and the paths top-ups had.

use super::input::{Body, Input, nullable};
use crate::app::{App, Outcome};
use crate::caller::Caller;
use crate::error::{AppError, AppResult};
use crate::ports::{Balances, LedgerLine, Locale, Page, PageReq, Profile, UnitOfWork, Write};
use khamsa_domain::notice::{EmailPrefs, EmailTopic};
use khamsa_domain::text::{EmailAddress, Text};
use khamsa_domain::{Config, DomainError, DomainResult};
use serde::Deserialize;

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

/// The name a new profile starts with: the verified email's local part
/// (not the token's opaque `sub`, which emails would greet), cut to the
/// display name's bound; the user can change it with `PATCH /me`.
fn first_display_name(email: &EmailAddress) -> String {
    match Text::parse_line("display_name", email.local_part(), DISPLAY_NAME_MAX) {
        Ok(t) => t.into_string(),
        Err(_) => email.local_part().chars().take(DISPLAY_NAME_MAX).collect(),
    }
}

/// A user's profile is created on their first authenticated call, and its
/// email follows the token's verified `email` claim. A token without one
/// keeps the address the profile has; a new user without one is refused
/// (`403 email_unverified`): we never send to an address not proved.
pub async fn ensure_profile(app: &App, caller: &Caller) -> AppResult<Profile> {
    let existing = app.store.profile(&caller.id).await?;
    let claimed = caller
        .email
        .as_deref()
        .and_then(|e| EmailAddress::parse("email", e).ok());
    let wanted = match (&existing, claimed) {
        (Some(p), Some(email)) if p.email != email => Profile { email, ..p.clone() },
        (Some(p), _) => return Ok(p.clone()),
        (None, email) => {
            let email = email.ok_or(AppError::EmailUnverified)?;
            Profile {
                id: caller.id.clone(),
                display_name: first_display_name(&email),
                email,
                locale: Locale::Ar,
                paypal_email: None,
                created_at: app.now(),
                payment_hold: false,
                email_prefs: EmailPrefs::default(),
                version: 0,
            }
        }
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

/// `PATCH /me`: what the caller asked to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileEdit {
    pub display_name: Option<Text>,
    pub locale: Option<Locale>,
    /// `Some(None)` clears it.
    pub paypal_email: Option<Option<EmailAddress>>,
    /// Only the topics named change.
    pub email_prefs: Option<PrefsJson>,
}

#[derive(Deserialize)]
pub struct ProfileJson {
    display_name: Option<String>,
    locale: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    paypal_email: Option<Option<String>>,
    email_prefs: Option<PrefsJson>,
}

/// `{"email_prefs": {"offers": false}}`: each optional email by topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrefsJson {
    moderation: Option<bool>,
    offers: Option<bool>,
    reviews: Option<bool>,
    messages: Option<bool>,
}

impl PrefsJson {
    fn apply(self, p: &mut EmailPrefs) {
        p.moderation = self.moderation.unwrap_or(p.moderation);
        p.offers = self.offers.unwrap_or(p.offers);
        p.reviews = self.reviews.unwrap_or(p.reviews);
        p.messages = self.messages.unwrap_or(p.messages);
    }
}

impl Body for ProfileEdit {
    type Json = ProfileJson;
    fn check(j: ProfileJson, _: &Config) -> DomainResult<Self> {
        Ok(ProfileEdit {
            display_name: j
                .display_name
                .map(|n| Text::parse_line("display_name", &n, DISPLAY_NAME_MAX))
                .transpose()?,
            locale: j
                .locale
                .map(|l| match l.as_str() {
                    "ar" => Ok(Locale::Ar),
                    "en" => Ok(Locale::En),
                    _ => Err(DomainError::invalid("locale", "must be \"ar\" or \"en\"")),
                })
                .transpose()?,
            paypal_email: j
                .paypal_email
                .map(|e| {
                    e.map(|e| EmailAddress::parse("paypal_email", &e))
                        .transpose()
                })
                .transpose()?,
            email_prefs: j.email_prefs,
        })
    }
}

/// A profile with the balances shown beside it.
pub type Me = (Profile, Balances);

/// `GET /me`.
pub async fn me(app: &App, caller: &Caller) -> AppResult<Me> {
    let p = ensure_profile(app, caller).await?;
    Ok((p, app.store.balances(&caller.id).await?))
}

pub async fn update_profile(
    app: &App,
    caller: &Caller,
    edit: Input<ProfileEdit>,
) -> AppResult<Outcome<Me>> {
    let mut p = ensure_profile(app, caller).await?;
    let edit = edit?;
    if let Some(name) = edit.display_name {
        p.rename(name);
    }
    if let Some(locale) = edit.locale {
        p.locale = locale;
    }
    if let Some(pp) = edit.paypal_email {
        p.paypal_email = pp;
    }
    if let Some(prefs) = edit.email_prefs {
        prefs.apply(&mut p.email_prefs);
    }
    let balances = app.store.balances(&caller.id).await?;
    let uow = UnitOfWork {
        writes: vec![Write::Profile(p.clone())],
        ..Default::default()
    };
    p.version += 1;
    Ok(Outcome::new((p, balances), uow))
}

/// `GET /me/ledger`: every movement of the caller's accounts.
pub async fn ledger(app: &App, caller: &Caller, page: &PageReq) -> AppResult<Page<LedgerLine>> {
    Ok(app.store.ledger(&caller.id, page).await?)
}

// Top-ups live in `topups` (issue 8); these paths stay for callers.
pub use super::topups::{TopupRequest, topup};

/// `POST /unsubscribe?token=`: the one-click link of an optional email
/// (RFC 8058) turns that topic off for the user it names. No sign-in: the
/// signed token is the authority, and it can do nothing else. A token we
/// did not sign, or one altered, is `400 invalid_unsubscribe_token` and
/// changes nothing. Idempotent: a topic already off is left as it is.
pub async fn unsubscribe(app: &App, token: &str) -> AppResult<(EmailTopic, EmailPrefs)> {
    let (user, topic) = app.unsubscribe.verify(token).ok_or_else(|| {
        AppError::bad_request(
            "invalid_unsubscribe_token",
            "this unsubscribe link is not one we sent",
        )
    })?;
    let mut p = app
        .store
        .profile(&user)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    if !p.email_prefs.wants_topic(topic) {
        return Ok((topic, p.email_prefs));
    }
    p.email_prefs.set(topic, false);
    let prefs = p.email_prefs;
    app.commit(
        UnitOfWork {
            writes: vec![Write::Profile(p)],
            ..Default::default()
        },
        None,
    )
    .await?;
    tracing::info!(user = %user, topic = crate::unsubscribe::topic_name(topic), "unsubscribed");
    Ok((topic, prefs))
}
