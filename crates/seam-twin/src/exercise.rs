//! Tabletop exercises: a scripted scenario (who does what, where, when) written as events, run
//! through the real engine by the caller, and reported step by step: seen or not, by which
//! rule, how soon, and which responses would follow.
//!
//! A scenario is a document (YAML or JSON) with a `start` time and `steps`; each step has an
//! `at` (an offset such as `+20m` from the start, or an RFC 3339 time), an optional `who`, and
//! either a verb (`do: badge`, `signin`, …) with its fields or a whole normalized `event`.
//! Steps marked `context: true` set the scene (the victim arriving at work) and are not
//! counted as attack steps.

use seam_model::{Activity, Event, EventClass, Finding, Medium, Outcome, Ts};
use serde::Serialize;
use serde_json::Value;

/// A parsed scenario.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub name: String,
    pub steps: Vec<ScenarioStep>,
}

/// One step and the events it makes.
#[derive(Clone, Debug)]
pub struct ScenarioStep {
    pub number: usize,
    pub at: Ts,
    pub who: Option<String>,
    pub what: String,
    pub context: bool,
    pub events: Vec<Event>,
}

/// Why a scenario could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("step {step}: {message}")]
pub struct ScenarioError {
    /// 0 for the document itself.
    pub step: usize,
    pub message: String,
}

fn error(step: usize, message: impl Into<String>) -> ScenarioError {
    ScenarioError {
        step,
        message: message.into(),
    }
}

/// `+90s`, `+20m`, `+2h`, `-5m` in milliseconds.
fn offset(text: &str) -> Option<i64> {
    let (sign, rest) = match text.as_bytes().first()? {
        b'+' => (1, text.get(1..)?),
        b'-' => (-1, text.get(1..)?),
        _ => return None,
    };
    let unit = rest.chars().last()?;
    let number: i64 = rest.get(..rest.len() - unit.len_utf8())?.parse().ok()?;
    let scale = match unit {
        's' => 1_000,
        'm' => 60_000,
        'h' => 3_600_000,
        'd' => 86_400_000,
        _ => return None,
    };
    Some(sign * number.checked_mul(scale)?)
}

/// The most steps one scenario may have.
pub const MAX_STEPS: usize = 1_000;

impl Scenario {
    /// Reads a scenario from its JSON form (the CLI turns YAML into it).
    pub fn from_value(value: &Value) -> Result<Scenario, ScenarioError> {
        let object = value
            .as_object()
            .ok_or_else(|| error(0, "a scenario is a mapping with `start` and `steps`"))?;
        for key in object.keys() {
            if !["name", "description", "start", "steps"].contains(&key.as_str()) {
                return Err(error(
                    0,
                    format!("unknown key `{key}`: expected name, description, start, steps"),
                ));
            }
        }
        let name = object
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("exercise")
            .to_string();
        let start = object
            .get("start")
            .and_then(Value::as_str)
            .ok_or_else(|| error(0, "`start` is required: an RFC 3339 time"))?;
        let start = Ts::parse(start).map_err(|e| error(0, e.to_string()))?;
        let steps = object
            .get("steps")
            .and_then(Value::as_array)
            .ok_or_else(|| error(0, "`steps` is required: a list"))?;
        if steps.len() > MAX_STEPS {
            return Err(error(0, format!("more than {MAX_STEPS} steps")));
        }
        let mut out = Vec::with_capacity(steps.len());
        for (index, step) in steps.iter().enumerate() {
            out.push(parse_step(index + 1, step, start)?);
        }
        Ok(Scenario { name, steps: out })
    }

    /// Every step's events, in time order.
    pub fn events(&self) -> Vec<Event> {
        let mut events: Vec<Event> = self.steps.iter().flat_map(|s| s.events.clone()).collect();
        events.sort_by(|a, b| a.time.cmp(&b.time).then(a.uid.cmp(&b.uid)));
        events
    }
}

struct Fields<'a> {
    number: usize,
    map: &'a serde_json::Map<String, Value>,
}

impl Fields<'_> {
    fn text(&self, key: &str) -> Result<String, ScenarioError> {
        self.map
            .get(key)
            .and_then(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .ok_or_else(|| error(self.number, format!("`{key}` is required")))
    }

    fn optional(&self, key: &str) -> Option<String> {
        self.text(key).ok()
    }

    fn flag(&self, key: &str, default: bool) -> bool {
        self.map
            .get(key)
            .and_then(Value::as_bool)
            .unwrap_or(default)
    }

    fn number(&self, key: &str) -> Option<f64> {
        self.map.get(key).and_then(Value::as_f64)
    }
}

fn parse_step(number: usize, value: &Value, start: Ts) -> Result<ScenarioStep, ScenarioError> {
    let map = value
        .as_object()
        .ok_or_else(|| error(number, "a step is a mapping"))?;
    let fields = Fields { number, map };
    let at = match map.get("at") {
        None => start,
        Some(Value::String(text)) => match offset(text) {
            Some(ms) => start.plus_millis(ms),
            None => Ts::parse(text).map_err(|_| {
                error(
                    number,
                    format!("`at: {text}`: expected an offset such as +20m or an RFC 3339 time"),
                )
            })?,
        },
        Some(_) => return Err(error(number, "`at` is a text: +20m or an RFC 3339 time")),
    };
    let who = fields.optional("who");
    let context = fields.flag("context", false);
    let uid = |n: usize| format!("exercise-{number:03}-{n}");
    let mut events = Vec::new();
    let what;
    if let Some(event) = map.get("event") {
        let mut event = event.clone();
        if let Some(object) = event.as_object_mut() {
            object.entry("uid").or_insert_with(|| Value::from(uid(0)));
            object
                .entry("time")
                .or_insert_with(|| Value::from(at.to_string()));
            object
                .entry("source")
                .or_insert_with(|| Value::from("exercise"));
        }
        let event: Event =
            serde_json::from_value(event).map_err(|e| error(number, format!("`event`: {e}")))?;
        event
            .validate()
            .map_err(|e| error(number, format!("`event`: {e}")))?;
        what = format!("{} {}", event.class, event.activity);
        events.push(event);
    } else {
        let verb = fields.text("do")?;
        let new = |n: usize, class, activity, offset: i64| {
            Event::new(uid(n), at.plus_millis(offset), "exercise", class, activity)
        };
        match verb.as_str() {
            "badge" | "denied" => {
                let badge = fields.text("badge")?;
                let door = fields.text("door")?;
                let activity = if verb == "badge" {
                    Activity::Granted
                } else {
                    Activity::Denied
                };
                let mut event = new(0, EventClass::PhysicalAccess, activity, 0);
                event.subject.badge = Some(badge.clone());
                event.door = Some(door.clone());
                events.push(event);
                if verb == "badge" && fields.flag("used", true) {
                    let mut used = new(1, EventClass::PhysicalAccess, Activity::DoorUsed, 3_000);
                    used.subject.badge = Some(badge.clone());
                    used.door = Some(door.clone());
                    events.push(used);
                }
                what = format!("{verb} {badge} at {door}");
            }
            "force" | "hold" => {
                let door = fields.text("door")?;
                let activity = if verb == "force" {
                    Activity::Forced
                } else {
                    Activity::HeldOpen
                };
                let mut event = new(0, EventClass::PhysicalAccess, activity, 0);
                event.door = Some(door.clone());
                events.push(event);
                what = format!("{verb} {door}");
            }
            "occupancy" | "tailgate" => {
                let zone = fields.text("zone")?;
                let count = fields.number("count").unwrap_or(1.0) as i64;
                let mut event = new(0, EventClass::Occupancy, Activity::Count, 0);
                event.zone = Some(zone.clone());
                event.count = Some(count);
                events.push(event);
                what = format!("{count} counted in {zone}");
            }
            "wifi" | "plug" | "nac-fail" => {
                let mac = fields.text("mac")?;
                let mut event = new(0, EventClass::NetworkSession, Activity::Connect, 0);
                event.subject.mac = Some(mac.clone());
                if verb == "wifi" {
                    event.medium = Some(Medium::Wifi);
                    event.ap = Some(fields.text("ap")?);
                    event.outcome = Outcome::Success;
                } else {
                    event.medium = Some(Medium::Wired);
                    event.switch_port = Some(fields.text("port")?);
                    event.outcome = if verb == "plug" {
                        Outcome::Success
                    } else {
                        Outcome::Failure
                    };
                }
                what = format!("{verb} {mac}");
                events.push(event);
            }
            "signin" => {
                let user = fields.text("user")?;
                let mut event = new(0, EventClass::Authentication, Activity::Logon, 0);
                event.subject.user = Some(user.clone());
                event.outcome = if fields.flag("ok", true) {
                    Outcome::Success
                } else {
                    Outcome::Failure
                };
                event.src.ip = fields.optional("ip").and_then(|ip| ip.parse().ok());
                event.src.country = fields.optional("country");
                event.src.city = fields.optional("city");
                event.src.lat = fields.number("lat");
                event.src.lon = fields.number("lon");
                event.privileged = fields.flag("privileged", false);
                event.dst.host = fields.optional("host");
                event.dst.ip = fields.optional("host_ip").and_then(|ip| ip.parse().ok());
                what = format!(
                    "sign-in as {user}{}",
                    fields
                        .optional("ip")
                        .map(|ip| format!(" from {ip}"))
                        .unwrap_or_default()
                );
                events.push(event);
            }
            "vpn" => {
                let user = fields.text("user")?;
                let mut event = new(0, EventClass::NetworkSession, Activity::Connect, 0);
                event.medium = Some(Medium::Vpn);
                event.outcome = Outcome::Success;
                event.subject.user = Some(user.clone());
                event.subject.ip = fields.optional("given").and_then(|ip| ip.parse().ok());
                event.src.ip = fields.optional("ip").and_then(|ip| ip.parse().ok());
                what = format!("VPN as {user}");
                events.push(event);
            }
            "read" => {
                let user = fields.text("user")?;
                let resource = fields.text("resource")?;
                let mut event = new(0, EventClass::ResourceAccess, Activity::Read, 0);
                event.outcome = Outcome::Success;
                event.subject.user = Some(user.clone());
                event.resource = Some(resource.clone());
                event.src.ip = fields.optional("ip").and_then(|ip| ip.parse().ok());
                what = format!("{user} reads {resource}");
                events.push(event);
            }
            "upload" => {
                let device = fields.text("device")?;
                let mut event = new(0, EventClass::NetworkActivity, Activity::Traffic, 0);
                event.subject.device = Some(device.clone());
                event.subject.ip = fields.optional("ip").and_then(|ip| ip.parse().ok());
                event.dst.ip = fields.optional("to").and_then(|ip| ip.parse().ok());
                event.bytes_out = Some(fields.number("bytes").unwrap_or(5e8) as u64);
                what = format!("upload from {device}");
                events.push(event);
            }
            "offline" | "online" | "config" => {
                let asset = fields.text("asset")?;
                let activity = match verb.as_str() {
                    "offline" => Activity::Offline,
                    "online" => Activity::Online,
                    _ => Activity::ConfigChange,
                };
                let mut event = new(0, EventClass::DeviceStatus, activity, 0);
                event.asset = Some(asset.clone());
                what = format!("{asset} {verb}");
                events.push(event);
            }
            "posture" => {
                let mac = fields.text("mac")?;
                let mut event = new(0, EventClass::DeviceInventory, Activity::Posture, 0);
                event.subject.mac = Some(mac.clone());
                event.compliant = Some(fields.flag("compliant", false));
                what = format!("posture of {mac}");
                events.push(event);
            }
            "book" => {
                let user = fields.text("user")?;
                let zone = fields.text("zone")?;
                let minutes = fields.number("minutes").unwrap_or(60.0) as i64;
                let mut event = new(0, EventClass::Booking, Activity::Booked, 0);
                event.subject.user = Some(user.clone());
                event.zone = Some(zone.clone());
                event.until = Some(at.plus_millis(minutes * 60_000));
                what = format!("{user} books {zone}");
                events.push(event);
            }
            other => {
                return Err(error(
                    number,
                    format!(
                        "unknown `do: {other}`: expected badge, denied, force, hold, tailgate, \
                         occupancy, wifi, plug, nac-fail, signin, vpn, read, upload, offline, \
                         online, config, posture, book (or give a whole `event`)"
                    ),
                ));
            }
        }
    }
    let what = fields.optional("note").unwrap_or(what);
    Ok(ScenarioStep {
        number,
        at,
        who,
        what,
        context,
        events,
    })
}

/// What the engine made of one step.
#[derive(Clone, Debug, Serialize)]
pub struct StepResult {
    pub step: usize,
    pub at: Ts,
    pub who: Option<String>,
    pub what: String,
    pub context: bool,
    /// Rules whose findings cite this step's events, with the seconds from the step to the
    /// finding.
    pub seen_by: Vec<(String, f64)>,
    pub responses: Vec<String>,
}

/// The exercise's report.
#[derive(Clone, Debug, Serialize)]
pub struct ExerciseReport {
    pub name: String,
    pub steps: Vec<StepResult>,
    pub attack_steps: usize,
    pub seen: usize,
    pub blind_spots: Vec<usize>,
    pub first_detection_s: Option<f64>,
}

/// Matches the findings to the steps whose events they cite.
pub fn report(scenario: &Scenario, findings: &[Finding]) -> ExerciseReport {
    let first_attack = scenario
        .steps
        .iter()
        .filter(|s| !s.context)
        .map(|s| s.at)
        .min();
    let mut results = Vec::new();
    let mut first_detection: Option<f64> = None;
    for step in &scenario.steps {
        let mut seen_by = Vec::new();
        for finding in findings {
            let cites = finding
                .finding_info
                .related_events
                .iter()
                .any(|related| step.events.iter().any(|event| event.uid == related.uid));
            if cites {
                let delay = (finding.time - step.at.millis()).max(0) as f64 / 1000.0;
                let rule = finding.finding_info.analytic.uid.clone();
                if !seen_by.iter().any(|(r, _)| r == &rule) {
                    seen_by.push((rule, delay));
                }
                if !step.context
                    && let Some(first) = first_attack
                {
                    let since = (finding.time - first.millis()).max(0) as f64 / 1000.0;
                    first_detection = Some(first_detection.map_or(since, |f| f.min(since)));
                }
            }
        }
        let mut responses: Vec<String> = seen_by
            .iter()
            .flat_map(|(rule, _)| responses_for(rule).iter().map(|r| (*r).to_string()))
            .collect();
        responses.dedup();
        results.push(StepResult {
            step: step.number,
            at: step.at,
            who: step.who.clone(),
            what: step.what.clone(),
            context: step.context,
            seen_by,
            responses,
        });
    }
    let attack: Vec<&StepResult> = results.iter().filter(|r| !r.context).collect();
    ExerciseReport {
        name: scenario.name.clone(),
        attack_steps: attack.len(),
        seen: attack.iter().filter(|r| !r.seen_by.is_empty()).count(),
        blind_spots: attack
            .iter()
            .filter(|r| r.seen_by.is_empty())
            .map(|r| r.step)
            .collect(),
        first_detection_s: first_detection,
        steps: results,
    }
}

/// The default response playbook: what a finding of each default rule sets in motion.
/// Responses are recommendations until response actions are configured.
pub fn responses_for(rule: &str) -> &'static [&'static str] {
    match rule {
        "seam.onsite-offsite-signin" | "seam.booked-room-remote-signin" => &[
            "revoke the account's sessions at the identity provider",
            "require MFA re-enrolment",
        ],
        "seam.impossible-travel" => &["suspend the badge", "revoke the account's sessions"],
        "seam.inactive-person-credential" | "seam.contractor-outside-window" => &[
            "disable the credential that was used",
            "notify HR and facilities",
        ],
        "seam.decommissioned-site-badge" => &["suspend the badge", "dispatch security to the site"],
        "seam.visitor-overstay" => &["deactivate the visitor badge", "notify the host"],
        "seam.badge-granted-nobody-entered" | "seam.anti-passback" => {
            &["suspend the badge pending re-issue"]
        }
        "seam.tailgating-occupancy" | "seam.controller-down-door-forced" => {
            &["dispatch security to the zone", "pull the camera footage"]
        }
        "seam.wifi-without-badge" | "seam.noncompliant-device-busy-zone" => {
            &["quarantine the device on the network (NAC)"]
        }
        "seam.rogue-device-empty-zone" | "seam.wired-nac-failures" => {
            &["shut the switch port", "dispatch security to the zone"]
        }
        "seam.exfil-owner-elsewhere" => &[
            "isolate the workstation from the network",
            "revoke the owner's sessions",
        ],
        "seam.after-hours-server-room-privileged" => &[
            "suspend the privileged session",
            "dispatch security to the server room",
        ],
        "seam.badge-and-signin-failure-burst" => &["lock the account", "suspend the badge"],
        "seam.onsite-resource-offsite" => &["revoke the session to the resource"],
        _ => &[],
    }
}

impl ExerciseReport {
    pub fn table(&self) -> String {
        use std::fmt::Write as _;
        let mut out = format!("{}\n\n", self.name);
        for step in &self.steps {
            let seen = if step.seen_by.is_empty() {
                if step.context {
                    "(scene)".to_string()
                } else {
                    "NOT SEEN: blind spot".to_string()
                }
            } else {
                step.seen_by
                    .iter()
                    .map(|(rule, delay)| {
                        format!("{rule} after {}", crate::eval::human_duration(*delay))
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let _ = writeln!(
                out,
                "{:>3}  {}  {:<10} {:<44} {}",
                step.step,
                step.at,
                step.who.as_deref().unwrap_or("-"),
                step.what,
                seen
            );
            for response in &step.responses {
                let _ = writeln!(out, "{:>20}-> {response}", "");
            }
        }
        let _ = writeln!(
            out,
            "\n{} of {} attack steps seen{}{}",
            self.seen,
            self.attack_steps,
            self.first_detection_s
                .map(|s| format!(
                    "; first detection {} after the attack began",
                    crate::eval::human_duration(s)
                ))
                .unwrap_or_default(),
            if self.blind_spots.is_empty() {
                String::new()
            } else {
                format!(
                    "; blind spots at step {}",
                    self.blind_spots
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_become_events_at_their_times() {
        let value = serde_json::json!({
            "name": "test",
            "start": "2026-03-02T08:00:00Z",
            "steps": [
                {"at": "+0m", "who": "alice", "do": "badge", "badge": "4411", "door": "hq-main", "context": true},
                {"at": "+20m", "who": "attacker", "do": "signin", "user": "alice@example.com", "ip": "185.220.101.7", "country": "Romania"},
                {"at": "2026-03-02T09:00:00Z", "event": {"class": "physical_access", "activity": "forced", "door": "hq-server-in"}}
            ]
        });
        let scenario = Scenario::from_value(&value).unwrap();
        assert_eq!(scenario.steps.len(), 3);
        assert_eq!(scenario.steps[0].events.len(), 2, "granted and door used");
        assert_eq!(
            scenario.steps[1].at,
            Ts::parse("2026-03-02T08:20:00Z").unwrap()
        );
        let events = scenario.events();
        assert!(events.windows(2).all(|w| w[0].time <= w[1].time));
        assert_eq!(events.last().unwrap().activity, Activity::Forced);
    }

    #[test]
    fn mistakes_name_the_step() {
        let bad = serde_json::json!({"start": "2026-03-02T08:00:00Z", "steps": [{"do": "badge"}]});
        assert_eq!(
            Scenario::from_value(&bad).unwrap_err().to_string(),
            "step 1: `badge` is required"
        );
        let bad = serde_json::json!({"start": "2026-03-02T08:00:00Z", "steps": [{"do": "fly"}]});
        assert!(
            Scenario::from_value(&bad)
                .unwrap_err()
                .message
                .contains("unknown `do: fly`")
        );
        let bad = serde_json::json!({"start": "yesterday", "steps": []});
        assert_eq!(Scenario::from_value(&bad).unwrap_err().step, 0);
        assert_eq!(offset("+90s"), Some(90_000));
        assert_eq!(offset("-2h"), Some(-7_200_000));
        assert_eq!(offset("20m"), None);
    }
}
