//! The caller, read from the claims API Gateway's JWT authorizer puts in
//! the request context. The local server verifies its own tokens and puts
//! the same claims in the same place, so this code cannot tell the two
//! apart. No handler ever takes "who am I" from a body or a path.

use khamsa_app::Caller;
use khamsa_domain::ids::UserId;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

pub const OPERATORS_GROUP: &str = "operators";

pub fn caller(req: &Request) -> Option<Caller> {
    let Some(RequestContext::ApiGatewayV2(ctx)) = req.request_context_ref() else {
        return None;
    };
    let claims = &ctx.authorizer.as_ref()?.jwt.as_ref()?.claims;
    let sub = claims.get("sub").filter(|s| !s.is_empty())?;
    Some(Caller {
        id: UserId::new(sub.clone()),
        // An address the user has not proved is never written to the
        // profile, so no one can aim the site's email at someone else.
        email: claims
            .get("email")
            .filter(|_| claims.get("email_verified").is_some_and(|v| is_true(v)))
            .cloned(),
        operator: claims
            .get("cognito:groups")
            .is_some_and(|g| in_group(g, OPERATORS_GROUP)),
    })
}

/// Cognito's ID token has `email_verified` as a JSON boolean, which API
/// Gateway hands on as the string `true`; some pools send the string itself.
fn is_true(claim: &str) -> bool {
    claim.trim_matches('"').eq_ignore_ascii_case("true")
}

/// API Gateway flattens list claims into a string such as
/// `[operators sellers]`; a JSON array string is accepted too.
fn in_group(claim: &str, group: &str) -> bool {
    claim
        .trim_matches(|c| c == '[' || c == ']')
        .split(|c: char| c == ',' || c.is_whitespace())
        .map(|g| g.trim_matches('"'))
        .any(|g| g == group)
}

#[cfg(test)]
mod tests {
    use super::{in_group, is_true};

    #[test]
    fn email_verified_claim_forms() {
        assert!(is_true("true"));
        assert!(is_true("\"true\""));
        assert!(is_true("TRUE"));
        for no in ["false", "", "1", "yes", "\"false\""] {
            assert!(!is_true(no), "{no:?}");
        }
    }

    #[test]
    fn groups_claim_forms() {
        assert!(in_group("[operators]", "operators"));
        assert!(in_group("[sellers operators]", "operators"));
        assert!(in_group("[\"a\",\"operators\"]", "operators"));
        assert!(in_group("operators", "operators"));
        assert!(!in_group("[operatorsx]", "operators"));
        assert!(!in_group("", "operators"));
    }
}
