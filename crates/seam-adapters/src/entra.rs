//! Microsoft Entra ID sign-in and audit logs in both shapes: the Azure Monitor export
//! (diagnostic settings to Event Hub or storage: `{"records":[…]}` or one record per line, the
//! record in `properties`) and Microsoft Graph (`auditLogs/signIns` and
//! `auditLogs/directoryAudits`: `{"value":[…]}` or one object). A directory audit (an
//! `activityDisplayName`, or the `AuditLogs` category) is an account change when it changes a
//! user, entity management when it changes a group, an application, a role or a policy, and
//! API activity otherwise.

use serde::Deserialize;
use serde_json::Value;

use seam_model::{Activity, EventClass, Outcome};

use crate::common::{self, Read, RecordResult};
use crate::{Batch, ParseContext, timefmt};

const NAME: &str = "entra";

pub(crate) fn parse(input: &[u8], ctx: &ParseContext) -> Batch {
    common::parse_json(input, ctx, &[&["records"], &["value"]], |value, raw| {
        parse_record(value, raw, ctx)
    })
}

/// The Azure Monitor envelope around a sign-in.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Envelope {
    time: Option<String>,
    category: Option<String>,
    correlation_id: Option<String>,
    caller_ip_address: Option<String>,
    properties: Option<Value>,
}

/// A sign-in (Graph `signIn`, or the envelope's `properties`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct SignIn {
    id: Option<String>,
    correlation_id: Option<String>,
    created_date_time: Option<String>,
    user_principal_name: Option<String>,
    user_id: Option<String>,
    service_principal_name: Option<String>,
    service_principal_id: Option<String>,
    app_display_name: Option<String>,
    ip_address: Option<String>,
    status: Option<Status>,
    location: Option<Location>,
    device_detail: Option<DeviceDetail>,
    authentication_requirement: Option<String>,
    mfa_detail: Option<MfaDetail>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Status {
    error_code: Option<i64>,
    failure_reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Location {
    city: Option<String>,
    country_or_region: Option<String>,
    geo_coordinates: Option<Coordinates>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Coordinates {
    latitude: Option<f64>,
    longitude: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct DeviceDetail {
    device_id: Option<String>,
    display_name: Option<String>,
    is_compliant: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct MfaDetail {
    auth_method: Option<String>,
}

/// Error codes that interrupt a sign-in on its way (a prompt to stay signed in, to complete
/// MFA, to register): neither a success nor a failed attempt.
const INTERRUPTS: &[i64] = &[50_072, 50_074, 50_076, 50_079, 50_097, 50_125, 50_140];

fn parse_record(value: &Value, raw: &[u8], ctx: &ParseContext) -> RecordResult {
    if !value.is_object() {
        return Err("an Entra sign-in must be a JSON object".to_string());
    }
    let envelope: Envelope = common::typed(value)?;
    let body = envelope.properties.as_ref().unwrap_or(value);
    let category = envelope.category.as_deref();
    // A Graph directory audit has no envelope: its own `category` is the audit's.
    if category == Some("AuditLogs")
        || (envelope.properties.is_none() && body.get("activityDisplayName").is_some())
    {
        return audit(value, body, envelope.time.as_deref(), raw, ctx);
    }
    // Diagnostic settings export provisioning and other logs on the same hub.
    if category.is_some_and(|category| !category.ends_with("SignInLogs")) {
        return Ok(Read::Skip(
            "an Azure Monitor category other than sign-in and audit logs",
        ));
    }
    let sign_in: SignIn = match &envelope.properties {
        Some(properties) => common::typed(properties)?,
        None => common::typed(value)?,
    };
    let time_text = sign_in
        .created_date_time
        .as_deref()
        .or(envelope.time.as_deref())
        .ok_or("no `createdDateTime` or `time`: not an Entra sign-in")?;
    let time = timefmt::rfc3339(time_text)?;
    let vendor_id = sign_in
        .id
        .as_deref()
        .or(sign_in.correlation_id.as_deref())
        .or(envelope.correlation_id.as_deref());
    let uid = common::uid_or_digest(vendor_id, NAME, raw);
    let mut out = common::new_event(ctx, uid, time, EventClass::Authentication, Activity::Logon);

    let status = sign_in.status.unwrap_or_default();
    let code = status.error_code.ok_or("no `status.errorCode`")?;
    out.outcome = if code == 0 {
        Outcome::Success
    } else if INTERRUPTS.contains(&code) {
        Outcome::Unknown
    } else {
        Outcome::Failure
    };
    if code != 0 {
        out.reason = Some(match common::clean(status.failure_reason.as_deref()) {
            Some(text) => format!("{code}: {text}"),
            None => code.to_string(),
        });
    }
    out.subject.user = common::clean(sign_in.user_principal_name.as_deref())
        .or_else(|| common::clean(sign_in.service_principal_name.as_deref()));
    out.subject.idp_id = common::clean(sign_in.user_id.as_deref())
        .or_else(|| common::clean(sign_in.service_principal_id.as_deref()));
    out.src.ip = common::ip(sign_in.ip_address.as_deref())
        .or_else(|| common::ip(envelope.caller_ip_address.as_deref()));
    if let Some(location) = sign_in.location {
        out.src.city = common::clean(location.city.as_deref());
        out.src.country = common::clean(location.country_or_region.as_deref());
        if let Some(point) = location.geo_coordinates {
            let lat = common::coordinate(point.latitude, 90.0);
            let lon = common::coordinate(point.longitude, 180.0);
            if lat.is_some() && lon.is_some() {
                out.src.lat = lat;
                out.src.lon = lon;
            }
        }
    }
    out.app = common::clean(sign_in.app_display_name.as_deref());
    if let Some(device) = sign_in.device_detail {
        out.subject.device = common::clean(device.device_id.as_deref())
            .or_else(|| common::clean(device.display_name.as_deref()));
        out.compliant = device.is_compliant;
    }
    out.mfa = match sign_in.authentication_requirement.as_deref() {
        Some("multiFactorAuthentication") => Some(true),
        Some("singleFactorAuthentication") => Some(false),
        _ => sign_in
            .mfa_detail
            .and_then(|detail| common::clean(detail.auth_method.as_deref()))
            .map(|_| true),
    };
    out.raw = Some(value.clone());
    Ok(Read::Event(out))
}

/// A directory audit: who did what to which user, group, application, role or policy.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Audit {
    id: Option<String>,
    activity_date_time: Option<String>,
    activity_display_name: Option<String>,
    category: Option<String>,
    result: Option<String>,
    result_reason: Option<String>,
    initiated_by: Option<Value>,
    target_resources: Option<Vec<TargetResource>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct TargetResource {
    id: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    user_principal_name: Option<String>,
    display_name: Option<String>,
}

/// What an audit's activity is, from its category and name (Entra's names are stable
/// English phrases: "Add user", "Reset user password", "Add member to group", …).
fn audit_kind(category: &str, activity: &str) -> (EventClass, Activity) {
    use Activity as A;
    use EventClass as C;
    let name = activity.to_ascii_lowercase();
    let has = |word: &str| name.contains(word);
    match category {
        "UserManagement" => (
            C::AccountChange,
            if has("reset") && has("password") {
                A::PasswordReset
            } else if has("password") {
                A::PasswordChanged
            } else if has("add user") || has("create user") {
                A::AccountCreated
            } else if has("delete user") || has("hard delete") {
                A::AccountDeleted
            } else if has("disable") {
                A::AccountDisabled
            } else if has("enable") || has("restore user") {
                A::AccountEnabled
            } else if has("register security info") || has("strongauthentication") {
                A::MfaEnrolled
            } else if has("delete security info") || has("reset security info") {
                A::MfaRemoved
            } else {
                A::AccountOther
            },
        ),
        "GroupManagement" | "RoleManagement" if has("add member") => {
            (C::AccountChange, A::PolicyAttached)
        }
        "GroupManagement" | "RoleManagement" if has("remove member") => {
            (C::AccountChange, A::PolicyDetached)
        }
        "GroupManagement"
        | "ApplicationManagement"
        | "RoleManagement"
        | "Policy"
        | "DirectoryManagement"
        | "Device"
        | "DeviceManagement"
        | "AuthorizationPolicy" => (
            C::EntityManagement,
            if has("add") || has("create") || has("register") {
                A::EntityCreated
            } else if has("delete") || has("remove") {
                A::EntityDeleted
            } else if has("disable") {
                A::EntityDisabled
            } else if has("enable") {
                A::EntityEnabled
            } else if has("update") || has("set") || has("change") {
                A::EntityUpdated
            } else {
                A::EntityOther
            },
        ),
        _ => (C::ApiActivity, A::ApiCall),
    }
}

fn audit(
    value: &Value,
    body: &Value,
    envelope_time: Option<&str>,
    raw: &[u8],
    ctx: &ParseContext,
) -> RecordResult {
    let audit: Audit = common::typed(body)?;
    let activity_name = audit
        .activity_display_name
        .as_deref()
        .ok_or("no `activityDisplayName`: not an Entra directory audit")?;
    let category = audit.category.as_deref().unwrap_or_default();
    let (class, activity) = audit_kind(category, activity_name);
    let stamp = audit
        .activity_date_time
        .as_deref()
        .or(envelope_time)
        .ok_or("no `activityDateTime`")?;
    let time = timefmt::rfc3339(stamp)?;
    let uid = common::uid_or_digest(audit.id.as_deref(), NAME, raw);
    let mut out = common::new_event(ctx, uid, time, class, activity);
    out.outcome = match audit.result.as_deref() {
        Some("success") => Outcome::Success,
        Some("failure") | Some("timeout") => Outcome::Failure,
        _ => Outcome::Unknown,
    };
    out.reason = common::clean(audit.result_reason.as_deref());
    let targets = audit.target_resources.unwrap_or_default();
    let target_user = targets
        .iter()
        .find(|t| t.kind.as_deref() == Some("User"))
        .filter(|_| class == EventClass::AccountChange);
    let initiator = audit
        .initiated_by
        .as_ref()
        .and_then(|by| by.get("user"))
        .filter(|user| !user.is_null());
    match (target_user, initiator) {
        (Some(target), _) => {
            out.subject.user = common::clean(target.user_principal_name.as_deref())
                .or_else(|| common::clean(target.display_name.as_deref()));
            out.subject.idp_id = common::clean(target.id.as_deref());
        }
        (None, Some(user)) => {
            out.subject.user = common::clean(user.get("userPrincipalName").and_then(Value::as_str));
            out.subject.idp_id = common::clean(user.get("id").and_then(Value::as_str));
        }
        (None, None) => {}
    }
    out.src.ip = common::ip(
        initiator
            .and_then(|user| user.get("ipAddress"))
            .and_then(Value::as_str),
    );
    out.raw = Some(value.clone());
    Ok(Read::Event(out))
}
