//! Okta System Log events, from the System Log API (`/api/v1/logs`: an array, one object or
//! NDJSON) or from an event hook (`{"data":{"events":[…]}}`).

use serde::Deserialize;
use serde_json::Value;

use seam_model::{Activity, EventClass, Outcome};

use crate::common::{self, RecordResult};
use crate::{Batch, ParseContext, timefmt};

const NAME: &str = "okta";

pub(crate) fn parse(input: &[u8], ctx: &ParseContext) -> Batch {
    common::parse_json(input, ctx, &[&["data", "events"]], |value, raw| {
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
    #[serde(rename = "type")]
    kind: Option<String>,
    display_name: Option<String>,
}

/// The event types Seam reads, and what each is.
fn activity_of(event_type: &str) -> Option<Activity> {
    Some(match event_type {
        "user.session.start"
        | "user.authentication.sso"
        | "user.authentication.auth_via_IDP"
        | "user.authentication.auth_via_social"
        | "user.authentication.auth_via_radius" => Activity::Logon,
        "user.session.end" => Activity::Logoff,
        "user.authentication.auth_via_mfa" | "user.authentication.verify" => Activity::Mfa,
        _ => return None,
    })
}

fn parse_record(value: &Value, raw: &[u8], ctx: &ParseContext) -> RecordResult {
    if !value.is_object() {
        return Err("an Okta log event must be a JSON object".to_string());
    }
    let event: LogEvent = common::typed(value)?;
    let event_type = event
        .event_type
        .as_deref()
        .ok_or("no `eventType`: not an Okta log event")?;
    let Some(activity) = activity_of(event_type) else {
        return Ok(None);
    };
    let published = event.published.as_deref().ok_or("no `published` time")?;
    let time = timefmt::rfc3339(published)?;
    let uid = common::uid_or_digest(event.uuid.as_deref(), NAME, raw);
    let mut out = common::new_event(ctx, uid, time, EventClass::Authentication, activity);
    let outcome = event.outcome.unwrap_or_default();
    out.outcome = match outcome.result.as_deref() {
        Some("SUCCESS" | "ALLOW") => Outcome::Success,
        Some("FAILURE" | "DENY") => Outcome::Failure,
        _ => Outcome::Unknown,
    };
    out.reason = common::clean(outcome.reason.as_deref());
    if let Some(actor) = event.actor {
        out.subject.user = common::clean(actor.alternate_id.as_deref());
        out.subject.idp_id = common::clean(actor.id.as_deref());
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
        out.app = event
            .target
            .unwrap_or_default()
            .into_iter()
            .find_map(|target| {
                (target.kind.as_deref() == Some("AppInstance"))
                    .then(|| common::clean(target.display_name.as_deref()))
                    .flatten()
            });
    }
    out.raw = Some(value.clone());
    Ok(Some(out))
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
    fn a_policy_evaluation_is_skipped_and_a_non_object_rejected() {
        let ctx = ParseContext::new("okta", seam_model::Ts(1_772_442_000_000));
        let batch = parse(
            br#"[{"eventType":"policy.evaluate_sign_on","published":"2026-03-02T09:00:00Z"}, 5]"#,
            &ctx,
        );
        assert_eq!(batch.skipped, 1);
        assert_eq!(batch.rejected.len(), 1);
        assert_eq!(batch.rejected[0].index, 2);
        assert_eq!(
            batch.rejected[0].reason,
            "an Okta log event must be a JSON object"
        );
    }
}
