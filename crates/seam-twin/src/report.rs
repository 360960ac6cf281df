//! The evaluation as one self-contained HTML page: the figures, the table per attack and per
//! rule, and three plots drawn as inline SVG (no scripts, nothing fetched).

use std::fmt::Write as _;

use crate::eval::{Report, human_duration};

/// Escapes text for HTML.
fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A horizontal bar chart: one bar per label, two stacked values (good, bad).
fn bars(title: &str, rows: &[(String, usize, usize)], good: &str, bad: &str) -> String {
    let width = 720.0;
    let label_width = 300.0;
    let row = 22.0;
    let height = row * rows.len() as f64 + 40.0;
    let max = rows.iter().map(|(_, a, b)| a + b).max().unwrap_or(1).max(1) as f64;
    let scale = (width - label_width - 60.0) / max;
    let mut svg = format!(
        "<figure><figcaption>{}</figcaption><svg viewBox=\"0 0 {width} {height}\" width=\"{width}\" \
         height=\"{height}\" role=\"img\" aria-label=\"{}\">",
        esc(title),
        esc(title)
    );
    for (index, (label, a, b)) in rows.iter().enumerate() {
        let y = 10.0 + row * index as f64;
        let wa = *a as f64 * scale;
        let wb = *b as f64 * scale;
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" class=\"label\">{}</text>\
             <rect x=\"{label_width}\" y=\"{y}\" width=\"{wa:.1}\" height=\"16\" class=\"good\"><title>{good}: {a}</title></rect>\
             <rect x=\"{:.1}\" y=\"{y}\" width=\"{wb:.1}\" height=\"16\" class=\"bad\"><title>{bad}: {b}</title></rect>\
             <text x=\"{:.1}\" y=\"{}\" class=\"value\">{}</text>",
            label_width - 8.0,
            y + 12.0,
            esc(label),
            label_width + wa,
            label_width + wa + wb + 6.0,
            y + 12.0,
            if *b > 0 {
                format!("{a} / {b}")
            } else {
                a.to_string()
            }
        );
    }
    let _ = write!(
        svg,
        "<rect x=\"{label_width}\" y=\"{}\" width=\"12\" height=\"12\" class=\"good\"/>\
         <text x=\"{}\" y=\"{}\" class=\"value\">{good}</text>\
         <rect x=\"{}\" y=\"{}\" width=\"12\" height=\"12\" class=\"bad\"/>\
         <text x=\"{}\" y=\"{}\" class=\"value\">{bad}</text></svg></figure>",
        height - 22.0,
        label_width + 18.0,
        height - 12.0,
        label_width + 140.0,
        height - 22.0,
        label_width + 158.0,
        height - 12.0,
    );
    svg
}

/// A histogram of times to detect on a log scale of buckets.
fn ttd_histogram(report: &Report) -> String {
    const BUCKETS: &[(f64, &str)] = &[
        (10.0, "< 10 s"),
        (60.0, "< 1 min"),
        (600.0, "< 10 min"),
        (1800.0, "< 30 min"),
        (3600.0, "< 1 h"),
        (4.0 * 3600.0, "< 4 h"),
        (f64::INFINITY, "4 h or more"),
    ];
    let mut counts = vec![0usize; BUCKETS.len()];
    for result in &report.scenario_results {
        if let Some(seconds) = result.time_to_detect_s
            && let Some(index) = BUCKETS.iter().position(|(limit, _)| seconds < *limit)
            && let Some(count) = counts.get_mut(index)
        {
            *count += 1;
        }
    }
    let rows: Vec<(String, usize, usize)> = BUCKETS
        .iter()
        .zip(&counts)
        .map(|((_, label), count)| ((*label).to_string(), *count, 0))
        .collect();
    bars(
        "Time to detect (scenarios per bucket)",
        &rows,
        "scenarios",
        "",
    )
}

/// The report page.
pub fn html(report: &Report) -> String {
    let mut page = String::from(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Seam detection quality</title>\
         <style>body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#1d2330;max-width:980px}\
         table{border-collapse:collapse;margin:1em 0}td,th{padding:3px 10px;border-bottom:1px solid #dde}\
         th{text-align:left}td.n{text-align:right}.miss{color:#b3261e;font-weight:600}\
         .good{fill:#2f6fde}.bad{fill:#e0533d}.label,.value{font-size:12px;fill:#1d2330}\
         figure{margin:1.5em 0}figcaption{font-weight:600;margin-bottom:.4em}\
         .big{font-size:28px;font-weight:700}.cards{display:flex;gap:2em}</style></head><body>",
    );
    let _ = write!(
        page,
        "<h1>Detection quality</h1><div class=\"cards\">\
         <div><div class=\"big\">{:.3}</div>recall ({} of {} attacks)</div>\
         <div><div class=\"big\">{:.3}</div>precision ({} of {} findings)</div>\
         <div><div class=\"big\">{:.2}</div>false positives per 1,000 person-days ({} in {} person-days)</div></div>",
        report.recall,
        report.detected,
        report.scenarios,
        report.precision,
        report.findings - report.false_positives,
        report.findings,
        report.fp_per_1000_person_days,
        report.false_positives,
        report.person_days
    );
    page.push_str(
        "<h2>Per attack</h2><table><tr><th>attack</th><th>scenarios</th><th>detected</th>\
         <th>recall</th><th>median time to detect</th><th>seen by</th></tr>",
    );
    for kind in &report.kinds {
        let class = if kind.detected < kind.scenarios {
            " class=\"miss\""
        } else {
            ""
        };
        let _ = write!(
            page,
            "<tr{class}><td>{}{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{:.2}</td>\
             <td class=\"n\">{}</td><td>{}</td></tr>",
            esc(&kind.kind),
            if kind.campaign { " (campaign)" } else { "" },
            kind.scenarios,
            kind.detected,
            kind.recall,
            kind.median_time_to_detect_s
                .map_or_else(|| "-".to_string(), human_duration),
            esc(&kind.detected_by.join(", "))
        );
    }
    page.push_str("</table>");
    page.push_str(&ttd_histogram(report));
    let rules: Vec<(String, usize, usize)> = report
        .rules
        .iter()
        .map(|r| (r.rule.clone(), r.true_positives, r.false_positives))
        .collect();
    page.push_str(&bars(
        "Findings per rule",
        &rules,
        "attack",
        "false positive",
    ));
    let days: Vec<(String, usize, usize)> = report
        .per_day
        .iter()
        .map(|(day, (good, bad))| (day.clone(), *good, *bad))
        .collect();
    page.push_str(&bars("Findings per day", &days, "attack", "false positive"));
    if !report.missed.is_empty() {
        let _ = write!(
            page,
            "<h2>Missed</h2><p class=\"miss\">{}</p>",
            esc(&report.missed.join(", "))
        );
    }
    page.push_str("</body></html>\n");
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_holds_the_figures_and_escapes_text() {
        let report = crate::eval::evaluate(&[], &[], 100);
        let page = html(&report);
        assert!(page.starts_with("<!doctype html>"));
        assert!(page.contains("Detection quality"));
        assert!(page.contains("<svg"));
        assert_eq!(esc("<a & \"b\">"), "&lt;a &amp; &quot;b&quot;&gt;");
    }
}
