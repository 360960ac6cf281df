//! The file schema: what one entry of each table may say, before any check across entries.
//!
//! Every reference and every value checked later is `Spanned`, so that an error can point at it.

use serde::{Deserialize, Deserializer};
use toml::Spanned;

use crate::identity::IdentifierKind;
use crate::model::{
    AssetKind, DoorKind, Level, NetworkKind, PersonKind, PortKind, ResourceKind, SensorKind,
    SiteStatus, StatusKind, ZoneKind,
};

pub(crate) type Text = Spanned<String>;

/// A scalar written either as a string or as a bare TOML value (a date-time, a local time or
/// an integer such as a badge number), kept as its text.
#[derive(Clone, Debug)]
pub(crate) struct Scalar(pub(crate) String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Scalar, D::Error> {
        match toml::Value::deserialize(deserializer)? {
            toml::Value::String(text) => Ok(Scalar(text)),
            toml::Value::Datetime(datetime) => Ok(Scalar(datetime.to_string())),
            toml::Value::Integer(number) => Ok(Scalar(number.to_string())),
            other => Err(serde::de::Error::invalid_type(
                serde::de::Unexpected::Other(other.type_str()),
                &"a string",
            )),
        }
    }
}

pub(crate) type SpannedScalar = Spanned<Scalar>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSite {
    pub id: Text,
    pub name: String,
    pub timezone: Text,
    pub lat: Spanned<f64>,
    pub lon: Spanned<f64>,
    #[serde(default)]
    pub egress: Vec<Text>,
    #[serde(default = "active")]
    pub status: SiteStatus,
    pub decommissioned_since: Option<SpannedScalar>,
    pub hours: Option<Spanned<RawHours>>,
}

fn active() -> SiteStatus {
    SiteStatus::Active
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHours {
    pub days: Spanned<Vec<Text>>,
    pub open: SpannedScalar,
    pub close: SpannedScalar,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawZone {
    pub id: Text,
    pub site: Text,
    pub name: String,
    pub kind: ZoneKind,
    pub sensitivity: Level,
    #[serde(default)]
    pub high_traffic: bool,
    #[serde(default)]
    pub anti_passback: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDoor {
    pub id: Text,
    pub site: Text,
    pub from: Text,
    pub to: Text,
    #[serde(default)]
    pub readers: Vec<Text>,
    /// Default: `entrance` for a door from or to the outside, else `interior`.
    pub kind: Option<DoorKind>,
    pub controller: Option<Text>,
    #[serde(default)]
    pub position_switch: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAp {
    pub id: Text,
    pub zone: Text,
    #[serde(default)]
    pub bssids: Vec<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSwitchPort {
    pub id: Text,
    pub zone: Text,
    pub network: Text,
    /// Default: from the zone (a meeting room's port is `meeting`, a server room's `server`),
    /// else `desk`.
    pub kind: Option<PortKind>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNetwork {
    pub id: Text,
    pub site: Option<Text>,
    pub cidrs: Spanned<Vec<Text>>,
    pub kind: NetworkKind,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAsset {
    pub id: Text,
    pub kind: AssetKind,
    pub zone: Text,
    pub network: Option<Text>,
    #[serde(default)]
    pub ips: Vec<Text>,
    #[serde(default)]
    pub macs: Vec<Text>,
    #[serde(default)]
    pub hostnames: Vec<Text>,
    #[serde(default = "medium")]
    pub criticality: Level,
    pub owner: Option<Text>,
    #[serde(default)]
    pub covers: Vec<Text>,
    pub sensor: Option<Spanned<RawSensor>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSensor {
    pub kind: SensorKind,
    pub door: Option<Text>,
    pub latency_secs: Option<Spanned<f64>>,
}

fn medium() -> Level {
    Level::Medium
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawResource {
    pub id: Text,
    pub kind: ResourceKind,
    #[serde(default)]
    pub labels: Vec<String>,
    pub asset: Option<Text>,
    #[serde(default)]
    pub aliases: Vec<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPerson {
    pub id: Text,
    pub name: String,
    pub kind: PersonKind,
    #[serde(default)]
    pub status: Vec<RawStatus>,
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub clearances: Vec<Text>,
    #[serde(default)]
    pub privileged: bool,
    pub home_site: Option<Text>,
    pub schedule: Option<Spanned<RawSchedule>>,
    pub window: Option<Spanned<RawWindow>>,
    pub host: Option<Text>,
    #[serde(default)]
    pub identifiers: Vec<RawIdentifier>,
    pub department: Option<String>,
    pub team: Option<String>,
    /// The manager's person id.
    pub manager: Option<String>,
    #[serde(default)]
    pub remote_days: Vec<Text>,
    #[serde(default)]
    pub on_call: Vec<Spanned<RawWindow>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStatus {
    pub status: StatusKind,
    pub since: SpannedScalar,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSchedule {
    pub days: Spanned<Vec<Text>>,
    pub start: SpannedScalar,
    pub end: SpannedScalar,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWindow {
    pub start: SpannedScalar,
    pub end: SpannedScalar,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawIdentifier {
    pub kind: IdentifierKind,
    pub value: SpannedScalar,
    pub from: Option<SpannedScalar>,
    pub until: Option<SpannedScalar>,
}
