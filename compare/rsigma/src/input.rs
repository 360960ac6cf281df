//! Rule files, event files, and the synthetic event stream used for throughput.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// One rule file as read from disk.
#[derive(Debug, Clone)]
pub struct RuleFile {
    pub path: String,
    pub text: String,
}

/// One fixture event with where it came from.
#[derive(Debug, Clone)]
pub struct BaseEvent {
    /// `file#index name` for reports.
    pub label: String,
    pub event: Value,
}

/// The stream both engines see: events, their ids and their times (seconds, 1 s apart).
#[derive(Debug)]
pub struct Stream {
    pub events: Vec<Value>,
    pub uids: Vec<String>,
    pub times_secs: Vec<i64>,
}

/// First event time of the stream: 2026-01-01T00:00:00Z.
const STREAM_START_SECS: i64 = 1_767_225_600;

/// Every `*.yml`/`*.yaml` file under `dir` (recursively), sorted by path.
pub fn rule_files(dir: &Path) -> Result<Vec<RuleFile>, String> {
    let mut paths = Vec::new();
    collect_yaml(dir, &mut paths)?;
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path)
                .map_err(|error| format!("reading rule file {}: {error}", path.display()))?;
            Ok(RuleFile {
                path: path.display().to_string(),
                text,
            })
        })
        .collect()
}

fn collect_yaml(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir)
        .map_err(|error| format!("reading rule directory {}: {error}", dir.display()))?;
    for entry in entries {
        let path = entry
            .map_err(|error| format!("reading rule directory {}: {error}", dir.display()))?
            .path();
        if path.is_dir() {
            collect_yaml(&path, out)?;
        } else if path
            .extension()
            .is_some_and(|extension| extension == "yml" || extension == "yaml")
        {
            out.push(path);
        }
    }
    Ok(())
}

/// Reads an event file: a JSON array (or JSON Lines) of either raw events or fixture entries
/// `{"name": ..., "event": {...}}`.
pub fn event_file(path: &Path) -> Result<Vec<BaseEvent>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("reading event file {}: {error}", path.display()))?;
    let entries: Vec<Value> = match serde_json::from_str::<Value>(&text) {
        Ok(Value::Array(items)) => items,
        Ok(single @ Value::Object(_)) => vec![single],
        Ok(_) => {
            return Err(format!(
                "event file {}: expected a JSON array or objects",
                path.display()
            ));
        }
        Err(_) => text
            .lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(number, line)| {
                serde_json::from_str(line).map_err(|error| {
                    format!(
                        "event file {} line {}: not JSON (nor a JSON array): {error}",
                        path.display(),
                        number + 1
                    )
                })
            })
            .collect::<Result<_, _>>()?,
    };
    let file_name = path.file_name().map_or_else(
        || path.display().to_string(),
        |name| name.to_string_lossy().into_owned(),
    );
    let parent = path
        .parent()
        .and_then(Path::file_name)
        .map(|name| name.to_string_lossy().into_owned());
    let shown = match parent {
        Some(parent) => format!("{parent}/{file_name}"),
        None => file_name,
    };
    entries
        .into_iter()
        .enumerate()
        .map(|(index, entry)| {
            let (name, event) = match entry {
                Value::Object(mut map) if map.get("event").is_some_and(Value::is_object) => {
                    let name = map
                        .get("name")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                        .unwrap_or_default();
                    (name, map.remove("event").unwrap_or(Value::Null))
                }
                event @ Value::Object(_) => (String::new(), event),
                _ => {
                    return Err(format!(
                        "event file {} entry {index}: an event must be a JSON object",
                        path.display()
                    ));
                }
            };
            let label = if name.is_empty() {
                format!("{shown}#{index}")
            } else {
                format!("{shown}#{index} \"{name}\"")
            };
            Ok(BaseEvent { label, event })
        })
        .collect()
}

/// Cycles the base events up to `total`, varying ids, user names and addresses from the second
/// cycle on, so the stream is not one event repeated. Event `i` is at `start + i` seconds.
pub fn build_stream(base: &[BaseEvent], total: usize) -> Stream {
    let mut events = Vec::with_capacity(total);
    let mut uids = Vec::with_capacity(total);
    let mut times_secs = Vec::with_capacity(total);
    if base.is_empty() {
        return Stream {
            events,
            uids,
            times_secs,
        };
    }
    for (index, time) in (0..total).zip(STREAM_START_SECS..) {
        let cycle = index / base.len();
        let Some(source) = base.get(index % base.len()) else {
            break;
        };
        events.push(vary(&source.event, cycle));
        uids.push(format!("s{index}"));
        times_secs.push(time);
    }
    Stream {
        events,
        uids,
        times_secs,
    }
}

const ID_KEYS: &[&str] = &["uuid", "id", "Id", "CorrelationId", "OriginalRequestId"];
const USER_KEYS: &[&str] = &[
    "alternateId",
    "UserPrincipalName",
    "userPrincipalName",
    "AlternateSignInName",
];
const ADDRESS_KEYS: &[&str] = &["ipAddress", "IPAddress", "ipaddress"];

fn vary(value: &Value, cycle: usize) -> Value {
    if cycle == 0 {
        return value.clone();
    }
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, inner)| {
                    let changed = match inner {
                        Value::String(text) => vary_text(key, text, cycle).map(Value::String),
                        _ => None,
                    };
                    (key.clone(), changed.unwrap_or_else(|| vary(inner, cycle)))
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|item| vary(item, cycle)).collect()),
        other => other.clone(),
    }
}

fn vary_text(key: &str, text: &str, cycle: usize) -> Option<String> {
    if ID_KEYS.contains(&key) {
        return Some(format!("{text}-{cycle}"));
    }
    if USER_KEYS.contains(&key) {
        let (local, domain) = text.split_once('@')?;
        return Some(format!("{local}.c{cycle}@{domain}"));
    }
    if ADDRESS_KEYS.contains(&key) {
        let address: IpAddr = text.parse().ok()?;
        // Only the last octet (IPv4) or group (IPv6) moves: network membership stays.
        let step = cycle % 251;
        return Some(match address {
            IpAddr::V4(v4) => {
                let mut octets = v4.octets();
                if let Some(last) = octets.last_mut() {
                    *last = ((usize::from(*last) + step) % 256) as u8;
                }
                IpAddr::from(octets).to_string()
            }
            IpAddr::V6(v6) => {
                let mut segments = v6.segments();
                if let Some(last) = segments.last_mut() {
                    *last = last.wrapping_add(step as u16);
                }
                IpAddr::from(segments).to_string()
            }
        });
    }
    None
}

#[cfg(test)]
#[allow(
    clippy::indexing_slicing,
    reason = "test code: a panic is a failed test"
)]
mod tests {
    use super::*;

    #[test]
    fn later_cycles_vary_ids_users_and_last_address_octet() {
        let event = serde_json::json!({
            "uuid": "okta-9",
            "actor": {"alternateId": "a@example.com"},
            "client": {"ipAddress": "10.0.0.7"},
            "target": [{"alternateId": "Okta Admin Console"}],
        });
        assert_eq!(vary(&event, 0), event);
        let varied = vary(&event, 3);
        assert_eq!(varied["uuid"], "okta-9-3");
        assert_eq!(varied["actor"]["alternateId"], "a.c3@example.com");
        assert_eq!(varied["client"]["ipAddress"], "10.0.0.10");
        assert_eq!(varied["target"][0]["alternateId"], "Okta Admin Console");
    }

    #[test]
    fn stream_cycles_base_events_one_second_apart() {
        let base = vec![
            BaseEvent {
                label: "a".to_owned(),
                event: serde_json::json!({"id": "x"}),
            },
            BaseEvent {
                label: "b".to_owned(),
                event: serde_json::json!({"id": "y"}),
            },
        ];
        let stream = build_stream(&base, 5);
        assert_eq!(stream.events.len(), 5);
        assert_eq!(stream.events[4]["id"], "x-2");
        assert_eq!(stream.times_secs[4] - stream.times_secs[0], 4);
    }
}
