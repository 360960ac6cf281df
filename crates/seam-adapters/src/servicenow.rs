//! ServiceNow change requests: records of the Table API's `change_request` table, pulled
//! (`{"result":[…]}`) or pushed by a business rule or flow as one record per request.
//!
//! ```json
//! {"sys_id":"4f7c…","number":"CHG0030012","state":"-2","approval":"approved",
//!  "start_date":"2026-03-02 21:00:00","end_date":"2026-03-03 01:00:00",
//!  "cmdb_ci":{"display_value":"hq-db1","value":"a9c0…"},
//!  "assigned_to":{"display_value":"Bob Jansen","value":"62d7…"},"assigned_to.user_name":"bob",
//!  "assignment_group":{"display_value":"Database Admins","value":"8a5e…"},
//!  "sys_updated_on":"2026-03-01 09:12:44","short_description":"Patch PostgreSQL"}
//! ```
//!
//! Reference fields come as the Table API writes them with any `sysparm_display_value`
//! setting: a plain value, or `{"display_value", "value"}` (the display value is the name a
//! person or configuration item is known by; a bare `sys_id` names nothing Seam knows).
//! Dot-walked fields (`assigned_to.user_name`, `assigned_to.email`, `cmdb_ci.name`,
//! `assignment_group.name`) are read when present. Times are the Table API's
//! `YYYY-MM-DD HH:MM:SS`: a `value` is UTC, a plain string is read in the source's time zone
//! (UTC unless configured, which is what the API sends without display values).
//!
//! Each record becomes one `change_request` event at its `sys_updated_on`: `change_scheduled`
//! when approved and scheduled or being implemented (the only state that makes work on its
//! items expected), `change_closed` after review or closure, `change_cancelled` when
//! cancelled or rejected, and `change_pending` before approval.

use serde_json::Value;

use seam_model::{Activity, ChangeDetails, EventClass, Outcome, Ts};

use crate::common::{self, Read, RecordResult};
use crate::{Batch, ParseContext, timefmt};

const NAME: &str = "servicenow";

/// A planned window longer than this is refused: an approved change expects work on its
/// items, so a window of months would silence the rules that respect it for months.
const MAX_WINDOW_MS: i64 = 31 * 86_400_000;

pub(crate) fn parse(input: &[u8], ctx: &ParseContext) -> Batch {
    common::parse_json_owned(input, ctx, &[&["result"], &["records"]], |value, raw| {
        parse_record(value, raw, ctx)
    })
}

fn parse_record(value: Value, raw: &[u8], ctx: &ParseContext) -> RecordResult {
    // A single GET answers `{"result": {…}}`.
    let value = match value {
        Value::Object(mut object) if object.get("result").is_some_and(Value::is_object) => {
            object.remove("result").unwrap_or_default()
        }
        value => value,
    };
    if !value.is_object() {
        return Err("a change request must be a JSON object".to_string());
    }
    let number = text(&value, "number").ok_or("no `number`")?;
    if let Some(class) = text(&value, "sys_class_name")
        && class != "change_request"
    {
        return Ok(Read::Skip("not a change_request record"));
    }
    let updated = time(&value, "sys_updated_on", ctx)?.ok_or("no `sys_updated_on`")?;
    let state = State::of(&value)?;
    let approval = text(&value, "approval").map(|a| a.to_ascii_lowercase());
    let approved = approval.as_deref() == Some("approved");
    let rejected = approval.as_deref() == Some("rejected");
    let activity = match state {
        State::Cancelled => Activity::ChangeCancelled,
        _ if rejected => Activity::ChangeCancelled,
        State::Review | State::Closed => Activity::ChangeClosed,
        State::Scheduled | State::Implement if approved => Activity::ChangeScheduled,
        _ => Activity::ChangePending,
    };
    let start = time(&value, "start_date", ctx)?;
    let end = time(&value, "end_date", ctx)?;
    let (start, end) = match (start, end) {
        (Some(start), Some(end)) => (start, end),
        // Only a change that expects work needs its window.
        _ if activity == Activity::ChangeScheduled => {
            return Err(format!(
                "approved change {number} has no planned start_date and end_date"
            ));
        }
        _ => (updated, updated),
    };
    if end < start {
        return Err(format!(
            "change {number} ends ({end}) before it starts ({start})"
        ));
    }
    if end.millis().saturating_sub(start.millis()) > MAX_WINDOW_MS {
        return Err(format!(
            "change {number} plans a window from {start} to {end}, longer than 31 days"
        ));
    }
    let mut assignees = Vec::new();
    for field in ["assigned_to.user_name", "assigned_to.email", "assigned_to"] {
        if let Some(name) = text(&value, field)
            && !is_sys_id(&name)
            && !assignees.contains(&name)
        {
            assignees.push(name);
        }
    }
    let groups: Vec<String> = ["assignment_group.name", "assignment_group"]
        .iter()
        .filter_map(|field| text(&value, field))
        .filter(|name| !is_sys_id(name))
        .take(1)
        .collect();
    let mut items = Vec::new();
    for field in ["cmdb_ci.name", "cmdb_ci"] {
        if let Some(names) = text(&value, field) {
            for name in names.split(',').map(str::trim) {
                if !name.is_empty() && !is_sys_id(name) && !items.iter().any(|i| i == name) {
                    items.push(name.to_string());
                }
            }
        }
    }
    let sys_id = text(&value, "sys_id");
    let uid = match &sys_id {
        Some(id) => format!("{NAME}-{id}-{}", updated.millis()),
        None => common::digest_uid(NAME, &[raw]),
    };
    let mut event = common::new_event(ctx, uid, updated, EventClass::ChangeRequest, activity);
    event.outcome = match activity {
        Activity::ChangeScheduled | Activity::ChangeClosed => Outcome::Success,
        Activity::ChangeCancelled => Outcome::Failure,
        _ => Outcome::Unknown,
    };
    event.reason = text(&value, "short_description");
    event.change = Some(Box::new(ChangeDetails {
        number,
        start,
        end,
        items,
        assignees,
        groups,
    }));
    event.raw = Some(value);
    Ok(Read::Event(event))
}

/// The states of the change model ServiceNow ships (Normal, Standard and Emergency changes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    New,
    Assess,
    Authorize,
    Scheduled,
    Implement,
    Review,
    Closed,
    Cancelled,
}

impl State {
    fn of(record: &Value) -> Result<State, String> {
        let field = record.get("state").ok_or("no `state`")?;
        let candidates = match field {
            Value::Object(object) => vec![object.get("value"), object.get("display_value")],
            other => vec![Some(other)],
        };
        for candidate in candidates.into_iter().flatten() {
            if let Some(state) = common::scalar_text(candidate).and_then(|t| State::named(&t)) {
                return Ok(state);
            }
        }
        Err(format!("unknown change state {field}"))
    }

    fn named(text: &str) -> Option<State> {
        Some(match text.trim().to_ascii_lowercase().as_str() {
            "-5" | "new" => State::New,
            "-4" | "assess" => State::Assess,
            "-3" | "authorize" => State::Authorize,
            "-2" | "scheduled" => State::Scheduled,
            "-1" | "implement" => State::Implement,
            "0" | "review" => State::Review,
            "3" | "closed" => State::Closed,
            "4" | "canceled" | "cancelled" => State::Cancelled,
            _ => return None,
        })
    }
}

/// A field's text: a plain value, or the display value of a reference (its `value`, a
/// `sys_id`, when there is no display value).
fn text(record: &Value, field: &str) -> Option<String> {
    let value = record.get(field)?;
    let text = match value {
        Value::Object(object) => object
            .get("display_value")
            .and_then(common::scalar_text)
            .filter(|t| !t.trim().is_empty())
            .or_else(|| object.get("value").and_then(common::scalar_text)),
        other => common::scalar_text(other),
    };
    common::clean(text.as_deref())
}

/// A time field: `{"value"}` in UTC, a plain string in the source's time zone.
fn time(record: &Value, field: &str, ctx: &ParseContext) -> Result<Option<Ts>, String> {
    let (text, zone) = match record.get(field) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(object)) => (
            object.get("value").and_then(common::scalar_text),
            jiff::tz::TimeZone::UTC,
        ),
        Some(other) => (common::scalar_text(other), ctx.timezone.clone()),
    };
    let Some(text) = common::clean(text.as_deref()) else {
        return Ok(None);
    };
    let civil = timefmt::civil(&text).map_err(|error| format!("`{field}`: {error}"))?;
    timefmt::local(civil, &zone)
        .map(Some)
        .map_err(|error| format!("`{field}`: {error}"))
}

/// A ServiceNow `sys_id`: 32 lowercase hex digits.
fn is_sys_id(text: &str) -> bool {
    text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    fn read(json: &str) -> Batch {
        let ctx = ParseContext::new("servicenow", Ts::parse("2026-03-02T12:00:00Z").unwrap());
        parse(json.as_bytes(), &ctx)
    }

    const APPROVED: &str = r#"{"sys_id":"4f7c1a2b3c4d5e6f708192a3b4c5d6e7","number":"CHG0030012","state":"-2","approval":"approved","start_date":"2026-03-02 21:00:00","end_date":"2026-03-03 01:00:00","cmdb_ci":{"display_value":"hq-db1","value":"a9c01a2b3c4d5e6f708192a3b4c5d6e7"},"assigned_to":{"display_value":"Bob Jansen","value":"62d71a2b3c4d5e6f708192a3b4c5d6e7"},"assigned_to.user_name":"bob","assignment_group":"Database Admins","sys_updated_on":"2026-03-01 09:12:44"}"#;

    #[test]
    fn an_approved_scheduled_change_opens_its_window() {
        let batch = read(APPROVED);
        assert!(batch.rejected.is_empty(), "{:?}", batch.rejected);
        let event = &batch.events[0];
        assert_eq!(event.activity, Activity::ChangeScheduled);
        assert_eq!(event.time, Ts::parse("2026-03-01T09:12:44Z").unwrap());
        let change = event.change.as_deref().unwrap();
        assert_eq!(change.number, "CHG0030012");
        assert_eq!(change.start, Ts::parse("2026-03-02T21:00:00Z").unwrap());
        assert_eq!(change.end, Ts::parse("2026-03-03T01:00:00Z").unwrap());
        assert_eq!(change.items, ["hq-db1"]);
        assert_eq!(change.assignees, ["bob", "Bob Jansen"]);
        assert_eq!(change.groups, ["Database Admins"]);
    }

    #[test]
    fn states_and_approvals_decide_the_activity() {
        let with = |state: &str, approval: &str| {
            let json = APPROVED
                .replace(r#""state":"-2""#, &format!(r#""state":{state}"#))
                .replace(
                    r#""approval":"approved""#,
                    &format!(r#""approval":"{approval}""#),
                );
            read(&json).events[0].activity
        };
        assert_eq!(with(r#""-1""#, "approved"), Activity::ChangeScheduled);
        assert_eq!(
            with(r#"{"display_value":"Scheduled","value":"-2"}"#, "approved"),
            Activity::ChangeScheduled
        );
        assert_eq!(with(r#""-2""#, "requested"), Activity::ChangePending);
        assert_eq!(with(r#""-3""#, "approved"), Activity::ChangePending);
        assert_eq!(with(r#""-2""#, "rejected"), Activity::ChangeCancelled);
        assert_eq!(with(r#""4""#, "approved"), Activity::ChangeCancelled);
        assert_eq!(with(r#""3""#, "approved"), Activity::ChangeClosed);
    }

    #[test]
    fn bad_windows_and_states_are_dead_letters() {
        let backwards = APPROVED.replace("2026-03-03 01:00:00", "2026-03-02 20:00:00");
        assert!(read(&backwards).rejected[0].reason.contains("ends"));
        let long = APPROVED.replace("2026-03-03 01:00:00", "2026-06-03 01:00:00");
        assert!(
            read(&long).rejected[0]
                .reason
                .contains("longer than 31 days")
        );
        let unknown = APPROVED.replace(r#""state":"-2""#, r#""state":"17""#);
        assert!(
            read(&unknown).rejected[0]
                .reason
                .contains("unknown change state")
        );
        let no_window = APPROVED.replace(r#""end_date":"2026-03-03 01:00:00","#, "");
        assert!(read(&no_window).rejected[0].reason.contains("no planned"));
    }

    #[test]
    fn table_api_lists_and_single_gets_are_read() {
        let list = format!(r#"{{"result":[{APPROVED},{APPROVED}]}}"#);
        // The same record twice: the same uid, for the store to keep once.
        let batch = read(&list);
        assert_eq!(batch.events.len(), 2);
        assert_eq!(batch.events[0].uid, batch.events[1].uid);
        let single = format!(r#"{{"result":{APPROVED}}}"#);
        assert_eq!(read(&single).events.len(), 1);
    }

    #[test]
    fn bare_sys_ids_name_nobody() {
        let json = APPROVED
            .replace(r#","assigned_to.user_name":"bob""#, "")
            .replace(
                r#"{"display_value":"Bob Jansen","value":"62d71a2b3c4d5e6f708192a3b4c5d6e7"}"#,
                r#""62d71a2b3c4d5e6f708192a3b4c5d6e7""#,
            );
        let batch = read(&json);
        assert!(
            batch.events[0]
                .change
                .as_deref()
                .unwrap()
                .assignees
                .is_empty()
        );
    }
}
