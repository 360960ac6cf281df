//! Lanes: rules that read no slow source are not held back by it.
//!
//! The engine processes events in event-time order once the watermark passes them, and the
//! watermark waits for the slowest source: a cloud sign-in log allowed two minutes would
//! otherwise hold a forced door's finding for two minutes too. So the rules are split. A rule
//! *reads* a source when the source's events can match it, or feed state the rule looks at
//! (presence, travel, device health, posture, bookings, changes), or teach the identities its
//! findings are resolved with. Rules that read no slow source run in a *fast lane*: a second
//! engine fed only the other sources, with a watermark made from those sources alone. Every
//! other rule stays in the main engine, which sees every source and waits for the slowest.
//! Each rule emits from exactly one lane, so nothing is raised twice, and each lane sees every
//! event its rules depend on in order, so nothing is missed for a source's being slow.
//!
//! What a source can produce comes from its adapter (the event classes it yields). A slow
//! source whose classes are not known could feed anything, so it keeps every rule waiting.

use std::collections::{BTreeMap, BTreeSet};

use seam_model::EventClass;

use crate::engine::EngineConfig;
use crate::rules::CompiledRules;
use crate::schema::{EngineSchema, Field, Resolved};

/// How the rules are split: the sources the fast lane is fed, and the rules it emits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LanePlan {
    /// The slow sources, which only the main engine reads.
    pub slow_sources: BTreeSet<String>,
    /// By rule index: whether the rule emits from the fast lane.
    pub fast_rules: Vec<bool>,
}

/// Every rule depends on these: DHCP leases and network sessions teach the identities that
/// events carrying only an address resolve to, an approved change annotates or silences any
/// rule's finding, and a directory change says who holds what.
const EVERY_RULE_READS: &[EventClass] = &[
    EventClass::Dhcp,
    EventClass::NetworkSession,
    EventClass::ChangeRequest,
    EventClass::Directory,
];

/// The event classes whose events feed the state behind a field (see `Engine::apply` and the
/// identity and change modules); empty for fields of the event itself or of the estate.
fn classes_feeding(field: Field) -> &'static [EventClass] {
    use EventClass as C;
    const PRESENCE: &[EventClass] = &[
        C::PhysicalAccess,
        C::NetworkSession,
        C::Authentication,
        C::Occupancy,
    ];
    const DEVICES: &[EventClass] = &[C::DeviceStatus, C::PhysicalAccess, C::Occupancy];
    match field {
        Field::PresenceKnown
        | Field::PresenceOnSite
        | Field::PresenceSite
        | Field::PresenceZone
        | Field::PresenceZoneKind
        | Field::PresenceSignal
        | Field::PresenceConfidence
        | Field::PresenceAgeS
        | Field::TravelKm
        | Field::TravelKmh
        | Field::TravelFrom
        | Field::TravelTo
        | Field::ZonePresent
        | Field::ZoneUnbadged
        | Field::ApbViolation
        | Field::DoorExitWithoutEntry
        | Field::AssetNearby
        | Field::PersonBadgedIntoZone
        | Field::PresenceZoneName
        | Field::PresenceSiteName
        | Field::BadgedSiteToday => PRESENCE,
        Field::SiteStatus | Field::ZoneDegradedDevice | Field::DoorWatched => DEVICES,
        // A counter's change against its own last count.
        Field::ZoneOccupancyDelta => &[C::Occupancy],
        // Learned from flows while the asset's owner is placed.
        Field::DstUsual => &[
            C::NetworkActivity,
            C::PhysicalAccess,
            C::NetworkSession,
            C::Authentication,
            C::Occupancy,
        ],
        Field::DeviceCompliant => &[C::DeviceInventory, C::NetworkSession],
        Field::DeviceKnown => &[C::Dhcp, C::NetworkSession],
        Field::BookingActive | Field::BookingZone | Field::BookingSite => &[C::Booking],
        Field::ChangeApproved | Field::ChangeNumber => &[C::ChangeRequest],
        _ => &[],
    }
}

/// Whether a source is slow: it may deliver later than the engine's default lateness.
fn is_slow(config: &EngineConfig, source: &str) -> bool {
    let default = config.allowed_lateness_ms;
    config
        .source_lateness_ms
        .get(source)
        .is_some_and(|ms| *ms > default)
        || config
            .source_max_delay_ms
            .get(source)
            .is_some_and(|ms| *ms > default)
}

/// Splits the rules, or `None` when there is nothing to split: no slow source, a slow source
/// whose classes are unknown, or no rule that reads none of them.
pub fn plan(rules: &CompiledRules, config: &EngineConfig) -> Option<LanePlan> {
    let slow_sources: BTreeSet<String> = config
        .source_lateness_ms
        .keys()
        .chain(config.source_max_delay_ms.keys())
        .filter(|source| is_slow(config, source))
        .cloned()
        .collect();
    if slow_sources.is_empty() {
        return None;
    }
    let mut slow_classes = BTreeSet::new();
    for source in &slow_sources {
        slow_classes.extend(config.source_classes.get(source)?.iter().copied());
    }
    let reads_slow = RuleReads::new(rules, &slow_classes).all();
    let fast_rules: Vec<bool> = reads_slow.iter().map(|slow| !slow).collect();
    let any_fast_finding = rules
        .set
        .rules()
        .iter()
        .zip(&fast_rules)
        .any(|(meta, fast)| *fast && meta.generates_findings);
    any_fast_finding.then_some(LanePlan {
        slow_sources,
        fast_rules,
    })
}

/// Works out, rule by rule, whether a rule reads any of the slow classes.
struct RuleReads<'a> {
    rules: &'a CompiledRules,
    slow: &'a BTreeSet<EventClass>,
    memo: BTreeMap<usize, bool>,
}

impl<'a> RuleReads<'a> {
    fn new(rules: &'a CompiledRules, slow: &'a BTreeSet<EventClass>) -> RuleReads<'a> {
        RuleReads {
            rules,
            slow,
            memo: BTreeMap::new(),
        }
    }

    fn all(mut self) -> Vec<bool> {
        (0..self.rules.set.rules().len())
            .map(|rule| self.reads_slow(rule, 0))
            .collect()
    }

    fn feeds(&self, classes: &[EventClass]) -> bool {
        classes.iter().any(|class| self.slow.contains(class))
    }

    fn reads_slow(&mut self, rule: usize, depth: usize) -> bool {
        if let Some(known) = self.memo.get(&rule) {
            return *known;
        }
        let set = &self.rules.set;
        let Some(meta) = set.rules().get(rule) else {
            return true;
        };
        let mut slow = self.feeds(EVERY_RULE_READS);
        if meta.kind.is_correlation() {
            // Chains are bounded by the compiler; the depth guard only keeps this total.
            let upstream = meta.sources.clone();
            slow = slow
                || depth > seam_rules::MAX_CHAIN_DEPTH
                || upstream
                    .into_iter()
                    .any(|source| self.reads_slow(source, depth + 1));
        } else {
            let class = EngineSchema::field_ref(Field::Class);
            slow = slow
                || self
                    .slow
                    .iter()
                    .any(|c| set.may_match_value(rule, class, c.as_str()));
        }
        let schema = &self.rules.schema;
        let fed_by_slow = |field: Field| self.feeds(classes_feeding(field));
        slow = slow
            || set
                .fields_read(rule)
                .into_iter()
                .filter_map(|field| match schema.lookup(field) {
                    Some(Resolved::Field(field)) => Some(field),
                    _ => None,
                })
                .any(fed_by_slow)
            || explanation_fields(meta.explanation.as_deref())
                .iter()
                .filter_map(|name| Field::from_name(name))
                .any(fed_by_slow);
        self.memo.insert(rule, slow);
        slow
    }
}

/// The field names an explanation template reads.
fn explanation_fields(template: Option<&str>) -> Vec<String> {
    let names = std::cell::RefCell::new(Vec::new());
    if let Some(template) = template {
        seam_rules::render_explanation(template, |name| {
            names.borrow_mut().push(name.to_string());
            None
        });
    }
    names.into_inner()
}

/// The configuration of the fast lane: the main one without the slow sources.
pub(crate) fn fast_config(config: &EngineConfig, plan: &LanePlan) -> EngineConfig {
    let keep = |map: &BTreeMap<String, i64>| -> BTreeMap<String, i64> {
        map.iter()
            .filter(|(source, _)| !plan.slow_sources.contains(*source))
            .map(|(source, ms)| (source.clone(), *ms))
            .collect()
    };
    EngineConfig {
        emit_events: false,
        source_max_delay_ms: keep(&config.source_max_delay_ms),
        source_lateness_ms: keep(&config.source_lateness_ms),
        source_classes: BTreeMap::new(),
        ..config.clone()
    }
}

#[cfg(test)]
mod tests {
    use seam_rules::SourceFile;

    use super::*;

    fn rules(text: &str) -> CompiledRules {
        CompiledRules::compile(&[SourceFile {
            path: "test.yml".into(),
            text: text.into(),
        }])
        .unwrap()
    }

    const RULES: &str = r"
title: Door forced
id: door-forced
logsource: {product: seam}
detection:
  sel: {class: physical_access, activity: forced}
  condition: sel
---
title: Sign-in from abroad while on site
id: abroad-on-site
logsource: {product: seam}
detection:
  sel: {class: authentication, presence.on_site: true}
  condition: sel
---
title: Badge while the controller is down
id: badge-degraded
logsource: {product: seam}
detection:
  sel: {class: physical_access, zone.degraded_device|exists: true}
  condition: sel
---
title: Badge while elsewhere
id: badge-elsewhere
logsource: {product: seam}
detection:
  sel: {class: physical_access}
  condition: sel
explanation: '{person.name} badged while last seen at {presence.zone}'
";

    fn config(slow: &[(&str, &[EventClass])]) -> EngineConfig {
        let mut config = EngineConfig {
            allowed_lateness_ms: 500,
            ..EngineConfig::default()
        };
        for (source, classes) in slow {
            config.source_lateness_ms.insert((*source).into(), 120_000);
            config
                .source_classes
                .insert((*source).into(), classes.to_vec());
        }
        config
    }

    #[test]
    fn rules_reading_a_slow_source_or_its_state_wait_and_the_others_do_not() {
        let rules = rules(RULES);
        let plan = plan(&rules, &config(&[("okta", &[EventClass::Authentication])])).unwrap();
        let fast = |id: &str| plan.fast_rules[rules.set.rule_index(id).unwrap()];
        assert!(fast("door-forced"));
        assert!(
            fast("badge-degraded"),
            "device health is not fed by sign-ins"
        );
        assert!(!fast("abroad-on-site"), "matches sign-ins");
        assert!(!fast("badge-elsewhere"), "its explanation reads presence");
        assert_eq!(plan.slow_sources, BTreeSet::from(["okta".to_string()]));
    }

    #[test]
    fn no_lanes_without_a_slow_source_or_with_one_that_could_feed_anything() {
        let rules = rules(RULES);
        assert_eq!(plan(&rules, &config(&[])), None);
        let mut unknown = config(&[]);
        unknown
            .source_lateness_ms
            .insert("export".into(), 3_600_000);
        assert_eq!(plan(&rules, &unknown), None);
        // A slow source of network sessions teaches identities: every rule waits.
        assert_eq!(
            plan(&rules, &config(&[("vpn", &[EventClass::NetworkSession])])),
            None
        );
    }
}
