//! Envoy visitor webhooks: an entry signed in (`entry_sign_in`) or out (`entry_sign_out`),
//! with the entry in `payload` (JSON:API) and the hook's event name in `meta.event`:
//!
//! ```json
//! {"meta": {"event": "entry_sign_in"},
//!  "payload": {"id": "ent-1", "type": "entries",
//!              "attributes": {"full-name": "Victor Vance", "email": "victor@visitor.example.org",
//!                             "signed-in-at": "2026-03-02T09:00:00Z", "host-email": "alice@example.com"}}}
//! ```
//!
//! Verify the body first with [`crate::verify_envoy_signature`].

use serde::Deserialize;
use serde_json::Value;

use seam_model::{Activity, EventClass};

use crate::common::{self, Read, RecordResult};
use crate::{Batch, ParseContext, timefmt};

const NAME: &str = "envoy";

pub(crate) fn parse(input: &[u8], ctx: &ParseContext) -> Batch {
    common::parse_json(input, ctx, &[], |value, raw| parse_record(value, raw, ctx))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Hook {
    meta: Option<Meta>,
    payload: Option<Entry>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Meta {
    event: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Entry {
    id: Option<String>,
    attributes: Option<Attributes>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
struct Attributes {
    email: Option<String>,
    signed_in_at: Option<String>,
    signed_out_at: Option<String>,
}

fn parse_record(value: &Value, raw: &[u8], ctx: &ParseContext) -> RecordResult {
    if !value.is_object() {
        return Err("an Envoy webhook body must be a JSON object".to_string());
    }
    let hook: Hook = common::typed(value)?;
    let event_name = hook
        .meta
        .and_then(|meta| meta.event)
        .ok_or("no `meta.event`: not an Envoy webhook")?;
    let activity = match event_name.as_str() {
        "entry_sign_in" => Activity::CheckIn,
        "entry_sign_out" => Activity::CheckOut,
        _ => {
            return Ok(Read::Skip(
                "an Envoy webhook other than an entry sign-in or sign-out",
            ));
        }
    };
    let entry = hook.payload.ok_or("no `payload` entry")?;
    let attributes = entry.attributes.unwrap_or_default();
    let time_text = match activity {
        Activity::CheckIn => attributes.signed_in_at.as_deref(),
        _ => attributes.signed_out_at.as_deref(),
    };
    let field = if activity == Activity::CheckIn {
        "signed-in-at"
    } else {
        "signed-out-at"
    };
    let time = timefmt::rfc3339(time_text.ok_or_else(|| format!("no `{field}` time"))?)?;
    // One entry signs in and out: the uid tells the two apart.
    let vendor_id = common::clean(entry.id.as_deref()).map(|id| format!("{id}-{activity}"));
    let uid = common::uid_or_digest(vendor_id.as_deref(), NAME, raw);
    let mut out = common::new_event(ctx, uid, time, EventClass::Visitor, activity);
    out.subject.user = common::clean(attributes.email.as_deref());
    out.raw = Some(value.clone());
    Ok(Read::Event(out))
}
