//! Identity resolution at the event's time.
//!
//! Static bindings (badges, accounts, devices, MACs with validity intervals) come from the
//! directory; dynamic ones are learned from events: DHCP leases bind an IP to a MAC, network
//! sessions bind an IP or a MAC to the user who authenticated. Every dynamic binding has an
//! interval too, so "who had 10.10.1.21 at 09:12?" has one answer.

use std::collections::HashMap;
use std::net::IpAddr;

use foldhash::fast::RandomState;
use serde::{Deserialize, Serialize};

use seam_estate::{Estate, IdentifierKind, PersonIdx, normalize_identifier};
use seam_model::{Event, Ts};

/// How long a MAC stays bound to the user who last authenticated with it.
const LEARNED_MAC_TTL_MS: i64 = 24 * 3_600_000;
/// A network session with no stop record is believed for this long.
const SESSION_TTL_MS: i64 = 12 * 3_600_000;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Lease {
    mac: String,
    from: Ts,
    until: Ts,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct SessionBinding {
    person: PersonIdx,
    from: Ts,
    until: Ts,
}

/// Which identifier gave the answer; shown in explanations and counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResolvedBy {
    Badge,
    IdpId,
    User,
    Device,
    Mac,
    Ip,
    AssetOwner,
}

/// Whether a person was found through a device rather than through her own credential: the
/// event is about the device (a machine's authentication, its traffic), which is evidence of
/// where the device is and only with a portable device of where she is.
pub fn is_device_evidence(by: ResolvedBy) -> bool {
    matches!(
        by,
        ResolvedBy::Device | ResolvedBy::AssetOwner | ResolvedBy::Mac | ResolvedBy::Ip
    )
}

/// Bindings learned from events. Keyed by IP or MAC; pruned as they expire.
///
/// The keys come from events, so the maps hash with a per-process random seed; they are
/// written sorted by key, so snapshots do not depend on the seed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DynamicIdentity {
    #[serde(with = "sorted")]
    leases: HashMap<IpAddr, Lease, RandomState>,
    #[serde(with = "sorted")]
    ip_sessions: HashMap<IpAddr, SessionBinding, RandomState>,
    #[serde(with = "sorted")]
    learned_macs: HashMap<String, SessionBinding, RandomState>,
}

/// A hash map written as a map sorted by key.
mod sorted {
    use std::collections::HashMap;
    use std::hash::{BuildHasher, Hash};

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<K, V, H, S>(map: &HashMap<K, V, H>, serializer: S) -> Result<S::Ok, S::Error>
    where
        K: Serialize + Ord,
        V: Serialize,
        S: Serializer,
    {
        let mut entries: Vec<(&K, &V)> = map.iter().collect();
        entries.sort_by(|left, right| left.0.cmp(right.0));
        serializer.collect_map(entries)
    }

    pub fn deserialize<'de, K, V, H, D>(deserializer: D) -> Result<HashMap<K, V, H>, D::Error>
    where
        K: Deserialize<'de> + Eq + Hash,
        V: Deserialize<'de>,
        H: BuildHasher + Default,
        D: Deserializer<'de>,
    {
        HashMap::<K, V, H>::deserialize(deserializer)
    }
}

impl DynamicIdentity {
    /// Learns from one in-order event (DHCP leases, network sessions with a user).
    pub fn learn(&mut self, event: &Event, person: Option<PersonIdx>) {
        use seam_model::{Activity, EventClass};
        match (event.class, event.activity) {
            (EventClass::Dhcp, Activity::Assign) => {
                if let (Some(ip), Some(mac)) = (event.subject.ip, event.subject.mac.as_deref()) {
                    let until = event
                        .until
                        .unwrap_or(event.time.plus_millis(SESSION_TTL_MS));
                    let mac = normalize_identifier(IdentifierKind::Mac, mac).into_owned();
                    self.leases.insert(
                        ip,
                        Lease {
                            mac,
                            from: event.time,
                            until,
                        },
                    );
                }
            }
            (EventClass::Dhcp, Activity::Release) => {
                if let Some(ip) = event.subject.ip
                    && let Some(lease) = self.leases.get_mut(&ip)
                {
                    lease.until = lease.until.min(event.time);
                }
            }
            (EventClass::NetworkSession, Activity::Connect) => {
                let Some(person) = person else { return };
                if event.outcome == seam_model::Outcome::Failure {
                    return;
                }
                let until = event
                    .until
                    .unwrap_or(event.time.plus_millis(SESSION_TTL_MS));
                if let Some(ip) = event.subject.ip {
                    self.ip_sessions.insert(
                        ip,
                        SessionBinding {
                            person,
                            from: event.time,
                            until,
                        },
                    );
                }
                if let Some(mac) = event.subject.mac.as_deref() {
                    let mac = normalize_identifier(IdentifierKind::Mac, mac);
                    let binding = SessionBinding {
                        person,
                        from: event.time,
                        until: event.time.plus_millis(LEARNED_MAC_TTL_MS),
                    };
                    // A device reconnects far more often than a new one appears: update in
                    // place without allocating the key.
                    match self.learned_macs.get_mut(mac.as_ref()) {
                        Some(known) => *known = binding,
                        None => {
                            self.learned_macs.insert(mac.into_owned(), binding);
                        }
                    }
                }
            }
            (EventClass::NetworkSession, Activity::Disconnect) => {
                if let Some(ip) = event.subject.ip
                    && let Some(binding) = self.ip_sessions.get_mut(&ip)
                {
                    binding.until = binding.until.min(event.time);
                }
            }
            _ => {}
        }
    }

    /// Drops bindings that ended before `horizon`; keeps memory bounded by what is live.
    pub fn prune(&mut self, horizon: Ts) {
        self.leases.retain(|_, lease| lease.until >= horizon);
        self.ip_sessions
            .retain(|_, binding| binding.until >= horizon);
        self.learned_macs
            .retain(|_, binding| binding.until >= horizon);
    }

    pub fn len(&self) -> usize {
        self.leases.len() + self.ip_sessions.len() + self.learned_macs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn mac_at(&self, estate: &Estate, mac: &str, at: Ts) -> Option<PersonIdx> {
        let mac = normalize_identifier(IdentifierKind::Mac, mac);
        estate.resolve(IdentifierKind::Mac, &mac, at).or_else(|| {
            self.learned_macs
                .get(mac.as_ref())
                .filter(|binding| binding.from <= at && at < binding.until)
                .map(|binding| binding.person)
        })
    }

    fn ip_at(&self, estate: &Estate, ip: IpAddr, at: Ts) -> Option<PersonIdx> {
        if let Some(binding) = self
            .ip_sessions
            .get(&ip)
            .filter(|b| b.from <= at && at < b.until)
        {
            return Some(binding.person);
        }
        let lease = self
            .leases
            .get(&ip)
            .filter(|lease| lease.from <= at && at < lease.until)?;
        self.mac_at(estate, &lease.mac, at)
    }

    /// The one person the event's identifiers point to at its time, strongest identifier first.
    pub fn resolve(&self, estate: &Estate, event: &Event) -> Option<(PersonIdx, ResolvedBy)> {
        resolve_in_directory(estate, event).or_else(|| self.resolve_learned(estate, event))
    }

    /// What [`resolve`](Self::resolve) gives for an event whose directory identifiers
    /// resolved to nothing ([`resolve_in_directory`]): the bindings learned from events.
    /// The MAC address leased `ip` at `at`, if a DHCP lease says so.
    pub fn leased_mac(&self, ip: IpAddr, at: Ts) -> Option<&str> {
        self.leases
            .get(&ip)
            .filter(|lease| lease.from <= at && at < lease.until)
            .map(|lease| lease.mac.as_str())
    }

    pub fn resolve_learned(
        &self,
        estate: &Estate,
        event: &Event,
    ) -> Option<(PersonIdx, ResolvedBy)> {
        let at = event.time;
        let subject = &event.subject;
        if let Some(mac) = subject.mac.as_deref()
            && let Some(person) = self
                .learned_macs
                .get(normalize_identifier(IdentifierKind::Mac, mac).as_ref())
                .filter(|binding| binding.from <= at && at < binding.until)
                .map(|binding| binding.person)
        {
            return Some((person, ResolvedBy::Mac));
        }
        if let Some(ip) = subject.ip {
            if let Some(person) = self.ip_at(estate, ip, at) {
                return Some((person, ResolvedBy::Ip));
            }
            if let Some(owner) = estate.asset_by_ip(ip).and_then(|a| estate.asset(a).owner) {
                return Some((owner, ResolvedBy::AssetOwner));
            }
        }
        None
    }
}

/// Prefetches the directory slot of the identifier [`resolve_in_directory`] tries first.
pub fn prefetch_directory(estate: &Estate, event: &Event) {
    let subject = &event.subject;
    let first = [
        (IdentifierKind::Badge, &subject.badge),
        (IdentifierKind::Okta, &subject.idp_id),
        (IdentifierKind::Upn, &subject.user),
        (IdentifierKind::Device, &subject.device),
        (IdentifierKind::Mac, &subject.mac),
    ]
    .into_iter()
    .find_map(|(kind, value)| Some((kind, value.as_deref()?)));
    if let Some((kind, value)) = first {
        estate.prefetch_identifier(kind, value);
    }
}

/// The first person named by the event's identifiers in the directory, strongest first:
/// badge, IdP id, account, device (or the owner of the asset it names), MAC. It depends on
/// the directory and the event alone, so it can be worked out before the event's turn.
pub fn resolve_in_directory(estate: &Estate, event: &Event) -> Option<(PersonIdx, ResolvedBy)> {
    let at = event.time;
    let subject = &event.subject;
    if let Some(badge) = subject.badge.as_deref()
        && let Some(person) = estate.resolve(IdentifierKind::Badge, badge, at)
    {
        return Some((person, ResolvedBy::Badge));
    }
    if let Some(id) = subject.idp_id.as_deref() {
        for kind in [IdentifierKind::Okta, IdentifierKind::Entra] {
            if let Some(person) = estate.resolve(kind, id, at) {
                return Some((person, ResolvedBy::IdpId));
            }
        }
    }
    if let Some(user) = subject.user.as_deref() {
        for kind in [
            IdentifierKind::Upn,
            IdentifierKind::Email,
            IdentifierKind::Username,
        ] {
            if let Some(person) = estate.resolve(kind, user, at) {
                return Some((person, ResolvedBy::User));
            }
        }
    }
    if let Some(device) = subject.device.as_deref() {
        if let Some(person) = estate.resolve(IdentifierKind::Device, device, at) {
            return Some((person, ResolvedBy::Device));
        }
        if let Some(owner) = estate
            .asset_by_hostname(device)
            .and_then(|a| estate.asset(a).owner)
        {
            return Some((owner, ResolvedBy::AssetOwner));
        }
    }
    let mac = subject.mac.as_deref()?;
    estate
        .resolve(IdentifierKind::Mac, mac, at)
        .map(|person| (person, ResolvedBy::Mac))
}
