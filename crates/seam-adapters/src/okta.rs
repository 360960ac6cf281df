//! Okta System Log events, from the System Log API (`/api/v1/logs`: an array, one object or
//! NDJSON) or from an event hook (`{"data":{"events":[…]}}`).

use serde::Deserialize;
use serde_json::Value;

use seam_model::{Activity, EventClass, Outcome};

use crate::common::{self, Read, RecordResult};
use crate::{Batch, ParseContext, timefmt};

const NAME: &str = "okta";

pub(crate) fn parse(input: &[u8], ctx: &ParseContext) -> Batch {
    common::parse_json_owned(input, ctx, &[&["data", "events"]], |value, raw| {
        parse_record(value, raw, ctx)
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct LogEvent {
    uuid: Option<String>,
    published: Option<String>,
    event_type: Option<String>,
    actor: Option<Actor>,
    client: Option<Client>,
    outcome: Option<OutcomeBlock>,
    target: Option<Vec<Target>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Actor {
    id: Option<String>,
    alternate_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Client {
    ip_address: Option<String>,
    geographical_context: Option<Geo>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Geo {
    city: Option<String>,
    country: Option<String>,
    geolocation: Option<LatLon>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct LatLon {
    lat: Option<f64>,
    lon: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct OutcomeBlock {
    result: Option<String>,
    reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Target {
    id: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    alternate_id: Option<String>,
    display_name: Option<String>,
}

/// What an Okta event type is, as an OCSF class and activity. Every event type is kept:
/// sign-ins and sessions are authentication; what happens to an account (its lifecycle, its
/// password, its factors) is an account change; what happens to groups, applications,
/// policies, zones and the tenant's settings is entity management; the rest (API tokens,
/// security and system events) is API activity. A Sigma rule reads the whole record through
/// its Okta field names whatever the class.
fn class_of(event_type: &str) -> (EventClass, Activity) {
    use Activity as A;
    use EventClass as C;
    let auth = |activity| (C::Authentication, activity);
    let account = |activity| (C::AccountChange, activity);
    let entity = |activity| (C::EntityManagement, activity);
    match event_type {
        "user.session.start"
        | "user.authentication.sso"
        | "user.authentication.auth_via_IDP"
        | "user.authentication.auth_via_social"
        | "user.authentication.auth_via_radius"
        | "user.authentication.auth_via_AD_agent"
        | "user.authentication.auth_via_LDAP_agent"
        | "user.authentication.auth_via_inbound_SAML"
        | "user.authentication.auth_via_richclient"
        | "user.authentication.auth"
        | "user.session.access_admin_app" => auth(A::Logon),
        "user.session.end" | "user.session.clear" | "user.session.expire" => auth(A::Logoff),
        "user.authentication.auth_via_mfa"
        | "user.authentication.verify"
        | "user.mfa.okta_verify"
        | "user.mfa.okta_verify.deny_push"
        | "user.mfa.attempt_bypass" => auth(A::Mfa),
        "user.lifecycle.create" => account(A::AccountCreated),
        "user.lifecycle.activate" | "user.lifecycle.reactivate" | "user.lifecycle.unsuspend" => {
            account(A::AccountEnabled)
        }
        "user.lifecycle.deactivate" | "user.lifecycle.suspend" => account(A::AccountDisabled),
        "user.lifecycle.delete.initiated" | "user.lifecycle.delete.completed" => {
            account(A::AccountDeleted)
        }
        "user.account.update_password" | "user.credential.update" => account(A::PasswordChanged),
        "user.account.reset_password"
        | "user.lifecycle.password_reset"
        | "user.account.unlock_token"
        | "user.credential.forgot_password" => account(A::PasswordReset),
        "user.account.lock" | "user.account.lock.limit" => account(A::AccountLocked),
        "user.account.unlock" | "user.account.unlock_by_admin" => account(A::AccountUnlocked),
        "user.mfa.factor.activate" | "user.mfa.factor.update" => account(A::MfaEnrolled),
        "user.mfa.factor.deactivate" | "user.mfa.factor.reset_all" | "user.mfa.factor.suspend" => {
            account(A::MfaRemoved)
        }
        "group.user_membership.add" | "application.user_membership.add" => {
            account(A::PolicyAttached)
        }
        "group.user_membership.remove" | "application.user_membership.remove" => {
            account(A::PolicyDetached)
        }
        other if other.starts_with("user.") && !other.starts_with("user.authentication.") => {
            if other.starts_with("user.session.") {
                auth(A::AuthOther)
            } else {
                account(A::AccountOther)
            }
        }
        other if other.starts_with("user.authentication.") => auth(A::AuthOther),
        other if ENTITY_PREFIXES.iter().any(|p| other.starts_with(p)) => {
            entity(entity_activity(other))
        }
        _ => (C::ApiActivity, A::ApiCall),
    }
}

/// Event type prefixes of things an administrator manages.
const ENTITY_PREFIXES: &[&str] = &[
    "group.",
    "application.",
    "app.",
    "policy.",
    "zone.",
    "network_zone.",
    "org.",
    "system.org.",
    "system.idp.",
    "system.mfa.factor.",
    "system.role.",
    "iam.",
    "device.",
    "inline_hook.",
    "event_hook.",
];

/// The entity-management activity an event type's last words name.
fn entity_activity(event_type: &str) -> Activity {
    let words: Vec<&str> = event_type.rsplit('.').take(2).collect();
    let has = |candidates: &[&str]| words.iter().any(|w| candidates.contains(w));
    if has(&["create", "add", "import"]) {
        Activity::EntityCreated
    } else if has(&["delete", "remove"]) {
        Activity::EntityDeleted
    } else if has(&["activate", "enable", "reactivate"]) {
        Activity::EntityEnabled
    } else if has(&["deactivate", "disable", "suspend"]) {
        Activity::EntityDisabled
    } else if has(&["update", "change", "modify", "rename", "lifecycle"]) {
        Activity::EntityUpdated
    } else if has(&["read", "list", "get", "export"]) {
        Activity::EntityRead
    } else {
        Activity::EntityOther
    }
}

fn parse_record(value: Value, raw: &[u8], ctx: &ParseContext) -> RecordResult {
    if !value.is_object() {
        return Err("an Okta log event must be a JSON object".to_string());
    }
    let event: LogEvent = common::typed(&value)?;
    let event_type = event
        .event_type
        .as_deref()
        .ok_or("no `eventType`: not an Okta log event")?;
    let (class, activity) = class_of(event_type);
    let published = event.published.as_deref().ok_or("no `published` time")?;
    let time = timefmt::rfc3339(published)?;
    let uid = common::uid_or_digest(event.uuid.as_deref(), NAME, raw);
    let mut out = common::new_event(ctx, uid, time, class, activity);
    let outcome = event.outcome.unwrap_or_default();
    out.outcome = match outcome.result.as_deref() {
        Some("SUCCESS" | "ALLOW") => Outcome::Success,
        Some("FAILURE" | "DENY") => Outcome::Failure,
        _ => Outcome::Unknown,
    };
    out.reason = common::clean(outcome.reason.as_deref());
    let targets = event.target.unwrap_or_default();
    // An account change is about the account it changed: the target user when there is one
    // (an administrator unlocking it), else the actor (a user changing her own password). The
    // actor stays in the record, which rules read.
    let target_user = targets
        .iter()
        .find(|t| t.kind.as_deref() == Some("User"))
        .filter(|_| class == EventClass::AccountChange);
    match (target_user, event.actor) {
        (Some(target), _) => {
            out.subject.user = common::clean(target.alternate_id.as_deref());
            out.subject.idp_id = common::clean(target.id.as_deref());
        }
        (None, Some(actor)) => {
            out.subject.user = common::clean(actor.alternate_id.as_deref());
            out.subject.idp_id = common::clean(actor.id.as_deref());
        }
        (None, None) => {}
    }
    if let Some(client) = event.client {
        out.src.ip = common::ip(client.ip_address.as_deref());
        if let Some(geo) = client.geographical_context {
            out.src.city = common::clean(geo.city.as_deref());
            out.src.country = common::clean(geo.country.as_deref());
            if let Some(point) = geo.geolocation {
                let lat = common::coordinate(point.lat, 90.0);
                let lon = common::coordinate(point.lon, 180.0);
                if lat.is_some() && lon.is_some() {
                    out.src.lat = lat;
                    out.src.lon = lon;
                }
            }
        }
    }
    if activity == Activity::Mfa {
        out.mfa = Some(true);
    }
    if event_type == "user.authentication.sso" {
        out.app = targets.iter().find_map(|target| {
            (target.kind.as_deref() == Some("AppInstance"))
                .then(|| common::clean(target.display_name.as_deref()))
                .flatten()
        });
    }
    out.raw = Some(value);
    Ok(Read::Event(out))
}

/// Why a verification challenge cannot be answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChallengeError {
    #[error("the `X-Okta-Verification-Challenge` header is empty")]
    Empty,
    #[error("the verification challenge is longer than {max} bytes")]
    TooLong { max: usize },
    #[error("the verification challenge has characters other than visible ASCII")]
    Invalid,
}

/// The body that answers Okta's one-time event hook verification: the value of the
/// `X-Okta-Verification-Challenge` header echoed as `{"verification":"…"}`.
pub fn verification_response(challenge_header: &str) -> Result<String, ChallengeError> {
    const MAX: usize = 1024;
    let challenge = challenge_header.trim();
    if challenge.is_empty() {
        return Err(ChallengeError::Empty);
    }
    if challenge.len() > MAX {
        return Err(ChallengeError::TooLong { max: MAX });
    }
    if !challenge.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ChallengeError::Invalid);
    }
    Ok(serde_json::json!({ "verification": challenge }).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verification_echoes_the_challenge() {
        assert_eq!(
            verification_response(" X4Gn-9q_aB ").unwrap(),
            r#"{"verification":"X4Gn-9q_aB"}"#
        );
        assert_eq!(verification_response(""), Err(ChallengeError::Empty));
        assert_eq!(
            verification_response("a\"b c"),
            Err(ChallengeError::Invalid)
        );
        assert_eq!(
            verification_response(&"a".repeat(2000)),
            Err(ChallengeError::TooLong { max: 1024 })
        );
    }

    #[test]
    fn every_event_type_is_kept_and_a_non_object_rejected() {
        let ctx = ParseContext::new("okta", seam_model::Ts(1_772_442_000_000));
        let batch = parse(
            br#"[{"eventType":"policy.evaluate_sign_on","published":"2026-03-02T09:00:00Z"}, 5]"#,
            &ctx,
        );
        assert_eq!(batch.skipped, 0);
        assert_eq!(batch.events.len(), 1);
        assert_eq!(batch.events[0].class, EventClass::EntityManagement);
        assert!(batch.events[0].raw.is_some());
        assert_eq!(batch.rejected.len(), 1);
        assert_eq!(batch.rejected[0].index, 2);
        assert_eq!(
            batch.rejected[0].reason,
            "an Okta log event must be a JSON object"
        );
    }

    #[test]
    fn event_types_map_to_the_ocsf_class_that_fits() {
        use Activity as A;
        use EventClass as C;
        for (event_type, expected) in [
            ("user.session.start", (C::Authentication, A::Logon)),
            ("user.session.end", (C::Authentication, A::Logoff)),
            (
                "user.authentication.auth_via_mfa",
                (C::Authentication, A::Mfa),
            ),
            (
                "user.authentication.auth_via_unknown",
                (C::Authentication, A::AuthOther),
            ),
            (
                "user.session.impersonation.grant",
                (C::Authentication, A::AuthOther),
            ),
            (
                "user.lifecycle.create",
                (C::AccountChange, A::AccountCreated),
            ),
            (
                "user.lifecycle.suspend",
                (C::AccountChange, A::AccountDisabled),
            ),
            ("user.account.lock", (C::AccountChange, A::AccountLocked)),
            (
                "user.account.reset_password",
                (C::AccountChange, A::PasswordReset),
            ),
            (
                "user.mfa.factor.deactivate",
                (C::AccountChange, A::MfaRemoved),
            ),
            (
                "user.account.privilege.grant",
                (C::AccountChange, A::AccountOther),
            ),
            (
                "group.user_membership.add",
                (C::AccountChange, A::PolicyAttached),
            ),
            (
                "application.lifecycle.create",
                (C::EntityManagement, A::EntityCreated),
            ),
            (
                "policy.lifecycle.update",
                (C::EntityManagement, A::EntityUpdated),
            ),
            ("zone.delete", (C::EntityManagement, A::EntityDeleted)),
            ("system.api_token.create", (C::ApiActivity, A::ApiCall)),
            ("security.threat.detected", (C::ApiActivity, A::ApiCall)),
        ] {
            let (class, activity) = class_of(event_type);
            assert_eq!((class, activity), expected, "{event_type}");
            assert!(class.admits(activity), "{event_type}");
        }
    }

    #[test]
    fn an_account_change_is_about_the_account_it_changed() {
        let ctx = ParseContext::new("okta", seam_model::Ts(1_772_442_000_000));
        let batch = parse(
            br#"{"uuid":"u1","eventType":"user.account.unlock_by_admin","published":"2026-03-02T09:00:00Z",
                 "actor":{"id":"00uadmin","alternateId":"admin@example.com","type":"User"},
                 "target":[{"id":"00ualice","alternateId":"alice@example.com","type":"User"}],
                 "outcome":{"result":"SUCCESS"}}"#,
            &ctx,
        );
        assert_eq!(batch.events.len(), 1, "{batch:?}");
        let event = &batch.events[0];
        assert_eq!(event.activity, Activity::AccountUnlocked);
        assert_eq!(event.subject.user.as_deref(), Some("alice@example.com"));
        let raw = event
            .raw
            .as_ref()
            .map(|r| r["actor"]["alternateId"].clone());
        assert_eq!(raw, Some(serde_json::json!("admin@example.com")));
    }
}
