//! Labelled attacks: the situation behind every default rule, and multi-stage campaigns that
//! cross from the physical side to the digital one and back.
//!
//! Each attack picks a victim whose simulated day makes it possible (a sysadmin who visits the
//! server room today, a researcher in the classified area, someone working from home) and adds
//! the events the attacker's actions leave, recording their uids as the ground truth. An
//! attack that finds no such victim is skipped and counted, never faked.

use seam_estate::{PersonKind, StatusKind};

use crate::calendar::{HOUR_MS, MINUTE_MS};
use crate::day::access::Stage;
use crate::day::{Away, DayKind, HOSTILE, Trace};
use crate::rng::Rng;
use crate::twin::{Persona, SiteView};

/// A kind of attack and the rules meant to see it.
#[derive(Clone, Copy, Debug)]
pub struct AttackKind {
    pub name: &'static str,
    pub rules: &'static [&'static str],
    pub campaign: bool,
    /// The first day of a run it may happen on: an attack that a baseline must have seen
    /// ordinary days before can only be told from one after them.
    pub from_day: u32,
}

const fn kind(name: &'static str, rules: &'static [&'static str]) -> AttackKind {
    AttackKind {
        name,
        rules,
        campaign: false,
        from_day: 0,
    }
}

const fn campaign(name: &'static str, rules: &'static [&'static str]) -> AttackKind {
    AttackKind {
        name,
        rules,
        campaign: true,
        from_day: 0,
    }
}

/// A kind that needs a baseline: from the second day of a run on.
const fn after_a_day(name: &'static str, rules: &'static [&'static str]) -> AttackKind {
    AttackKind {
        from_day: 1,
        ..kind(name, rules)
    }
}

/// Every kind, in a fixed order (the order seeds the schedule).
pub const KINDS: &[AttackKind] = &[
    kind(
        "phished-password-while-onsite",
        &["seam.onsite-offsite-signin", "seam.impossible-travel"],
    ),
    kind(
        "cloned-badge-other-site",
        &["seam.impossible-travel", "seam.anti-passback"],
    ),
    kind(
        "onsite-resource-from-home",
        &["seam.onsite-resource-offsite"],
    ),
    kind("visitor-overstay", &["seam.visitor-overstay"]),
    kind(
        "booked-room-alibi",
        &[
            "seam.booked-room-remote-signin",
            "seam.onsite-offsite-signin",
        ],
    ),
    kind(
        "badge-tested-nobody-entered",
        &["seam.badge-granted-nobody-entered"],
    ),
    kind("tailgating-server-room", &["seam.tailgating-occupancy"]),
    kind("wifi-without-badge", &["seam.wifi-without-badge"]),
    kind(
        "zombie-credential",
        &[
            "seam.inactive-person-credential",
            "seam.contractor-outside-window",
        ],
    ),
    kind(
        "decommissioned-site-badge",
        &["seam.decommissioned-site-badge"],
    ),
    kind("exfil-owner-elsewhere", &["seam.exfil-owner-elsewhere"]),
    kind("rogue-device-empty-room", &["seam.rogue-device-empty-zone"]),
    kind("nac-failures-on-port", &["seam.wired-nac-failures"]),
    kind(
        "controller-down-door-forced",
        &["seam.controller-down-door-forced"],
    ),
    kind(
        "after-hours-server-room-root",
        &["seam.after-hours-server-room-privileged"],
    ),
    kind(
        "badge-and-password-burst",
        &["seam.badge-and-signin-failure-burst"],
    ),
    kind(
        "noncompliant-laptop-in-cafe",
        &["seam.noncompliant-device-busy-zone"],
    ),
    kind(
        "badge-passed-back",
        &["seam.anti-passback", "seam.tailgating-occupancy"],
    ),
    kind(
        "contractor-after-contract",
        &["seam.contractor-outside-window"],
    ),
    campaign(
        "tailgate-rogue-device-lateral",
        &["seam.tailgating-occupancy", "seam.rogue-device-empty-zone"],
    ),
    campaign(
        "stolen-badge-phished-password",
        &[
            "seam.badge-while-remote",
            "seam.onsite-offsite-signin",
            "seam.impossible-travel",
        ],
    ),
    campaign("insider-classified-upload", &["seam.exfil-owner-elsewhere"]),
    campaign(
        "camera-blinded-door-forced",
        &["seam.controller-down-door-forced"],
    ),
    campaign(
        "dismissed-contractor",
        &[
            "seam.inactive-person-credential",
            "seam.contractor-outside-window",
        ],
    ),
    // Added later: last, so that the kinds above keep their schedule.
    kind("console-signin-no-badge", &["seam.server-console-no-badge"]),
    kind(
        "server-password-guessing",
        &["seam.server-signin-failure-burst"],
    ),
    kind(
        "classified-exit-without-entry",
        &["seam.exit-without-entry"],
    ),
    after_a_day(
        "exfil-few-megabytes-owner-away",
        &["seam.exfil-unusual-destination"],
    ),
    kind(
        "server-room-port-without-badge",
        &["seam.network-in-secure-zone-without-badge"],
    ),
];

/// Runs one attack of `kind` into the day; false when no victim fits.
pub(crate) fn run<S: Stage>(stage: &mut S, kind: &AttackKind, rng: &mut Rng) -> bool {
    let attack = Attack { kind, rng };
    match kind.name {
        "phished-password-while-onsite" => attack.phished_while_onsite(stage),
        "cloned-badge-other-site" => attack.cloned_badge_other_site(stage),
        "onsite-resource-from-home" => attack.onsite_resource_from_home(stage),
        "visitor-overstay" => attack.visitor_overstay(stage),
        "booked-room-alibi" => attack.booked_room_alibi(stage),
        "badge-tested-nobody-entered" => attack.badge_tested(stage),
        "tailgating-server-room" => attack.tailgating(stage),
        "wifi-without-badge" => attack.wifi_without_badge(stage),
        "zombie-credential" => attack.zombie_credential(stage),
        "decommissioned-site-badge" => attack.decommissioned_site(stage),
        "exfil-owner-elsewhere" => attack.exfil(stage, false),
        "rogue-device-empty-room" => attack.rogue_device(stage),
        "nac-failures-on-port" => attack.nac_failures(stage),
        "controller-down-door-forced" => attack.controller_down(stage, false),
        "after-hours-server-room-root" => attack.after_hours_root(stage),
        "badge-and-password-burst" => attack.failure_burst(stage),
        "noncompliant-laptop-in-cafe" => attack.noncompliant_in_cafe(stage),
        "badge-passed-back" => attack.passed_back(stage),
        "contractor-after-contract" => attack.contractor_after_contract(stage),
        "tailgate-rogue-device-lateral" => attack.tailgate_rogue_lateral(stage),
        "stolen-badge-phished-password" => attack.stolen_badge_phished(stage),
        "insider-classified-upload" => attack.exfil(stage, true),
        "camera-blinded-door-forced" => attack.controller_down(stage, true),
        "dismissed-contractor" => attack.dismissed_contractor(stage),
        "console-signin-no-badge" => attack.console_no_badge(stage),
        "server-password-guessing" => attack.password_guessing(stage),
        "classified-exit-without-entry" => attack.exit_without_entry(stage),
        "exfil-few-megabytes-owner-away" => attack.exfil_few_megabytes(stage),
        "server-room-port-without-badge" => attack.server_port_without_badge(stage),
        _ => false,
    }
}

struct Attack<'k, 'r> {
    kind: &'k AttackKind,
    rng: &'r mut Rng,
}

/// A site's id and its main door.
fn main_door(site: &SiteView) -> Option<(String, String)> {
    Some((site.id.clone(), site.main.as_ref()?.door.clone()))
}

/// An address an attacker uses, in the block of a hostile place.
fn hostile_ip(net: u8, rng: &mut Rng) -> String {
    format!(
        "{net}.{}.{}.{}",
        rng.below(250) + 1,
        rng.below(250) + 1,
        rng.below(250) + 1
    )
}

fn rogue_mac(rng: &mut Rng) -> String {
    format!(
        "b8:27:eb:{:02x}:{:02x}:{:02x}",
        rng.below(256),
        rng.below(256),
        rng.below(256)
    )
}

impl Attack<'_, '_> {
    /// A victim whose day satisfies `fits`, drawn uniformly among all who fit (a scan from a
    /// random start would favour whoever follows a long run of misfits).
    fn victim<S: Stage>(
        &mut self,
        stage: &S,
        fits: impl Fn(&Persona, &Trace) -> bool,
    ) -> Option<(Persona, Trace)> {
        let fitting: Vec<usize> = (0..stage.twin().people.len())
            .filter(|index| {
                stage
                    .twin()
                    .people
                    .get(*index)
                    .zip(stage.trace(*index))
                    .is_some_and(|(persona, trace)| fits(persona, trace))
            })
            .collect();
        let index = *self.rng.pick(&fitting)?;
        Some((
            stage.twin().people.get(index)?.clone(),
            stage.trace(index)?.clone(),
        ))
    }

    /// Anyone who satisfies `fits`, whatever their day (visitors, the dismissed), drawn
    /// uniformly.
    fn anyone<S: Stage>(&mut self, stage: &S, fits: impl Fn(&Persona) -> bool) -> Option<Persona> {
        let fitting: Vec<&Persona> = stage.twin().people.iter().filter(|p| fits(p)).collect();
        self.rng.pick(&fitting).map(|p| (*p).clone())
    }

    /// Someone who visits the server room today and satisfies `fits`, with the visit's start
    /// and end.
    fn server_room_visitor<S: Stage>(
        &mut self,
        stage: &S,
        fits: impl Fn(&Persona) -> bool,
    ) -> Option<(Persona, Trace, i64, i64)> {
        let in_server_room = |a: &Away| *a == Away::ServerRoom;
        let (victim, trace) =
            self.victim(stage, |p, t| fits(p) && t.away_of(in_server_room).is_some())?;
        let (start, end) = trace.away_of(in_server_room)?;
        Some((victim, trace, start, end))
    }

    fn begin<S: Stage>(&self, stage: &mut S, people: Vec<String>) {
        stage.begin(self.kind.name, self.kind.rules, people, self.kind.campaign);
    }

    fn site<S: Stage>(stage: &S, index: usize) -> Option<&SiteView> {
        stage.twin().sites.get(index)
    }

    fn hostile(&mut self) -> &'static crate::day::Place {
        let index = self.rng.below(HOSTILE.len() as u64) as usize;
        HOSTILE.get(index).unwrap_or(&crate::day::NOWHERE)
    }

    // --- One per default rule ----------------------------------------------------------------

    fn phished_while_onsite<S: Stage>(mut self, stage: &mut S) -> bool {
        let Some((victim, trace)) = self.victim(stage, |p, t| {
            t.kind == DayKind::Onsite && p.upn.is_some() && !p.night_shift
        }) else {
            return false;
        };
        let Some(t) = trace.desk_time(self.rng) else {
            return false;
        };
        let place = self.hostile();
        let ip = hostile_ip(place.net, self.rng);
        self.begin(stage, vec![victim.id.clone()]);
        stage.signin_from(
            t,
            victim.upn.as_deref().unwrap_or(""),
            &ip,
            Some(place),
            true,
        );
        stage.end();
        true
    }

    fn cloned_badge_other_site<S: Stage>(mut self, stage: &mut S) -> bool {
        let far_site = |stage: &S, from: usize| {
            let home = Self::site(stage, from)?;
            stage.twin().sites.iter().position(|other| {
                other.main.is_some()
                    && seam_estate::distance_km(home.lat, home.lon, other.lat, other.lon) > 800.0
            })
        };
        let Some((victim, trace)) = self.victim(stage, |p, t| {
            t.kind == DayKind::Onsite && t.site == p.site && !p.night_shift
        }) else {
            return false;
        };
        let Some(other) = far_site(stage, trace.site) else {
            return false;
        };
        let Some(t) = trace.desk_time(self.rng) else {
            return false;
        };
        let Some(badge) = victim.badge_at(t).map(str::to_string) else {
            return false;
        };
        let Some((site_id, door)) = Self::site(stage, other).and_then(main_door) else {
            return false;
        };
        self.begin(stage, vec![victim.id.clone()]);
        stage.badge(t, &site_id, &badge, &door, true);
        stage.end();
        true
    }

    fn onsite_resource_from_home<S: Stage>(mut self, stage: &mut S) -> bool {
        let Some(resource) = stage
            .twin()
            .resources
            .iter()
            .find(|(_, onsite)| *onsite)
            .map(|(id, _)| id.clone())
        else {
            return false;
        };
        let Some((victim, trace)) = self.victim(stage, |p, t| t.vpn.is_some() && p.upn.is_some())
        else {
            return false;
        };
        let Some((start, end, given)) = trace.vpn.clone() else {
            return false;
        };
        let t = self
            .rng
            .between(start + 20 * MINUTE_MS, end - 20 * MINUTE_MS);
        self.begin(stage, vec![victim.id.clone()]);
        stage.read(t, victim.upn.as_deref().unwrap_or(""), &given, &resource);
        stage.end();
        true
    }

    fn visitor_overstay<S: Stage>(mut self, stage: &mut S) -> bool {
        let midnights: Vec<i64> = (0..stage.twin().sites.len())
            .map(|s| stage.day_midnight(s))
            .collect();
        let Some(visitor) = self.anyone(stage, |p| {
            p.kind == PersonKind::Visitor
                && p.window.is_some_and(|w| {
                    midnights.get(p.site).is_some_and(|m0| {
                        w.start.millis() >= *m0 && w.start.millis() < m0 + 24 * HOUR_MS
                    })
                })
        }) else {
            return false;
        };
        let Some(window) = visitor.window else {
            return false;
        };
        let t = window.end.millis() + self.rng.between(30, 150) * MINUTE_MS;
        let Some(badge) = visitor.badge_at(t).map(str::to_string) else {
            return false;
        };
        let Some((site_id, door, ap)) = Self::site(stage, visitor.site).and_then(|s| {
            Some((
                s.id.clone(),
                s.main.as_ref()?.door.clone(),
                s.lobby_ap.clone(),
            ))
        }) else {
            return false;
        };
        self.begin(stage, vec![visitor.id.clone()]);
        stage.badge(t, &site_id, &badge, &door, true);
        if let (Some(mac), Some(ap)) = (&visitor.mac, &ap) {
            stage.wifi(t + 40_000, mac, ap);
        }
        stage.end();
        true
    }

    fn booked_room_alibi<S: Stage>(mut self, stage: &mut S) -> bool {
        let Some((victim, trace)) = self.victim(stage, |p, t| {
            t.kind == DayKind::Onsite && t.site == p.site && p.upn.is_some() && !p.night_shift
        }) else {
            return false;
        };
        let Some(room) = Self::site(stage, trace.site)
            .and_then(|s| s.office(victim.office))
            .and_then(|o| o.rooms.first())
            .map(|r| r.zone)
        else {
            return false;
        };
        let Some(t) = trace.desk_time(self.rng) else {
            return false;
        };
        let user = victim.upn.clone().unwrap_or_default();
        let home = format!(
            "84.200.{}.{}",
            self.rng.below(250) + 1,
            self.rng.below(250) + 1
        );
        self.begin(stage, vec![victim.id.clone()]);
        stage.booking(t, &user, room, t + HOUR_MS);
        stage.signin_from(t + 15 * MINUTE_MS, &user, &home, None, true);
        stage.end();
        true
    }

    fn badge_tested<S: Stage>(mut self, stage: &mut S) -> bool {
        let reports = |site: usize| {
            stage
                .twin()
                .sites
                .get(site)
                .is_some_and(|s| s.door_positions)
        };
        let Some(victim) = self.anyone(stage, |p| {
            p.kind == PersonKind::Employee
                && !p.night_shift
                && !p.badges.is_empty()
                && reports(p.site)
        }) else {
            return false;
        };
        let m0 = stage.day_midnight(victim.site);
        let t = m0 + self.rng.between(4 * 60 + 30, 5 * 60 + 30) * MINUTE_MS;
        if !victim.is_active_at(t) {
            return false;
        }
        let Some(badge) = victim.badge_at(t).map(str::to_string) else {
            return false;
        };
        // Only where the access-control system would say that nobody went through.
        let Some((site_id, door)) = Self::site(stage, victim.site)
            .filter(|s| s.door_positions)
            .and_then(|s| {
                let office = s.office(victim.office)?;
                Some((s.id.clone(), office.door.clone()?))
            })
        else {
            return false;
        };
        self.begin(stage, vec![victim.id.clone()]);
        stage.badge(t, &site_id, &badge, &door, false);
        stage.end();
        true
    }

    fn tailgating<S: Stage>(mut self, stage: &mut S) -> bool {
        let Some((victim, trace, start, end)) = self.server_room_visitor(stage, |_| true) else {
            return false;
        };
        let Some(zone) = Self::site(stage, trace.site)
            .and_then(|s| s.server_room.as_ref())
            .map(|r| r.zone)
        else {
            return false;
        };
        self.begin(stage, vec![victim.id.clone()]);
        stage.occupancy(zone, start + 9_000, 1);
        stage.occupancy(zone, end + 9_000, -1);
        stage.end();
        true
    }

    /// Someone on site follows a colleague into the classified area without badging, stays
    /// a while and badges out: the trace an insider leaves who reaches what they should not.
    fn exit_without_entry<S: Stage>(mut self, stage: &mut S) -> bool {
        let has_classified = |site: usize| {
            stage
                .twin()
                .sites
                .get(site)
                .is_some_and(|s| s.classified.as_ref().is_some_and(|c| c.door_out.is_some()))
        };
        let Some((victim, trace)) = self.victim(stage, |p, t| {
            t.kind == DayKind::Onsite
                && !p.night_shift
                && has_classified(t.site)
                && t.away_of(|a| *a == Away::Classified).is_none()
        }) else {
            return false;
        };
        let stay = self.rng.between(15, 50) * MINUTE_MS;
        let Some(t) = (0..20)
            .filter_map(|_| trace.desk_time(self.rng))
            .find(|t| trace.at_desk(t + stay))
        else {
            return false;
        };
        let Some(badge) = victim.badge_at(t).map(str::to_string) else {
            return false;
        };
        let Some((site_id, zone, door_out)) = Self::site(stage, trace.site).and_then(|s| {
            let room = s.classified.as_ref()?;
            Some((s.id.clone(), room.zone, room.door_out.clone()?))
        }) else {
            return false;
        };
        self.begin(stage, vec![victim.id.clone()]);
        stage.occupancy(zone, t + 9_000, 1);
        stage.badge(t + stay, &site_id, &badge, &door_out, true);
        stage.occupancy(zone, t + stay + 5_000, -1);
        stage.end();
        true
    }

    /// Someone on site follows a colleague into the server room and plugs a laptop into the
    /// room's own port, without ever badging in.
    fn server_port_without_badge<S: Stage>(mut self, stage: &mut S) -> bool {
        let has_port = |site: usize| {
            stage
                .twin()
                .sites
                .get(site)
                .is_some_and(|s| s.server_port.is_some() && s.server_room.is_some())
        };
        let Some((victim, trace)) = self.victim(stage, |p, t| {
            t.kind == DayKind::Onsite
                && !p.night_shift
                && !p.sysadmin
                && p.mac.is_some()
                && has_port(t.site)
                && t.away_of(|a| *a == Away::ServerRoom).is_none()
        }) else {
            return false;
        };
        let Some(t) = trace.desk_time(self.rng) else {
            return false;
        };
        let Some(port) = Self::site(stage, trace.site)
            .filter(|s| s.server_room.is_some())
            .and_then(|s| s.server_port.clone())
        else {
            return false;
        };
        let mac = victim.mac.clone().unwrap_or_default();
        // The room's head count is left out: the tailgating attacks own it (one count event
        // belongs to one scenario).
        self.begin(stage, vec![victim.id.clone()]);
        stage.wired(t + 2 * MINUTE_MS, &mac, &port, true);
        stage.end();
        true
    }

    fn wifi_without_badge<S: Stage>(mut self, stage: &mut S) -> bool {
        let Some((victim, trace)) = self.victim(stage, |p, t| t.vpn.is_some() && p.mac.is_some())
        else {
            return false;
        };
        let Some(ap) = Self::site(stage, victim.site)
            .and_then(|s| s.office(victim.office))
            .and_then(|o| o.aps.first().cloned())
        else {
            return false;
        };
        let t = trace.arrive + self.rng.between(60, 300) * MINUTE_MS;
        self.begin(stage, vec![victim.id.clone()]);
        stage.wifi(t, victim.mac.as_deref().unwrap_or(""), &ap);
        stage.end();
        true
    }

    fn zombie_credential<S: Stage>(mut self, stage: &mut S) -> bool {
        let m0 = stage.day_midnight(0);
        let noon = m0 + 12 * HOUR_MS;
        let left = |p: &Persona| {
            p.status.iter().any(|change| {
                matches!(
                    change.status,
                    StatusKind::Terminated | StatusKind::Suspended
                ) && change.since.millis() < noon - HOUR_MS
            })
        };
        let Some(victim) = self.anyone(stage, |p| {
            p.kind != PersonKind::Visitor && left(p) && p.badge_at(noon).is_some()
        }) else {
            // Nobody dismissed kept a badge: a suspended account signing in instead.
            let Some(victim) = self.anyone(stage, |p| {
                p.kind != PersonKind::Visitor && left(p) && p.upn.is_some()
            }) else {
                return false;
            };
            let t = stage.day_midnight(victim.site) + self.rng.between(9, 17) * HOUR_MS;
            let place = self.hostile();
            let ip = hostile_ip(place.net, self.rng);
            self.begin(stage, vec![victim.id.clone()]);
            stage.signin_from(t, victim.upn.as_deref().unwrap_or(""), &ip, None, true);
            stage.end();
            return true;
        };
        let t = stage.day_midnight(victim.site) + self.rng.between(8 * 60, 17 * 60) * MINUTE_MS;
        let Some(badge) = victim.badge_at(t).map(str::to_string) else {
            return false;
        };
        let Some((site_id, door)) = Self::site(stage, victim.site).and_then(main_door) else {
            return false;
        };
        self.begin(stage, vec![victim.id.clone()]);
        stage.badge(t, &site_id, &badge, &door, true);
        stage.end();
        true
    }

    fn decommissioned_site<S: Stage>(mut self, stage: &mut S) -> bool {
        let Some((door, site_id)) = stage.twin().decommissioned_door.clone() else {
            return false;
        };
        let Some((victim, _)) = self.victim(stage, |p, t| {
            t.kind == DayKind::Onsite && !p.badges.is_empty()
        }) else {
            return false;
        };
        let t = stage.day_midnight(victim.site) + self.rng.between(20 * 60, 23 * 60) * MINUTE_MS;
        let Some(badge) = victim.badge_at(t).map(str::to_string) else {
            return false;
        };
        self.begin(stage, vec![victim.id.clone()]);
        stage.badge(t, &site_id, &badge, &door, false);
        stage.end();
        true
    }

    fn exfil<S: Stage>(mut self, stage: &mut S, insider: bool) -> bool {
        let classified = |t: &Trace| t.away_of(|a| *a == Away::Classified);
        let found = self
            .victim(stage, |p, t| {
                p.workstation.is_some() && classified(t).is_some()
            })
            .map(|(p, t)| {
                let interval = classified(&t);
                (p, interval)
            })
            .or_else(|| {
                if insider {
                    return None;
                }
                self.victim(stage, |p, t| {
                    p.workstation.is_some() && t.away_of(|a| *a == Away::Lunch).is_some()
                })
                .map(|(p, t)| {
                    let interval = t.away_of(|a| *a == Away::Lunch);
                    (p, interval)
                })
            });
        let Some((victim, Some((start, end)))) = found else {
            return false;
        };
        let Some((device, ip)) = victim.workstation.clone() else {
            return false;
        };
        let t = start + (end - start) / 2;
        self.begin(stage, vec![victim.id.clone()]);
        let chunks = if insider { 3 } else { 1 };
        for chunk in 0..chunks {
            let bytes = self.rng.between(300 << 20, 900 << 20) as u64;
            stage.upload(t + chunk * 4 * MINUTE_MS, &device, &ip, bytes);
        }
        stage.end();
        true
    }

    /// A few megabytes, in one to three uploads, to an address the workstation never used,
    /// while its owner is in the classified area or not at work that day: the size of
    /// documents, not of a database. From the second day on: the workstation's usual
    /// destinations are learned over its first half day.
    fn exfil_few_megabytes<S: Stage>(mut self, stage: &mut S) -> bool {
        let classified = |t: &Trace| t.away_of(|a| *a == Away::Classified);
        let mut when: Option<(Persona, i64)> = None;
        if self.rng.chance(0.5)
            && let Some((victim, trace)) = self.victim(stage, |p, t| {
                p.workstation.is_some() && p.site == t.site && classified(t).is_some()
            })
            && let Some((start, end)) = classified(&trace)
        {
            when = Some((victim, start + (end - start) / 3));
        }
        if when.is_none() {
            // Not at work today: no trace at all (leave, sick, a day off).
            let absent: Vec<Persona> = stage
                .twin()
                .people
                .iter()
                .enumerate()
                .filter(|(index, p)| {
                    p.workstation.is_some()
                        && p.kind == PersonKind::Employee
                        && stage.trace(*index).is_none()
                        && p.is_active_at(stage.day_midnight(p.site) + 12 * HOUR_MS)
                })
                .map(|(_, p)| p.clone())
                .collect();
            if let Some(victim) = self.rng.pick(&absent).cloned() {
                let m0 = stage.day_midnight(victim.site);
                let t = m0 + self.rng.between(9 * 60, 17 * 60) * MINUTE_MS;
                when = Some((victim, t));
            }
        }
        let Some((victim, t)) = when else {
            return false;
        };
        let Some((_, ip)) = victim.workstation.clone() else {
            return false;
        };
        let place = self.hostile();
        let dst = hostile_ip(place.net, self.rng);
        self.begin(stage, vec![victim.id.clone()]);
        for chunk in 0..self.rng.between(1, 3) {
            let bytes = self.rng.between(3_700_000, 14_000_000) as u64;
            stage.upload_to(t + chunk * 6 * MINUTE_MS, &ip, &dst, bytes);
        }
        stage.end();
        true
    }

    /// A room with a wall port at some site, with the site's index.
    fn room_with_port<S: Stage>(&mut self, stage: &S) -> Option<(usize, String)> {
        let sites: Vec<(usize, String)> = stage
            .twin()
            .sites
            .iter()
            .enumerate()
            .flat_map(|(i, s)| {
                s.offices
                    .iter()
                    .flat_map(|o| o.rooms.iter().filter_map(|r| r.port.clone()))
                    .map(move |port| (i, port))
            })
            .collect();
        self.rng.pick(&sites).cloned()
    }

    fn rogue_device<S: Stage>(mut self, stage: &mut S) -> bool {
        let Some((site, port)) = self.room_with_port(stage) else {
            return false;
        };
        let t = stage.day_midnight(site) + self.rng.between(21 * 60, 23 * 60 + 30) * MINUTE_MS;
        let mac = rogue_mac(self.rng);
        self.begin(stage, Vec::new());
        stage.wired(t, &mac, &port, true);
        stage.end();
        true
    }

    fn nac_failures<S: Stage>(mut self, stage: &mut S) -> bool {
        let Some((site, port)) = self.room_with_port(stage) else {
            return false;
        };
        let t = stage.day_midnight(site) + self.rng.between(8 * 60, 22 * 60) * MINUTE_MS;
        self.begin(stage, Vec::new());
        for attempt in 0..self.rng.between(5, 8) {
            let mac = rogue_mac(self.rng);
            stage.wired(t + attempt * 70_000, &mac, &port, false);
        }
        stage.end();
        true
    }

    fn controller_down<S: Stage>(self, stage: &mut S, camera: bool) -> bool {
        // A watcher and a zone it covers that has a door to force.
        let candidates: Vec<(usize, String, String)> = stage
            .twin()
            .sites
            .iter()
            .enumerate()
            .flat_map(|(i, s)| {
                s.watchers.iter().filter_map(move |(device, covers)| {
                    let door = [&s.server_room, &s.classified]
                        .into_iter()
                        .flatten()
                        .find(|room| covers.contains(&room.zone))?;
                    let is_camera = device.contains("cam");
                    (is_camera == camera).then(|| (i, device.clone(), door.door_in.clone()))
                })
            })
            .collect();
        let Some((site, device, door)) = self.rng.pick(&candidates).cloned() else {
            return false;
        };
        let Some(site_id) = Self::site(stage, site).map(|s| s.id.clone()) else {
            return false;
        };
        // Late in the evening, over before the next day's first heartbeat.
        let t = stage.day_midnight(site) + self.rng.between(22 * 60, 23 * 60 + 10) * MINUTE_MS;
        // One intruder at a time: a second outage of the same device would end the first.
        if stage.device_busy(&device, t - HOUR_MS, t + HOUR_MS) {
            return false;
        }
        self.begin(stage, Vec::new());
        if camera {
            stage.config_change(t, &device);
        } else {
            stage.outage(&device, t, t + 40 * MINUTE_MS);
        }
        stage.forced(t + self.rng.between(3, 12) * MINUTE_MS, &site_id, &door);
        stage.end();
        true
    }

    fn after_hours_root<S: Stage>(mut self, stage: &mut S) -> bool {
        let Some(victim) = self.anyone(stage, |p| p.sysadmin && p.username.is_some()) else {
            return false;
        };
        let m0 = stage.day_midnight(victim.site);
        let t = m0 + self.rng.between(21 * 60, 23 * 60) * MINUTE_MS;
        if !victim.is_active_at(t) {
            return false;
        }
        let Some(badge) = victim.badge_at(t).map(str::to_string) else {
            return false;
        };
        let Some(site) = Self::site(stage, victim.site).cloned() else {
            return false;
        };
        let (Some(main), Some(room), Some(office)) =
            (&site.main, &site.server_room, site.office(0))
        else {
            return false;
        };
        let Some(server) = self.rng.pick(&site.servers).cloned() else {
            return false;
        };
        // Night work under an approved change is not an attack.
        if stage.under_change(
            victim.username.as_deref().unwrap_or_default(),
            &server.hostname,
            t,
        ) {
            return false;
        }
        self.begin(stage, vec![victim.id.clone()]);
        stage.badge(t, &site.id, &badge, &main.door, true);
        if let Some(door) = &office.door {
            stage.badge(t + 60_000, &site.id, &badge, door, true);
        }
        stage.badge(t + 3 * MINUTE_MS, &site.id, &badge, &room.door_in, true);
        stage.occupancy(room.zone, t + 3 * MINUTE_MS + 5_000, 1);
        let user = victim.username.clone().unwrap_or_default();
        stage.privileged(t + 12 * MINUTE_MS, &user, &server);
        if let Some(out) = &room.door_out {
            stage.badge(t + 40 * MINUTE_MS, &site.id, &badge, out, true);
        }
        stage.occupancy(room.zone, t + 40 * MINUTE_MS + 5_000, -1);
        stage.end();
        true
    }

    /// Someone at a server's console after hours under an administrator's account, with no
    /// badge into the server room: a tailgated or propped door, or a borrowed account.
    fn console_no_badge<S: Stage>(mut self, stage: &mut S) -> bool {
        let Some(victim) = self.anyone(stage, |p| p.sysadmin && p.username.is_some()) else {
            return false;
        };
        let m0 = stage.day_midnight(victim.site);
        // After the sites' closing time (20:00), so that the console is out of hours.
        let t = m0 + self.rng.between(20 * 60 + 30, 23 * 60 + 45) * MINUTE_MS;
        let user = victim.username.clone().unwrap_or_default();
        if !victim.is_active_at(t) {
            return false;
        }
        let Some(site) = Self::site(stage, victim.site).cloned() else {
            return false;
        };
        if site.server_room.is_none() {
            return false;
        }
        let Some(server) = self.rng.pick(&site.servers).cloned() else {
            return false;
        };
        if stage.under_change(&user, &server.hostname, t) {
            return false;
        }
        self.begin(stage, vec![victim.id.clone()]);
        stage.console(t, &user, &server);
        stage.end();
        true
    }

    /// Passwords guessed against one server from inside: a compromised workstation trying
    /// administrators' and default accounts, ten to twenty-five times in a few minutes.
    fn password_guessing<S: Stage>(mut self, stage: &mut S) -> bool {
        let sites: Vec<usize> = stage
            .twin()
            .sites
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.servers.is_empty())
            .map(|(i, _)| i)
            .collect();
        let Some(site_index) = self.rng.pick(&sites).copied() else {
            return false;
        };
        let Some(site) = Self::site(stage, site_index).cloned() else {
            return false;
        };
        let Some(server) = self.rng.pick(&site.servers).cloned() else {
            return false;
        };
        // The guessing machine: a colleague's workstation at that site.
        let from = self
            .anyone(stage, |p| p.site == site_index && p.workstation.is_some())
            .and_then(|p| p.workstation.map(|(_, ip)| ip));
        let Some(from) = from else {
            return false;
        };
        const NAMES: &[&str] = &[
            "root",
            "admin",
            "administrator",
            "oracle",
            "postgres",
            "backup",
            "test",
            "ubuntu",
            "deploy",
            "ansible",
            "git",
            "jenkins",
            "www-data",
            "support",
            "guest",
        ];
        let m0 = stage.day_midnight(site_index);
        let t = m0 + self.rng.between(8 * 60, 23 * 60) * MINUTE_MS;
        let attempts = self.rng.between(10, 25);
        let spread = self.rng.between(2, 8) * MINUTE_MS;
        self.begin(stage, Vec::new());
        for n in 0..attempts {
            let user = NAMES
                .get(self.rng.below(NAMES.len() as u64) as usize)
                .copied()
                .unwrap_or("root");
            stage.ssh(t + n * spread / attempts, user, &from, &server, false);
        }
        stage.end();
        true
    }

    fn failure_burst<S: Stage>(mut self, stage: &mut S) -> bool {
        let Some((victim, trace)) = self.victim(stage, |p, t| {
            t.kind == DayKind::Onsite && t.site == p.site && p.upn.is_some() && !p.researcher
        }) else {
            return false;
        };
        let Some(door) = Self::site(stage, trace.site)
            .and_then(|s| s.classified.as_ref())
            .map(|r| r.door_in.clone())
        else {
            return false;
        };
        let Some(site_id) = Self::site(stage, trace.site).map(|s| s.id.clone()) else {
            return false;
        };
        let Some(t) = trace.desk_time(self.rng) else {
            return false;
        };
        let Some(badge) = victim.badge_at(t).map(str::to_string) else {
            return false;
        };
        let place = self.hostile();
        let ip = hostile_ip(place.net, self.rng);
        self.begin(stage, vec![victim.id.clone()]);
        for attempt in 0..self.rng.between(3, 5) {
            stage.denied(t + attempt * 50_000, &site_id, &badge, &door);
        }
        for attempt in 0..self.rng.between(5, 8) {
            let when = t + 4 * MINUTE_MS + attempt * 40_000;
            stage.signin_from(
                when,
                victim.upn.as_deref().unwrap_or(""),
                &ip,
                Some(place),
                false,
            );
        }
        stage.end();
        true
    }

    fn noncompliant_in_cafe<S: Stage>(mut self, stage: &mut S) -> bool {
        let Some((victim, trace)) = self.victim(stage, |p, t| {
            t.lunch_wifi.is_some() && p.mac.is_some() && t.site == p.site
        }) else {
            return false;
        };
        let (Some((start, end)), Some(wifi)) = (
            trace.away_of(|a| *a == Away::Lunch),
            trace.lunch_wifi.clone(),
        ) else {
            return false;
        };
        let mac = victim.mac.clone().unwrap_or_default();
        self.begin(stage, vec![victim.id.clone()]);
        stage.posture(start - 20 * MINUTE_MS, &mac, false);
        stage.include(&wifi);
        stage.posture(end + 5 * MINUTE_MS, &mac, true);
        stage.end();
        true
    }

    fn passed_back<S: Stage>(mut self, stage: &mut S) -> bool {
        let Some((victim, trace, start, end)) = self.server_room_visitor(stage, |_| true) else {
            return false;
        };
        let Some(site) = Self::site(stage, trace.site).cloned() else {
            return false;
        };
        let Some(room) = &site.server_room else {
            return false;
        };
        let Some(badge) = victim.badge_at(start).map(str::to_string) else {
            return false;
        };
        self.begin(stage, vec![victim.id.clone()]);
        let t = start + 2 * MINUTE_MS;
        stage.badge(t, &site.id, &badge, &room.door_in, true);
        stage.occupancy(room.zone, t + 5_000, 1);
        stage.occupancy(room.zone, end + 6_000, -1);
        stage.end();
        true
    }

    fn contractor_after_contract<S: Stage>(mut self, stage: &mut S) -> bool {
        let noon = stage.day_midnight(0) + 12 * HOUR_MS;
        let ended = self.anyone(stage, |p| {
            p.kind == PersonKind::Contractor
                && p.window
                    .is_some_and(|w| w.end.millis() < noon - 12 * HOUR_MS)
                && p.status
                    .last()
                    .is_some_and(|s| s.status == StatusKind::Active)
                && p.badge_at(noon).is_some()
        });
        if let Some(victim) = ended {
            let t = stage.day_midnight(victim.site) + self.rng.between(9 * 60, 16 * 60) * MINUTE_MS;
            let Some(badge) = victim.badge_at(t).map(str::to_string) else {
                return false;
            };
            let Some((site_id, door)) = Self::site(stage, victim.site).and_then(main_door) else {
                return false;
            };
            self.begin(stage, vec![victim.id.clone()]);
            stage.badge(t, &site_id, &badge, &door, true);
            stage.end();
            return true;
        }
        // Otherwise a contractor's VPN account at three in the morning.
        let Some(victim) = self.anyone(stage, |p| {
            p.kind == PersonKind::Contractor && p.upn.is_some() && p.is_active_at(noon)
        }) else {
            return false;
        };
        let t = stage.day_midnight(victim.site) + self.rng.between(2 * 60, 4 * 60) * MINUTE_MS;
        let from = hostile_ip(self.hostile().net, self.rng);
        let user = victim.upn.clone().unwrap_or_default();
        self.begin(stage, vec![victim.id.clone()]);
        stage.vpn(t, &user, &from, "10.250.250.9", true);
        // The intruder leaves after a while; the session does not stay open for the real owner.
        let done = t + self.rng.between(10, 50) * MINUTE_MS;
        stage.vpn(done, &user, &from, "10.250.250.9", false);
        stage.end();
        true
    }

    // --- Campaigns ---------------------------------------------------------------------------

    fn tailgate_rogue_lateral<S: Stage>(mut self, stage: &mut S) -> bool {
        let Some((victim, trace, start, end)) =
            self.server_room_visitor(stage, |p| p.username.is_some())
        else {
            return false;
        };
        let Some(site) = Self::site(stage, trace.site).cloned() else {
            return false;
        };
        let (Some(room), Some(port), Some(server), Some([a, b])) = (
            site.server_room.as_ref(),
            site.offices
                .iter()
                .flat_map(|o| o.rooms.iter())
                .find_map(|r| r.port.clone()),
            site.servers.first(),
            site.corp_prefix,
        ) else {
            return false;
        };
        self.begin(stage, vec![victim.id.clone()]);
        // 1. In behind the sysadmin.
        stage.occupancy(room.zone, start + 9_000, 1);
        stage.occupancy(room.zone, end + 9_000, -1);
        // 2. A drop box on an empty meeting room's port that evening.
        let t = stage.day_midnight(trace.site) + self.rng.between(21 * 60, 23 * 60) * MINUTE_MS;
        let mac = rogue_mac(self.rng);
        stage.wired(t, &mac, &port, true);
        stage.dhcp(
            t + 5_000,
            &mac,
            &format!("{a}.{b}.250.{}", self.rng.below(200) + 10),
        );
        // 3. From it, the sysadmin's account on a server.
        stage.privileged(
            t + 25 * MINUTE_MS,
            victim.username.as_deref().unwrap_or(""),
            server,
        );
        stage.end();
        true
    }

    fn stolen_badge_phished<S: Stage>(mut self, stage: &mut S) -> bool {
        let Some((victim, trace)) = self.victim(stage, |p, t| {
            t.vpn.is_some() && p.upn.is_some() && !p.badges.is_empty()
        }) else {
            return false;
        };
        let Some(site) = Self::site(stage, victim.site).cloned() else {
            return false;
        };
        let (Some(main), Some(office)) = (&site.main, site.office(victim.office)) else {
            return false;
        };
        let t = trace.arrive + self.rng.between(60, 240) * MINUTE_MS;
        let Some(badge) = victim.badge_at(t).map(str::to_string) else {
            return false;
        };
        let place = self.hostile();
        let ip = hostile_ip(place.net, self.rng);
        self.begin(stage, vec![victim.id.clone()]);
        stage.badge(t, &site.id, &badge, &main.door, true);
        if let Some(door) = &office.door {
            stage.badge(t + 90_000, &site.id, &badge, door, true);
        }
        stage.signin_from(
            t + 20 * MINUTE_MS,
            victim.upn.as_deref().unwrap_or(""),
            &ip,
            Some(place),
            true,
        );
        stage.end();
        true
    }

    fn dismissed_contractor<S: Stage>(mut self, stage: &mut S) -> bool {
        let noon = stage.day_midnight(0) + 12 * HOUR_MS;
        let Some(victim) = self.anyone(stage, |p| {
            p.kind == PersonKind::Contractor
                && p.status.iter().any(|s| {
                    s.status == StatusKind::Terminated && s.since.millis() < noon - HOUR_MS
                })
                && (p.badge_at(noon).is_some() || p.upn.is_some())
        }) else {
            return false;
        };
        let m0 = stage.day_midnight(victim.site);
        let t = m0 + self.rng.between(19 * 60, 21 * 60) * MINUTE_MS;
        let site = Self::site(stage, victim.site).and_then(main_door);
        let badge = victim.badge_at(t).map(str::to_string);
        self.begin(stage, vec![victim.id.clone()]);
        if let (Some((site_id, door)), Some(badge)) = (site, badge) {
            stage.badge(t, &site_id, &badge, &door, true);
        }
        if let Some(user) = &victim.upn {
            let from = format!(
                "84.201.{}.{}",
                self.rng.below(250) + 1,
                self.rng.below(250) + 1
            );
            stage.vpn(t + 2 * HOUR_MS, user, &from, "10.250.251.7", true);
            stage.vpn(t + 3 * HOUR_MS, user, &from, "10.250.251.7", false);
        }
        stage.end();
        true
    }
}
