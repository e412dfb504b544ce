//! Who is calling: only ever the authenticated token's subject.

use khamsa_domain::ids::UserId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub id: UserId,
    /// The token's `email` claim, only when `email_verified` is true; the
    /// profile's email follows it. `None` keeps the profile's address.
    pub email: Option<String>,
    /// Carries the `operators` group.
    pub operator: bool,
}
