//! Counters and gauges, rendered in the Prometheus text format by hand (a few dozen lines do
//! not need a metrics framework). Counters are atomics, so the hot paths never lock.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// Per-source counters.
#[derive(Debug, Default)]
pub struct SourceMetrics {
    /// Requests, datagrams, connections' frames, MQTT messages or files received.
    pub inputs: AtomicU64,
    /// Bytes received.
    pub bytes: AtomicU64,
    /// Events parsed and made durable (new ones).
    pub events_stored: AtomicU64,
    /// Events whose uid was already stored.
    pub duplicates: AtomicU64,
    /// Records that could not be read: dead letters.
    pub rejected: AtomicU64,
    /// Records that parsed but carried nothing Seam uses.
    pub skipped: AtomicU64,
    /// Inputs refused before reading: authentication, size, type, full queues.
    pub refused_auth: AtomicU64,
    pub refused_size: AtomicU64,
    pub refused_type: AtomicU64,
    pub refused_busy: AtomicU64,
    /// Request bodies cut off for arriving slower than the minimum rate.
    pub refused_slow: AtomicU64,
    /// Inputs from an address the source does not allow.
    pub refused_address: AtomicU64,
    /// Dead letters not stored whole: over the source's rate (counted, one in N sampled) or
    /// over its quota (counted only).
    pub dead_letters_over_rate: AtomicU64,
    pub dead_letters_over_quota: AtomicU64,
    /// Skipped records by reason.
    pub skip_reasons: std::sync::Mutex<BTreeMap<String, u64>>,
    /// Records missing from a numbered stream (a controller's event ids): lost upstream.
    pub sequence_gaps: AtomicU64,
    /// UDP datagrams dropped because the writer's queue was full.
    pub udp_dropped: AtomicU64,
    /// Datagrams the kernel dropped on this source's UDP socket (from /proc/net/udp).
    pub udp_kernel_drops: AtomicU64,
    /// Scheduled pulls that failed (unreachable, refused, an answer that is not the API's).
    pub pull_failures: AtomicU64,
    /// A flow listener's template state; `None` for sources that are not flow listeners.
    pub flows: Option<FlowMetrics>,
}

/// What a flow listener's decoder keeps and did, copied from its [`seam_adapters::FlowStats`]
/// after every batch of datagrams (the decoder belongs to one task; these are read by
/// `/metrics`).
#[derive(Debug, Default)]
pub struct FlowMetrics {
    /// Templates kept now, over all exporters.
    pub templates: AtomicU64,
    /// Exporters with templates kept now.
    pub exporters: AtomicU64,
    pub templates_learned: AtomicU64,
    pub templates_withdrawn: AtomicU64,
    pub templates_rejected: AtomicU64,
    pub templates_evicted: AtomicU64,
    pub exporters_evicted: AtomicU64,
    pub options_templates: AtomicU64,
    pub sets_without_template: AtomicU64,
}

impl FlowMetrics {
    /// Publishes a decoder's state.
    pub fn update(&self, decoder: &seam_adapters::FlowDecoder) {
        let stats = decoder.stats();
        self.templates
            .store(decoder.templates() as u64, Ordering::Relaxed);
        self.exporters
            .store(decoder.exporters() as u64, Ordering::Relaxed);
        for (counter, value) in [
            (&self.templates_learned, stats.templates_learned),
            (&self.templates_withdrawn, stats.templates_withdrawn),
            (&self.templates_rejected, stats.templates_rejected),
            (&self.templates_evicted, stats.templates_evicted),
            (&self.exporters_evicted, stats.exporters_evicted),
            (&self.options_templates, stats.options_templates),
            (&self.sets_without_template, stats.sets_without_template),
        ] {
            counter.store(value, Ordering::Relaxed);
        }
    }
}

/// Everything `/metrics` shows.
#[derive(Debug, Default)]
pub struct Metrics {
    sources: BTreeMap<String, SourceMetrics>,
    findings_by_rule: Mutex<BTreeMap<String, u64>>,
    /// Events the engine has taken from the log.
    pub engine_events: AtomicU64,
    pub engine_late: AtomicU64,
    pub findings: AtomicU64,
    pub dead_letters: AtomicU64,
    pub commits: AtomicU64,
    pub commit_micros: AtomicU64,
    pub snapshots: AtomicU64,
    /// Names of places the events gave that the estate lacks, and the events that named
    /// one, as of the last snapshot (`seam inspect unknown` lists them).
    pub unknown_names: AtomicU64,
    pub unknown_events: AtomicU64,
    pub writer_queue: AtomicI64,
    pub engine_queue: AtomicI64,
    /// Events handed to the engine and not yet processed.
    pub engine_backlog: AtomicI64,
    /// The log's end and the engine's position in it.
    pub log_end: AtomicU64,
    pub engine_position: AtomicU64,
    /// The engine's watermark, ms since the epoch (i64::MIN before the first event).
    pub watermark_ms: AtomicI64,
    pub stream_clients: AtomicI64,
    pub stream_lagged: AtomicU64,
    pub store_errors: AtomicU64,
    /// Connections to the MQTT broker that found no session kept for Seam.
    pub mqtt_sessions_lost: AtomicU64,
    /// Edits to the estate's files taken while running, and those refused (the running
    /// estate kept).
    pub estate_reloads: AtomicU64,
    pub estate_reload_failures: AtomicU64,
    /// SCIM requests answered, and those refused (an error answer of any kind).
    pub scim_requests: AtomicU64,
    pub scim_errors: AtomicU64,
}

impl Metrics {
    #[cfg(test)]
    pub fn new<'a>(source_names: impl IntoIterator<Item = &'a str>) -> Metrics {
        Metrics::with_flow_sources(source_names, [])
    }

    /// Counters for every source, with flow template series for the flow listeners among
    /// them (`flow_sources`).
    pub fn with_flow_sources<'a>(
        source_names: impl IntoIterator<Item = &'a str>,
        flow_sources: impl IntoIterator<Item = &'a str>,
    ) -> Metrics {
        let mut sources: BTreeMap<String, SourceMetrics> = source_names
            .into_iter()
            .map(|name| (name.to_string(), SourceMetrics::default()))
            .collect();
        for name in flow_sources {
            if let Some(source) = sources.get_mut(name) {
                source.flows = Some(FlowMetrics::default());
            }
        }
        Metrics {
            sources,
            watermark_ms: AtomicI64::new(i64::MIN),
            ..Metrics::default()
        }
    }

    /// The counters of a configured source.
    pub fn source(&self, name: &str) -> Option<&SourceMetrics> {
        self.sources.get(name)
    }

    pub fn count_findings<'a>(&self, rules: impl IntoIterator<Item = &'a str>) {
        let Ok(mut map) = self.findings_by_rule.lock() else {
            return;
        };
        let mut total = 0;
        for rule in rules {
            total += 1;
            match map.get_mut(rule) {
                Some(count) => *count += 1,
                None => {
                    map.insert(rule.to_string(), 1);
                }
            }
        }
        self.findings.fetch_add(total, Ordering::Relaxed);
    }

    /// The Prometheus text exposition. `now_ms` is the wall clock, for the watermark delay.
    pub fn render(&self, now_ms: i64) -> String {
        let mut out = String::with_capacity(4096);
        let per_source: [Series; 10] = [
            (
                "seam_inputs_total",
                "counter",
                "Requests, datagrams, frames, messages or files received.",
                |s| s.inputs.load(Ordering::Relaxed),
            ),
            (
                "seam_input_bytes_total",
                "counter",
                "Bytes received.",
                |s| s.bytes.load(Ordering::Relaxed),
            ),
            (
                "seam_events_stored_total",
                "counter",
                "Events made durable in the event log (acknowledged).",
                |s| s.events_stored.load(Ordering::Relaxed),
            ),
            (
                "seam_events_duplicate_total",
                "counter",
                "Events whose uid was already stored.",
                |s| s.duplicates.load(Ordering::Relaxed),
            ),
            (
                "seam_records_rejected_total",
                "counter",
                "Records that could not be read (parse errors, dead letters).",
                |s| s.rejected.load(Ordering::Relaxed),
            ),
            (
                "seam_records_skipped_total",
                "counter",
                "Records that parsed but carry nothing Seam uses.",
                |s| s.skipped.load(Ordering::Relaxed),
            ),
            (
                "seam_udp_dropped_total",
                "counter",
                "Syslog and flow datagrams dropped because the queues were full.",
                |s| s.udp_dropped.load(Ordering::Relaxed),
            ),
            (
                "seam_udp_kernel_drops",
                "gauge",
                "Datagrams the kernel dropped on the source's UDP socket.",
                |s| s.udp_kernel_drops.load(Ordering::Relaxed),
            ),
            (
                "seam_pull_failures_total",
                "counter",
                "Scheduled pulls of the source that failed.",
                |s| s.pull_failures.load(Ordering::Relaxed),
            ),
            ("seam_sources", "gauge", "Configured sources.", |_| 1),
        ];
        for (name, kind, help, read) in per_source {
            header(&mut out, name, kind, help);
            for (source, metrics) in &self.sources {
                let _ = writeln!(
                    out,
                    "{name}{{source=\"{}\"}} {}",
                    escape(source),
                    read(metrics)
                );
            }
        }
        header(
            &mut out,
            "seam_inputs_refused_total",
            "counter",
            "Inputs refused before reading, by reason.",
        );
        for (source, m) in &self.sources {
            for (reason, value) in [
                ("auth", &m.refused_auth),
                ("size", &m.refused_size),
                ("type", &m.refused_type),
                ("busy", &m.refused_busy),
                ("slow", &m.refused_slow),
                ("address", &m.refused_address),
            ] {
                let _ = writeln!(
                    out,
                    "seam_inputs_refused_total{{source=\"{}\",reason=\"{reason}\"}} {}",
                    escape(source),
                    value.load(Ordering::Relaxed)
                );
            }
        }
        header(
            &mut out,
            "seam_records_skipped_by_reason_total",
            "counter",
            "Records that parsed but carry nothing Seam uses, by source and the reason.",
        );
        for (source, m) in &self.sources {
            if let Ok(reasons) = m.skip_reasons.lock() {
                for (reason, count) in reasons.iter() {
                    let _ = writeln!(
                        out,
                        "seam_records_skipped_by_reason_total{{source=\"{}\",reason=\"{}\"}} {count}",
                        escape(source),
                        escape(reason)
                    );
                }
            }
        }
        header(
            &mut out,
            "seam_sequence_gaps_total",
            "counter",
            "Records missing from sources that number them (lost before they reached Seam).",
        );
        for (source, m) in &self.sources {
            let _ = writeln!(
                out,
                "seam_sequence_gaps_total{{source=\"{}\"}} {}",
                escape(source),
                m.sequence_gaps.load(Ordering::Relaxed)
            );
        }
        header(
            &mut out,
            "seam_dead_letters_not_stored_total",
            "counter",
            "Dead letters not stored whole, by source and reason (rate: sampled; quota: counted only).",
        );
        for (source, m) in &self.sources {
            for (reason, value) in [
                ("rate", &m.dead_letters_over_rate),
                ("quota", &m.dead_letters_over_quota),
            ] {
                let _ = writeln!(
                    out,
                    "seam_dead_letters_not_stored_total{{source=\"{}\",reason=\"{reason}\"}} {}",
                    escape(source),
                    value.load(Ordering::Relaxed)
                );
            }
        }
        self.render_flows(&mut out);
        header(
            &mut out,
            "seam_findings_total",
            "counter",
            "Findings produced, by rule.",
        );
        if let Ok(map) = self.findings_by_rule.lock() {
            for (rule, count) in map.iter() {
                let _ = writeln!(
                    out,
                    "seam_findings_total{{rule=\"{}\"}} {count}",
                    escape(rule)
                );
            }
        }
        let watermark = self.watermark_ms.load(Ordering::Relaxed);
        let delay = if watermark == i64::MIN {
            0.0
        } else {
            (now_ms.saturating_sub(watermark)) as f64 / 1000.0
        };
        let log_end = self.log_end.load(Ordering::Relaxed);
        let position = self.engine_position.load(Ordering::Relaxed);
        let commits = self.commits.load(Ordering::Relaxed);
        let singles: [(&str, &str, &str, String); 22] = [
            (
                "seam_engine_events_total",
                "counter",
                "Events the engine has processed.",
                self.engine_events.load(Ordering::Relaxed).to_string(),
            ),
            (
                "seam_engine_late_events_total",
                "counter",
                "Events that arrived after the watermark had passed them.",
                self.engine_late.load(Ordering::Relaxed).to_string(),
            ),
            (
                "seam_dead_letters_total",
                "counter",
                "Dead letters stored.",
                self.dead_letters.load(Ordering::Relaxed).to_string(),
            ),
            (
                "seam_commits_total",
                "counter",
                "Group commits of the event log.",
                commits.to_string(),
            ),
            (
                "seam_commit_seconds_total",
                "counter",
                "Time spent in group commits.",
                format!(
                    "{:.6}",
                    self.commit_micros.load(Ordering::Relaxed) as f64 / 1e6
                ),
            ),
            (
                "seam_snapshots_total",
                "counter",
                "Engine snapshots saved.",
                self.snapshots.load(Ordering::Relaxed).to_string(),
            ),
            (
                "seam_unknown_references",
                "gauge",
                "Doors, readers, access points, ports, assets, zones and sites events named that the estate does not know (as of the last snapshot).",
                self.unknown_names.load(Ordering::Relaxed).to_string(),
            ),
            (
                "seam_unknown_reference_events",
                "gauge",
                "Events that named something the estate does not know (as of the last snapshot).",
                self.unknown_events.load(Ordering::Relaxed).to_string(),
            ),
            (
                "seam_writer_queue_depth",
                "gauge",
                "Ingest jobs waiting for the writer.",
                self.writer_queue.load(Ordering::Relaxed).max(0).to_string(),
            ),
            (
                "seam_engine_queue_depth",
                "gauge",
                "Batches waiting for the engine.",
                self.engine_queue.load(Ordering::Relaxed).max(0).to_string(),
            ),
            (
                "seam_engine_backlog_events",
                "gauge",
                "Events waiting for the engine.",
                self.engine_backlog
                    .load(Ordering::Relaxed)
                    .max(0)
                    .to_string(),
            ),
            (
                "seam_log_position",
                "gauge",
                "Events (and heartbeats) in the event log.",
                log_end.to_string(),
            ),
            (
                "seam_engine_lag_events",
                "gauge",
                "Log records not yet processed by the engine.",
                log_end.saturating_sub(position).to_string(),
            ),
            (
                "seam_watermark_delay_seconds",
                "gauge",
                "Wall clock minus the engine's watermark.",
                format!("{delay:.3}"),
            ),
            (
                "seam_stream_clients",
                "gauge",
                "Open finding streams.",
                self.stream_clients
                    .load(Ordering::Relaxed)
                    .max(0)
                    .to_string(),
            ),
            (
                "seam_stream_lagged_total",
                "counter",
                "Findings a slow stream client missed.",
                self.stream_lagged.load(Ordering::Relaxed).to_string(),
            ),
            (
                "seam_store_errors_total",
                "counter",
                "Failed store writes.",
                self.store_errors.load(Ordering::Relaxed).to_string(),
            ),
            (
                "seam_mqtt_sessions_lost_total",
                "counter",
                "Connections to the MQTT broker that found no session kept for Seam.",
                self.mqtt_sessions_lost.load(Ordering::Relaxed).to_string(),
            ),
            (
                "seam_estate_reloads_total",
                "counter",
                "Edits to the estate's files taken while running.",
                self.estate_reloads.load(Ordering::Relaxed).to_string(),
            ),
            (
                "seam_estate_reload_failures_total",
                "counter",
                "Edits to the estate's files refused for errors (the running estate is kept).",
                self.estate_reload_failures
                    .load(Ordering::Relaxed)
                    .to_string(),
            ),
            (
                "seam_scim_requests_total",
                "counter",
                "SCIM requests answered.",
                self.scim_requests.load(Ordering::Relaxed).to_string(),
            ),
            (
                "seam_scim_errors_total",
                "counter",
                "SCIM requests answered with an error.",
                self.scim_errors.load(Ordering::Relaxed).to_string(),
            ),
        ];
        for (name, kind, help, value) in singles {
            header(&mut out, name, kind, help);
            let _ = writeln!(out, "{name} {value}");
        }
        out
    }
}

impl Metrics {
    /// The flow listeners' template state, for the sources that are flow listeners only.
    fn render_flows(&self, out: &mut String) {
        let flows: Vec<(&String, &FlowMetrics)> = self
            .sources
            .iter()
            .filter_map(|(name, source)| source.flows.as_ref().map(|flows| (name, flows)))
            .collect();
        if flows.is_empty() {
            return;
        }
        let singles: [FlowSeries; 5] = [
            (
                "seam_flow_templates",
                "gauge",
                "Flow templates kept now, over all exporters.",
                |f| &f.templates,
            ),
            (
                "seam_flow_exporters",
                "gauge",
                "Flow exporters whose templates are kept now.",
                |f| &f.exporters,
            ),
            (
                "seam_flow_exporters_evicted_total",
                "counter",
                "Flow exporters forgotten, templates and all, for the exporter limit.",
                |f| &f.exporters_evicted,
            ),
            (
                "seam_flow_options_templates_total",
                "counter",
                "Options templates read (exporter metadata; their records are skipped).",
                |f| &f.options_templates,
            ),
            (
                "seam_flow_sets_without_template_total",
                "counter",
                "Flow data sets that came before their template (dead letters).",
                |f| &f.sets_without_template,
            ),
        ];
        for (name, kind, help, read) in singles {
            header(out, name, kind, help);
            for (source, metrics) in &flows {
                let _ = writeln!(
                    out,
                    "{name}{{source=\"{}\"}} {}",
                    escape(source),
                    read(metrics).load(Ordering::Relaxed)
                );
            }
        }
        header(
            out,
            "seam_flow_template_events_total",
            "counter",
            "Flow templates learned, withdrawn by their exporter, rejected, or evicted for a limit.",
        );
        for (source, metrics) in &flows {
            for (kind, value) in [
                ("learned", &metrics.templates_learned),
                ("withdrawn", &metrics.templates_withdrawn),
                ("rejected", &metrics.templates_rejected),
                ("evicted", &metrics.templates_evicted),
            ] {
                let _ = writeln!(
                    out,
                    "seam_flow_template_events_total{{source=\"{}\",kind=\"{kind}\"}} {}",
                    escape(source),
                    value.load(Ordering::Relaxed)
                );
            }
        }
    }
}

/// A flow listener's series: name, type, help, and which counter it reads.
type FlowSeries = (
    &'static str,
    &'static str,
    &'static str,
    fn(&FlowMetrics) -> &AtomicU64,
);

/// A per-source series: name, type, help, and how to read it.
type Series = (
    &'static str,
    &'static str,
    &'static str,
    fn(&SourceMetrics) -> u64,
);

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Label values escaped as the text format wants.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_per_source_and_per_rule_series() {
        let metrics = Metrics::new(["okta", "meraki"]);
        metrics
            .source("okta")
            .unwrap()
            .events_stored
            .fetch_add(3, Ordering::Relaxed);
        metrics.count_findings(["seam.a", "seam.a", "seam.b"]);
        metrics.watermark_ms.store(1_000, Ordering::Relaxed);
        let text = metrics.render(3_500);
        assert!(
            text.contains("seam_events_stored_total{source=\"okta\"} 3\n"),
            "{text}"
        );
        assert!(text.contains("seam_events_stored_total{source=\"meraki\"} 0\n"));
        assert!(text.contains("seam_findings_total{rule=\"seam.a\"} 2\n"));
        assert!(text.contains("seam_watermark_delay_seconds 2.500\n"));
        assert!(text.contains("# TYPE seam_findings_total counter\n"));
        assert!(text.contains("seam_inputs_refused_total{source=\"okta\",reason=\"auth\"} 0\n"));
    }

    #[test]
    fn flow_series_are_rendered_for_flow_listeners_only() {
        let metrics = Metrics::with_flow_sources(["okta", "flows"], ["flows"]);
        let flows = metrics.source("flows").unwrap().flows.as_ref().unwrap();
        flows.templates.store(3, Ordering::Relaxed);
        flows.templates_evicted.store(2, Ordering::Relaxed);
        let text = metrics.render(0);
        assert!(
            text.contains("seam_flow_templates{source=\"flows\"} 3\n"),
            "{text}"
        );
        assert!(
            text.contains("seam_flow_template_events_total{source=\"flows\",kind=\"evicted\"} 2\n")
        );
        assert!(text.contains("seam_flow_sets_without_template_total{source=\"flows\"} 0\n"));
        assert!(!text.contains("seam_flow_templates{source=\"okta\"}"));
        assert!(!Metrics::new(["okta"]).render(0).contains("seam_flow_"));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
