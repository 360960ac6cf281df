//! The rule language's compiler with the engine's field schema.

use seam_rules::{CompileOptions, DispatchChoice, FieldRef, RuleError, RuleSet, SourceFile};

use crate::schema::{EngineSchema, Field, Resolved, SchemaBuilder};

/// The fields rules are dispatched on: cheap to read (event fields, and enrichment the engine
/// keeps at hand), and named with fixed values by most rules.
const DISPATCH_FIELDS: &[Field] = &[
    Field::Class,
    Field::Activity,
    Field::Outcome,
    Field::Medium,
    Field::PersonKind,
    Field::PersonStatus,
    Field::ZoneKind,
    Field::SiteStatus,
];

/// A compiled rule set, the schema that gives its field handles meaning, and the pack's
/// tuning (rules switched off per site, exceptions).
#[derive(Debug)]
pub struct CompiledRules {
    pub set: RuleSet,
    pub schema: EngineSchema,
    pub tuning: crate::tuning::Tuning,
}

impl CompiledRules {
    pub fn compile(files: &[SourceFile]) -> Result<CompiledRules, Vec<RuleError>> {
        CompiledRules::compile_with(files, true)
    }

    /// `dispatch: false` evaluates every rule on every event: the reference for differential tests.
    pub fn compile_with(
        files: &[SourceFile],
        dispatch: bool,
    ) -> Result<CompiledRules, Vec<RuleError>> {
        let builder = SchemaBuilder::default();
        // Most rules name the class, activity and outcome they apply to, and many a kind of
        // person or zone: reading those first rules out everything else.
        let dispatch_fields = if dispatch {
            DISPATCH_FIELDS
                .iter()
                .map(|field| EngineSchema::field_ref(*field))
                .collect()
        } else {
            Vec::new()
        };
        // Sigma rules written for a vendor's log name none of those, but raw fields such as
        // Okta's `eventType` or Azure's `ResultType`: the compiler may add such fields after
        // the fixed ones. Only raw fields: they are a look-up in the event's record, where
        // enrichment fields can cost a presence or travel computation.
        let raw = |field: FieldRef| {
            builder
                .0
                .try_borrow()
                .is_ok_and(|schema| matches!(schema.lookup(field), Some(Resolved::Raw(_))))
        };
        let choice = if dispatch {
            DispatchChoice::AutomaticAmong(&raw)
        } else {
            DispatchChoice::Named
        };
        let options = CompileOptions { dispatch_fields };
        let set = RuleSet::compile_with(files, &builder, &options, choice)?;
        Ok(CompiledRules {
            set,
            schema: builder.0.into_inner(),
            tuning: crate::tuning::Tuning::default(),
        })
    }

    /// The pack with its tuning, checked: every entry names a rule of the pack, has a reason
    /// and an owner, and an exception names what it excepts.
    pub fn with_tuning(
        mut self,
        tuning: crate::tuning::Tuning,
    ) -> Result<CompiledRules, Vec<String>> {
        let problems = tuning.problems(|id| self.set.rule_index(id).is_some());
        if !problems.is_empty() {
            return Err(problems);
        }
        self.tuning = tuning;
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use seam_model::{Activity, Event, EventClass, Outcome, Ts};

    use super::*;
    use crate::{Engine, EngineConfig, Output};

    /// Sigma rules on an Okta log's and an Azure sign-in log's raw fields, and one rule on the
    /// engine's own fields.
    const RULES: &str = "\
title: okta session
id: okta-session
detection:
    s:
        eventType: user.session.start
        outcome.result: FAILURE
    condition: s
---
title: okta token
id: okta-token
detection:
    s:
        eventType: [system.api_token.create, system.api_token.revoke]
    condition: s
---
title: okta mfa
id: okta-mfa
detection:
    s:
        eventType: user.mfa.factor.deactivate
    condition: s
---
title: azure disabled
id: azure-disabled
detection:
    s:
        ResultType: 50057
    condition: s
---
title: azure blocked
id: azure-blocked
detection:
    s:
        ResultType: [53003, 50053]
    filter:
        AppDisplayName: Office 365
    condition: s and not filter
---
title: azure interrupted
id: azure-interrupted
detection:
    s:
        ResultType: 500121
    condition: s
---
title: failed sign-in
id: failed-sign-in
detection:
    s:
        class: authentication
        outcome: failure
    condition: s
";

    fn files() -> Vec<SourceFile> {
        vec![SourceFile {
            path: "rules.yml".into(),
            text: RULES.into(),
        }]
    }

    fn names(rules: &CompiledRules) -> Vec<String> {
        rules
            .set
            .dispatch_fields()
            .iter()
            .map(|field| match rules.schema.lookup(*field) {
                Some(Resolved::Field(field)) => field.name().to_owned(),
                Some(Resolved::Raw(path)) => format!("raw.{}", path.join(".")),
                None => "?".to_owned(),
            })
            .collect()
    }

    #[test]
    fn raw_vendor_fields_are_dispatched_on_after_the_engines_own() {
        let rules = CompiledRules::compile(&files()).unwrap();
        assert_eq!(
            names(&rules),
            vec!["class", "outcome", "raw.eventType", "raw.ResultType"]
        );
        let plain = CompiledRules::compile_with(&files(), false).unwrap();
        assert!(plain.set.dispatch_fields().is_empty());
    }

    #[test]
    fn rules_on_the_engines_fields_only_add_no_raw_field() {
        let rules = CompiledRules::compile(&[SourceFile {
            path: "rules.yml".into(),
            text: RULES.split("---\n").last().unwrap_or_default().to_owned(),
        }])
        .unwrap();
        assert_eq!(names(&rules), vec!["class", "outcome"]);
    }

    /// Findings (rule title and the events it matched) with and without dispatch.
    fn findings(dispatch: bool, events: &[Event]) -> Vec<(String, Vec<String>)> {
        let estate = Arc::new(
            seam_estate::Estate::load_dir(
                &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/estate"),
            )
            .unwrap(),
        );
        let rules = Arc::new(CompiledRules::compile_with(&files(), dispatch).unwrap());
        let mut engine = Engine::new(estate, rules, EngineConfig::default());
        let mut out = Output::default();
        for event in events {
            engine.push(event.clone(), &mut out);
        }
        engine.flush(&mut out);
        out.findings
            .iter()
            .map(|finding| {
                (
                    finding.finding_info.title.clone(),
                    finding
                        .finding_info
                        .related_events
                        .iter()
                        .map(|event| event.uid.clone())
                        .collect(),
                )
            })
            .collect()
    }

    #[test]
    fn dispatch_on_raw_fields_finds_what_trying_every_rule_finds() {
        let raws = [
            serde_json::json!({"eventType": "user.session.start", "outcome": {"result": "FAILURE"}}),
            serde_json::json!({"eventType": "USER.SESSION.START", "outcome": {"result": "failure"}}),
            serde_json::json!({"eventType": "user.session.start", "outcome": {"result": "SUCCESS"}}),
            serde_json::json!({"eventType": "system.api_token.revoke"}),
            serde_json::json!({"eventType": ["user.mfa.factor.deactivate", "x"]}),
            serde_json::json!({"eventType": 50057}),
            serde_json::json!({"ResultType": 50057}),
            serde_json::json!({"ResultType": "50057"}),
            serde_json::json!({"ResultType": "050057"}),
            serde_json::json!({"ResultType": 50057.0}),
            serde_json::json!({"ResultType": "53003", "AppDisplayName": "office 365"}),
            serde_json::json!({"ResultType": 53003, "AppDisplayName": "Teams"}),
            serde_json::json!({"ResultType": 50053}),
            serde_json::json!({"ResultType": "500121.0"}),
            serde_json::json!({"ResultType": 0}),
            serde_json::json!({"ResultType": null}),
            serde_json::json!({}),
        ];
        let start = Ts::parse("2026-03-02T09:00:00Z").unwrap();
        let mut events = Vec::new();
        for raw in &raws {
            for (class, activity, outcome) in [
                (
                    EventClass::Authentication,
                    Activity::Logon,
                    Outcome::Failure,
                ),
                (
                    EventClass::Authentication,
                    Activity::Logon,
                    Outcome::Success,
                ),
                (EventClass::ResourceAccess, Activity::Read, Outcome::Failure),
            ] {
                let uid = format!("e{}", events.len());
                let at = Ts(start.0 + i64::try_from(events.len()).unwrap() * 1_000);
                let mut event = Event::new(&uid, at, "vendor", class, activity);
                event.outcome = outcome;
                event.raw = Some(raw.clone());
                events.push(event);
            }
        }
        let expected = findings(false, &events);
        assert!(expected.len() >= 15, "{expected:?}");
        assert_eq!(findings(true, &events), expected);
    }
}
