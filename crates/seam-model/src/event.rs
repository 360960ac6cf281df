//! The normalized event: every source, physical or digital, becomes one `Event`.
//!
//! Classes follow OCSF where OCSF has one (Authentication 3002, Network Activity 4001, DHCP
//! Activity 4004, Device Inventory Info 5001, File Hosting Activity 6006); physical security has
//! no OCSF class, so Seam defines a documented extension in the 9000 range, shaped like the
//! proposed OCSF "Physical Access Activity" (decision and door use are separate activities).
//! See docs/events.md for the full schema.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::Ts;
use crate::directory::DirectoryDelta;

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Option<$name> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }

            /// Where the value is in [`Self::ALL`].
            pub const fn position(self) -> usize {
                self as usize
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum! {
    /// What kind of thing happened; each class has its own activities.
    EventClass {
        Authentication = "authentication",
        NetworkSession = "network_session",
        NetworkActivity = "network_activity",
        Dhcp = "dhcp",
        DeviceInventory = "device_inventory",
        ResourceAccess = "resource_access",
        PhysicalAccess = "physical_access",
        Occupancy = "occupancy",
        Visitor = "visitor",
        Booking = "booking",
        DeviceStatus = "device_status",
        AccountChange = "account_change",
        EntityManagement = "entity_management",
        ApiActivity = "api_activity",
        ChangeRequest = "change_request",
        Directory = "directory",
    }
}

impl EventClass {
    /// The OCSF `class_uid`; 9xxx are Seam's documented physical-security extension.
    pub fn ocsf_class_uid(self) -> u32 {
        match self {
            EventClass::Authentication => 3002,
            EventClass::NetworkSession | EventClass::NetworkActivity => 4001,
            EventClass::Dhcp => 4004,
            EventClass::DeviceInventory => 5001,
            EventClass::ResourceAccess => 6006,
            EventClass::PhysicalAccess => 9001,
            EventClass::Occupancy => 9101,
            EventClass::Visitor => 9102,
            EventClass::Booking => 9103,
            EventClass::DeviceStatus => 9104,
            EventClass::AccountChange => 3001,
            EventClass::EntityManagement => 3004,
            EventClass::ApiActivity => 6003,
            EventClass::ChangeRequest => 9105,
            EventClass::Directory => 9106,
        }
    }

    /// The activities this class admits, for validation of input.
    pub fn admits(self, activity: Activity) -> bool {
        use Activity as A;
        match self {
            EventClass::Authentication => {
                matches!(activity, A::Logon | A::Logoff | A::Mfa | A::AuthOther)
            }
            EventClass::NetworkSession => matches!(activity, A::Connect | A::Disconnect),
            EventClass::NetworkActivity => matches!(activity, A::Traffic),
            EventClass::Dhcp => matches!(activity, A::Assign | A::Release),
            EventClass::DeviceInventory => matches!(activity, A::Posture),
            EventClass::ResourceAccess => matches!(activity, A::Read | A::Write | A::Delete),
            EventClass::PhysicalAccess => matches!(
                activity,
                A::Granted
                    | A::Denied
                    | A::DoorUsed
                    | A::DoorNotUsed
                    | A::Forced
                    | A::HeldOpen
                    | A::Tamper
                    | A::AntiPassback
                    | A::Duress
                    | A::RequestToExit
            ),
            EventClass::Occupancy => matches!(activity, A::Count),
            EventClass::Visitor => matches!(activity, A::CheckIn | A::CheckOut),
            EventClass::Booking => matches!(activity, A::Booked | A::Cancelled),
            EventClass::DeviceStatus => {
                matches!(activity, A::Online | A::Offline | A::ConfigChange)
            }
            EventClass::AccountChange => matches!(
                activity,
                A::AccountCreated
                    | A::AccountEnabled
                    | A::PasswordChanged
                    | A::PasswordReset
                    | A::AccountDisabled
                    | A::AccountDeleted
                    | A::AccountLocked
                    | A::AccountUnlocked
                    | A::MfaEnrolled
                    | A::MfaRemoved
                    | A::PolicyAttached
                    | A::PolicyDetached
                    | A::AccountOther
            ),
            EventClass::EntityManagement => matches!(
                activity,
                A::EntityCreated
                    | A::EntityRead
                    | A::EntityUpdated
                    | A::EntityDeleted
                    | A::EntityEnabled
                    | A::EntityDisabled
                    | A::EntityOther
            ),
            EventClass::ApiActivity => matches!(activity, A::ApiCall),
            EventClass::ChangeRequest => matches!(
                activity,
                A::ChangeScheduled | A::ChangePending | A::ChangeClosed | A::ChangeCancelled
            ),
            EventClass::Directory => matches!(
                activity,
                A::PersonCreated
                    | A::PersonUpdated
                    | A::PersonDisabled
                    | A::PersonDeleted
                    | A::PlacesChanged
            ),
        }
    }
}

string_enum! {
    /// The activity within a class.
    Activity {
        Logon = "logon",
        Logoff = "logoff",
        Mfa = "mfa",
        Connect = "connect",
        Disconnect = "disconnect",
        Traffic = "traffic",
        Assign = "assign",
        Release = "release",
        Posture = "posture",
        Read = "read",
        Write = "write",
        Delete = "delete",
        Granted = "granted",
        Denied = "denied",
        DoorUsed = "door_used",
        DoorNotUsed = "door_not_used",
        Forced = "forced",
        HeldOpen = "held_open",
        Tamper = "tamper",
        AntiPassback = "anti_passback",
        Duress = "duress",
        RequestToExit = "request_to_exit",
        Count = "count",
        CheckIn = "check_in",
        CheckOut = "check_out",
        Booked = "booked",
        Cancelled = "cancelled",
        Online = "online",
        Offline = "offline",
        ConfigChange = "config_change",
        AuthOther = "auth_other",
        AccountCreated = "account_created",
        AccountEnabled = "account_enabled",
        PasswordChanged = "password_changed",
        PasswordReset = "password_reset",
        AccountDisabled = "account_disabled",
        AccountDeleted = "account_deleted",
        AccountLocked = "account_locked",
        AccountUnlocked = "account_unlocked",
        MfaEnrolled = "mfa_enrolled",
        MfaRemoved = "mfa_removed",
        PolicyAttached = "policy_attached",
        PolicyDetached = "policy_detached",
        AccountOther = "account_other",
        EntityCreated = "entity_created",
        EntityRead = "entity_read",
        EntityUpdated = "entity_updated",
        EntityDeleted = "entity_deleted",
        EntityEnabled = "entity_enabled",
        EntityDisabled = "entity_disabled",
        EntityOther = "entity_other",
        ApiCall = "api_call",
        ChangeScheduled = "change_scheduled",
        ChangePending = "change_pending",
        ChangeClosed = "change_closed",
        ChangeCancelled = "change_cancelled",
        PersonCreated = "person_created",
        PersonUpdated = "person_updated",
        PersonDisabled = "person_disabled",
        PersonDeleted = "person_deleted",
        PlacesChanged = "places_changed",
    }
}

string_enum! {
    /// Whether the attempt succeeded; `unknown` when the source does not say.
    Outcome {
        Unknown = "unknown",
        Success = "success",
        Failure = "failure",
    }
}

string_enum! {
    /// How a network session reached the network.
    Medium {
        Wifi = "wifi",
        Wired = "wired",
        Vpn = "vpn",
    }
}

/// The identifiers an event carries about its subject, as the source wrote them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subject {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub badge: Option<String>,
    /// UPN, e-mail or login name as the IdP reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// An IdP's own user id (Okta `00u…`, Entra object id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<IpAddr>,
}

impl Subject {
    pub fn is_empty(&self) -> bool {
        self.badge.is_none()
            && self.user.is_none()
            && self.idp_id.is_none()
            && self.device.is_none()
            && self.mac.is_none()
            && self.ip.is_none()
    }
}

/// Where a connection or sign-in came from.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lon: Option<f64>,
}

impl Source {
    pub fn is_empty(&self) -> bool {
        self.ip.is_none() && self.country.is_none() && self.lat.is_none()
    }
}

/// Where a connection went.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Destination {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

impl Destination {
    pub fn is_empty(&self) -> bool {
        self.ip.is_none() && self.port.is_none() && self.host.is_none()
    }
}

/// A change request as a change-management system records it: approved work on named
/// configuration items, by named people, inside a planned window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeDetails {
    /// The ticket's number (`CHG0030001`).
    pub number: String,
    /// The planned window.
    pub start: Ts,
    pub end: Ts,
    /// The configuration items it touches, by the names the change system gives them (host
    /// names, asset ids, application names).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<String>,
    /// The people assigned, by login name or e-mail.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assignees: Vec<String>,
    /// The assignment groups; a person belongs to one when it is among her roles.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// One normalized event. Field names here are the names rules use (see docs/events.md).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// Stable id: the source's own event id where it has one, else a digest of the raw record.
    pub uid: String,
    /// When it happened, by the source's clock.
    pub time: Ts,
    /// When Seam received it; defaults to `time` in files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed: Option<Ts>,
    /// The configured source name (`okta`, `pacs-hq`, …).
    pub source: String,
    pub class: EventClass,
    pub activity: Activity,
    #[serde(default = "unknown_outcome", skip_serializing_if = "is_unknown")]
    pub outcome: Outcome,
    /// Why it failed or was denied, in the source's words or a normalized code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Subject::is_empty")]
    pub subject: Subject,
    #[serde(default, skip_serializing_if = "Source::is_empty")]
    pub src: Source,
    #[serde(default, skip_serializing_if = "Destination::is_empty")]
    pub dst: Destination,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub door: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reader: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ap: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub switch_port: Option<String>,
    /// The asset the event is about: a target server, a reporting controller or camera.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub medium: Option<Medium>,
    /// People counted (occupancy: people now in the zone; door sensor: people through).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_out: Option<u64>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub privileged: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa: Option<bool>,
    /// Device posture as reported with the event (NAC, MDM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compliant: Option<bool>,
    /// The end of what the event opens: a DHCP lease, a booking, a session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Ts>,
    /// A change request's ticket, window, items and assignees (class `change_request`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<Box<ChangeDetails>>,
    /// What a system of record says of a person (class `directory`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<Box<DirectoryDelta>>,
    /// Edited estate files whose places take effect (class `directory`, `places_changed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub places: Option<Box<crate::directory::EstatePlaces>>,
    /// The original record, as received (parsed JSON, or a JSON string for text formats).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<serde_json::Value>,
}

fn unknown_outcome() -> Outcome {
    Outcome::Unknown
}

fn is_unknown(outcome: &Outcome) -> bool {
    *outcome == Outcome::Unknown
}

/// Why an event is not acceptable even though it parsed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EventError {
    #[error("activity `{activity}` does not belong to class `{class}`")]
    ActivityNotInClass {
        class: EventClass,
        activity: Activity,
    },
    #[error("event uid is empty")]
    EmptyUid,
    #[error("event uid is longer than {max} bytes")]
    UidTooLong { max: usize },
    #[error("event source is empty")]
    EmptySource,
    #[error(
        "a `directory` event needs a `directory` change naming a person, or (`places_changed`) the `places`"
    )]
    DirectoryChangeMissing,
    #[error("only a `directory` event carries a `directory` change")]
    DirectoryChangeOutOfPlace,
}

impl Event {
    pub const MAX_UID_BYTES: usize = 256;

    /// A minimal event; the rest is filled in by field assignment.
    pub fn new(
        uid: impl Into<String>,
        time: Ts,
        source: impl Into<String>,
        class: EventClass,
        activity: Activity,
    ) -> Event {
        Event {
            uid: uid.into(),
            time,
            observed: None,
            source: source.into(),
            class,
            activity,
            outcome: Outcome::Unknown,
            reason: None,
            subject: Subject::default(),
            src: Source::default(),
            dst: Destination::default(),
            site: None,
            zone: None,
            door: None,
            reader: None,
            ap: None,
            switch_port: None,
            asset: None,
            resource: None,
            app: None,
            medium: None,
            count: None,
            bytes_out: None,
            privileged: false,
            mfa: None,
            compliant: None,
            until: None,
            change: None,
            directory: None,
            places: None,
            raw: None,
        }
    }

    /// Checks what serde cannot: that the activity fits the class and ids are sane.
    pub fn validate(&self) -> Result<(), EventError> {
        if self.uid.is_empty() {
            return Err(EventError::EmptyUid);
        }
        if self.uid.len() > Self::MAX_UID_BYTES {
            return Err(EventError::UidTooLong {
                max: Self::MAX_UID_BYTES,
            });
        }
        if self.source.is_empty() {
            return Err(EventError::EmptySource);
        }
        if !self.class.admits(self.activity) {
            return Err(EventError::ActivityNotInClass {
                class: self.class,
                activity: self.activity,
            });
        }
        let is_directory = self.class == EventClass::Directory;
        let places = self.activity == Activity::PlacesChanged;
        match (&self.directory, &self.places) {
            (Some(delta), None) if is_directory && !places && !delta.person.trim().is_empty() => {}
            (None, Some(_)) if is_directory && places => {}
            (None, None) if !is_directory => {}
            _ if is_directory => return Err(EventError::DirectoryChangeMissing),
            _ => return Err(EventError::DirectoryChangeOutOfPlace),
        }
        Ok(())
    }

    pub fn observed_time(&self) -> Ts {
        self.observed.unwrap_or(self.time)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_json_without_empty_fields() {
        let mut event = Event::new(
            "e1",
            Ts(1_772_442_000_000),
            "pacs",
            EventClass::PhysicalAccess,
            Activity::Granted,
        );
        event.subject.badge = Some("4411".into());
        event.door = Some("hq-main".into());
        let json = serde_json::to_string(&event).unwrap();
        assert_eq!(
            json,
            r#"{"uid":"e1","time":"2026-03-02T09:00:00.000Z","source":"pacs","class":"physical_access","activity":"granted","subject":{"badge":"4411"},"door":"hq-main"}"#
        );
        let back: Event = serde_json::from_str(&json).unwrap();
        assert_eq!(back, event);
    }

    #[test]
    fn rejects_unknown_fields_and_mismatched_activity() {
        let unknown = serde_json::from_str::<Event>(
            r#"{"uid":"e1","time":"2026-03-02T09:00:00Z","source":"s","class":"occupancy","activity":"count","colour":"red"}"#,
        );
        assert!(
            unknown
                .unwrap_err()
                .to_string()
                .contains("unknown field `colour`")
        );
        let event = Event::new("e1", Ts(0), "s", EventClass::Occupancy, Activity::Granted);
        assert_eq!(
            event.validate().unwrap_err().to_string(),
            "activity `granted` does not belong to class `occupancy`"
        );
    }

    #[test]
    fn every_activity_belongs_to_exactly_one_class() {
        for activity in Activity::ALL {
            let classes = EventClass::ALL
                .iter()
                .filter(|class| class.admits(*activity))
                .count();
            assert_eq!(classes, 1, "{activity}");
        }
    }
}
