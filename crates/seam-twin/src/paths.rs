//! Attack paths across the estate: physical edges (doors, and the clearances they need) and
//! network edges (a wall port or an access point in a zone, its network, the assets on it).
//!
//! Each step of a path is also written as the event it would leave, so that the caller can run
//! the path through the real engine and say, step by step, which rules would see it; a step no
//! rule sees is a blind spot.

use std::collections::{BTreeSet, VecDeque};

use seam_estate::{
    AssetIdx, Estate, IdentifierKind, NetworkKind, PersonIdx, SiteStatus, ZoneIdx, ZoneKind,
};
use seam_model::{Activity, Event, EventClass, Medium, Outcome, Ts};
use serde::Serialize;

/// Where the attacker is or wants to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Node {
    Outside,
    Zone(u32),
    Network(u32),
    Asset(u32),
}

/// What the attacker holds.
#[derive(Clone, Debug, Default)]
pub struct Credentials {
    /// A badge, and whose it is.
    pub badge: Option<(String, Option<PersonIdx>)>,
    /// An account's password, and whose it is.
    pub password: Option<(String, Option<PersonIdx>)>,
}

impl Credentials {
    /// Parses `badge:ID,password:UPN`, resolving holders at `at`.
    pub fn parse(estate: &Estate, text: &str, at: Ts) -> Result<Credentials, String> {
        let mut credentials = Credentials::default();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((kind, value)) = part.split_once(':') else {
                return Err(format!("`{part}`: expected kind:value, such as badge:4411"));
            };
            match kind {
                "badge" => {
                    let holder = estate.resolve(IdentifierKind::Badge, value, at);
                    credentials.badge = Some((value.to_string(), holder));
                }
                "password" => {
                    let holder = estate
                        .resolve(IdentifierKind::Upn, value, at)
                        .or_else(|| estate.resolve(IdentifierKind::Username, value, at));
                    credentials.password = Some((value.to_string(), holder));
                }
                other => {
                    return Err(format!(
                        "unknown credential `{other}`: expected badge or password"
                    ));
                }
            }
        }
        Ok(credentials)
    }
}

/// How a step is taken.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Badge through a door the badge is cleared for.
    Badge { door: String },
    /// Through a door without a cleared badge: behind someone, or by force.
    Tailgate { door: String },
    /// A device plugged into a wall port.
    Plug { port: String },
    /// A device on an access point's Wi-Fi.
    Wifi { ap: String },
    /// Signing in to an asset with the password held.
    SignIn { user: String },
    /// Reaching an asset over the network without a credential.
    Reach,
}

/// One step of a path.
#[derive(Clone, Debug, Serialize)]
pub struct Step {
    pub from: Node,
    pub to: Node,
    pub method: Method,
    /// In words, for people.
    pub text: String,
}

/// A path from the start to the target.
#[derive(Clone, Debug, Serialize)]
pub struct Path {
    pub steps: Vec<Step>,
}

/// The estate as a graph of places and networks.
#[derive(Debug)]
pub struct Graph<'a> {
    estate: &'a Estate,
    credentials: Credentials,
    at: Ts,
}

impl<'a> Graph<'a> {
    pub fn new(estate: &'a Estate, credentials: Credentials, at: Ts) -> Graph<'a> {
        Graph {
            estate,
            credentials,
            at,
        }
    }

    /// Reads `outside`, a zone id or an asset id.
    pub fn node(&self, text: &str) -> Option<Node> {
        if text == "outside" {
            return Some(Node::Outside);
        }
        if let Some(zone) = self.estate.zone_idx(text) {
            return Some(Node::Zone(zone.0));
        }
        if let Some(asset) = self.estate.asset_idx(text) {
            return Some(Node::Asset(asset.0));
        }
        self.estate.network_idx(text).map(|n| Node::Network(n.0))
    }

    pub fn name(&self, node: Node) -> String {
        match node {
            Node::Outside => "outside".to_string(),
            Node::Zone(z) => self.estate.zone(ZoneIdx(z)).id.clone(),
            Node::Network(n) => self.estate.network(seam_estate::NetworkIdx(n)).id.clone(),
            Node::Asset(a) => self.estate.asset(AssetIdx(a)).id.clone(),
        }
    }

    fn badge_opens(&self, zone: ZoneIdx) -> bool {
        match &self.credentials.badge {
            Some((_, Some(holder))) => self.estate.cleared_for(*holder, zone),
            _ => false,
        }
    }

    /// The steps out of `node`.
    pub fn edges(&self, node: Node) -> Vec<Step> {
        let estate = self.estate;
        let mut out = Vec::new();
        let here = match node {
            Node::Outside => None,
            Node::Zone(z) => Some(ZoneIdx(z)),
            Node::Network(n) => {
                let network = seam_estate::NetworkIdx(n);
                for (index, asset) in estate.assets().iter().enumerate() {
                    if asset.network != Some(network) {
                        continue;
                    }
                    let to = Node::Asset(index as u32);
                    let (method, text) = match &self.credentials.password {
                        Some((user, _)) => (
                            Method::SignIn { user: user.clone() },
                            format!("sign in to {} as {user}", asset.id),
                        ),
                        None => (
                            Method::Reach,
                            format!("reach {} over the network", asset.id),
                        ),
                    };
                    out.push(Step {
                        from: node,
                        to,
                        method,
                        text,
                    });
                }
                return out;
            }
            Node::Asset(_) => return out,
        };
        for door in estate.doors() {
            if door.from != here {
                continue;
            }
            // A door from outside belongs to one site: the attacker walks up to any site.
            let Some(to) = door.to else { continue };
            if estate.site(door.site).status == SiteStatus::Decommissioned {
                continue;
            }
            let (method, verb) = if self.badge_opens(to) {
                (
                    Method::Badge {
                        door: door.id.clone(),
                    },
                    "badge through",
                )
            } else {
                (
                    Method::Tailgate {
                        door: door.id.clone(),
                    },
                    "tailgate or force",
                )
            };
            out.push(Step {
                from: node,
                to: Node::Zone(to.0),
                method,
                text: format!("{verb} {} into {}", door.id, estate.zone(to).id),
            });
        }
        if let Some(zone) = here {
            for port in estate.switch_ports() {
                if port.zone == zone {
                    out.push(Step {
                        from: node,
                        to: Node::Network(port.network.0),
                        method: Method::Plug {
                            port: port.id.clone(),
                        },
                        text: format!(
                            "plug a device into {} onto {}",
                            port.id,
                            estate.network(port.network).id
                        ),
                    });
                }
            }
            // Wi-Fi: the guest network anyone joins; the corporate one with a password.
            let site = estate.zone(zone).site;
            for ap in estate.aps().iter().filter(|ap| ap.zone == zone).take(1) {
                let wanted = if self.credentials.password.is_some() {
                    NetworkKind::Corporate
                } else {
                    NetworkKind::Guest
                };
                if let Some((index, network)) = estate
                    .networks()
                    .iter()
                    .enumerate()
                    .find(|(_, n)| n.site == Some(site) && n.kind == wanted)
                {
                    out.push(Step {
                        from: node,
                        to: Node::Network(index as u32),
                        method: Method::Wifi { ap: ap.id.clone() },
                        text: format!(
                            "join {} on {} via {}",
                            network.id,
                            estate.zone(zone).id,
                            ap.id
                        ),
                    });
                }
            }
        }
        out
    }

    /// Up to `limit` paths from `from` to `to`, shortest first, each visiting a place once.
    pub fn paths(&self, from: Node, to: Node, limit: usize) -> Vec<Path> {
        const MAX_STEPS: usize = 8;
        let mut found: Vec<Path> = Vec::new();
        // Breadth-first over partial paths gives the shortest ones first.
        let mut queue: VecDeque<(Node, Vec<Step>)> = VecDeque::new();
        queue.push_back((from, Vec::new()));
        let mut expanded = 0usize;
        while let Some((node, steps)) = queue.pop_front() {
            expanded += 1;
            if found.len() >= limit || expanded > 200_000 {
                break;
            }
            if node == to && !steps.is_empty() {
                found.push(Path { steps });
                continue;
            }
            if steps.len() >= MAX_STEPS {
                continue;
            }
            let visited: BTreeSet<Node> = std::iter::once(from)
                .chain(steps.iter().map(|s| s.to))
                .collect();
            for step in self.edges(node) {
                if visited.contains(&step.to) {
                    continue;
                }
                let mut next = steps.clone();
                let target = step.to;
                next.push(step);
                queue.push_back((target, next));
            }
        }
        found
    }

    /// The events the path's steps leave, one group per step, starting at `start` with a few
    /// minutes between steps.
    pub fn events(&self, path: &Path, start: Ts) -> Vec<Vec<Event>> {
        let mut t = start.millis();
        let mut counter = 0usize;
        let mut groups = Vec::new();
        for step in &path.steps {
            let mut group = Vec::new();
            let mut event = |class, activity, offset: i64| {
                counter += 1;
                Event::new(
                    format!("tabletop-{counter:03}"),
                    Ts(t + offset),
                    "tabletop",
                    class,
                    activity,
                )
            };
            match &step.method {
                Method::Badge { door } => {
                    let badge = self
                        .credentials
                        .badge
                        .as_ref()
                        .map(|(b, _)| b.clone())
                        .unwrap_or_default();
                    let mut granted = event(EventClass::PhysicalAccess, Activity::Granted, 0);
                    granted.subject.badge = Some(badge.clone());
                    granted.door = Some(door.clone());
                    let mut used = event(EventClass::PhysicalAccess, Activity::DoorUsed, 3_000);
                    used.subject.badge = Some(badge);
                    used.door = Some(door.clone());
                    group.push(granted);
                    group.push(used);
                }
                Method::Tailgate { door } => {
                    // Behind someone: the door is used once, the zone counts one more.
                    let mut used = event(EventClass::PhysicalAccess, Activity::DoorUsed, 0);
                    used.door = Some(door.clone());
                    group.push(used);
                    if let Node::Zone(zone) = step.to {
                        let zone = self.estate.zone(ZoneIdx(zone));
                        if matches!(zone.kind, ZoneKind::ServerRoom | ZoneKind::Classified)
                            || zone.anti_passback
                        {
                            let mut count = event(EventClass::Occupancy, Activity::Count, 5_000);
                            count.zone = Some(zone.id.clone());
                            count.count = Some(1);
                            group.push(count);
                        }
                    }
                }
                Method::Plug { port } => {
                    let mut connect = event(EventClass::NetworkSession, Activity::Connect, 0);
                    connect.outcome = Outcome::Success;
                    connect.medium = Some(Medium::Wired);
                    connect.subject.mac = Some("b8:27:eb:00:00:99".into());
                    connect.switch_port = Some(port.clone());
                    group.push(connect);
                }
                Method::Wifi { ap } => {
                    let mut connect = event(EventClass::NetworkSession, Activity::Connect, 0);
                    connect.outcome = Outcome::Success;
                    connect.medium = Some(Medium::Wifi);
                    connect.subject.mac = Some("b8:27:eb:00:00:98".into());
                    connect.ap = Some(ap.clone());
                    group.push(connect);
                }
                Method::SignIn { user } => {
                    let mut signin = event(EventClass::Authentication, Activity::Logon, 0);
                    signin.outcome = Outcome::Success;
                    signin.subject.user = Some(user.clone());
                    signin.privileged = true;
                    if let Node::Asset(asset) = step.to {
                        let asset = self.estate.asset(AssetIdx(asset));
                        signin.dst.ip = asset.ips.first().copied();
                        signin.dst.host = Some(asset.id.clone());
                    }
                    group.push(signin);
                }
                Method::Reach => {}
            }
            groups.push(group);
            t += 4 * 60_000;
        }
        groups
    }

    pub fn at(&self) -> Ts {
        self.at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn estate() -> Estate {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/estate");
        Estate::load_dir(&dir).unwrap()
    }

    #[test]
    fn from_outside_to_the_database_server_through_the_doors_or_a_port() {
        let estate = estate();
        let at = Ts::parse("2026-03-02T22:00:00Z").unwrap();
        let creds = Credentials::parse(&estate, "badge:4412", at).unwrap();
        let graph = Graph::new(&estate, creds, at);
        let from = graph.node("outside").unwrap();
        let to = graph.node("hq-db1").unwrap();
        let paths = graph.paths(from, to, 5);
        assert!(!paths.is_empty());
        let shortest = &paths[0];
        let words: Vec<&str> = shortest.steps.iter().map(|s| s.text.as_str()).collect();
        // bob's badge opens the doors to the server room, whose port is on the data centre
        // network where the database server lives.
        assert!(
            words.iter().any(|w| w.contains("badge through hq-main")),
            "{words:?}"
        );
        assert!(
            words.iter().any(|w| w.contains("hq-sw2:Gi1/0/1")),
            "{words:?}"
        );
        assert!(
            paths
                .windows(2)
                .all(|w| w[0].steps.len() <= w[1].steps.len())
        );
        let events = graph.events(shortest, at);
        assert_eq!(events.len(), shortest.steps.len());
    }

    #[test]
    fn without_a_cleared_badge_doors_need_tailgating() {
        let estate = estate();
        let at = Ts::parse("2026-03-02T12:00:00Z").unwrap();
        let graph = Graph::new(&estate, Credentials::default(), at);
        let paths = graph.paths(Node::Outside, graph.node("hq-server").unwrap(), 1);
        assert!(
            paths[0]
                .steps
                .iter()
                .all(|s| matches!(s.method, Method::Tailgate { .. }))
        );
        assert!(Credentials::parse(&estate, "key:1", at).is_err());
    }
}
