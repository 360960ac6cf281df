//! The estate as a picture: each site a panel, its zones laid out by how many doors separate
//! them from the street, doors as lines between them, access points and assets inside, and an
//! attack path drawn over it in red. People would rather look at a floor plan than read one.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use seam_estate::{Estate, SiteStatus, ZoneIdx, ZoneKind};

use crate::paths::{Node, Path};

const ZONE_W: f64 = 150.0;
const ZONE_H: f64 = 70.0;
const GAP_X: f64 = 24.0;
const GAP_Y: f64 = 46.0;
const MARGIN: f64 = 20.0;
/// Beyond this many zones in a row, a site's panel shows the first ones and a count.
const MAX_PER_ROW: usize = 8;

fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn fill(kind: ZoneKind) -> &'static str {
    match kind {
        ZoneKind::Lobby => "#e8eef9",
        ZoneKind::Office => "#eef5ea",
        ZoneKind::Meeting => "#f7f1e3",
        ZoneKind::ServerRoom => "#fbe4e1",
        ZoneKind::Classified => "#f3e1f5",
        ZoneKind::Common => "#e6f4f4",
        _ => "#f1f1f1",
    }
}

/// The SVG document; `path` is highlighted when given.
pub fn svg(estate: &Estate, path: Option<&Path>) -> String {
    let on_path: BTreeSet<Node> = path
        .map(|p| {
            p.steps
                .iter()
                .flat_map(|s| [s.from, s.to])
                .collect::<BTreeSet<_>>()
        })
        .unwrap_or_default();
    let path_doors: BTreeSet<String> = path
        .map(|p| {
            p.steps
                .iter()
                .filter_map(|s| match &s.method {
                    crate::paths::Method::Badge { door }
                    | crate::paths::Method::Tailgate { door } => Some(door.clone()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let mut body = String::new();
    let mut x0 = MARGIN;
    let mut height: f64 = 0.0;
    for (site_index, site) in estate.sites().iter().enumerate() {
        let site_idx = seam_estate::SiteIdx(site_index as u32);
        // Rows by depth: zones reached from outside in one door, two doors, ...
        let mut depth: BTreeMap<ZoneIdx, usize> = BTreeMap::new();
        let mut frontier: Vec<Option<ZoneIdx>> = vec![None];
        let mut level = 0;
        while !frontier.is_empty() && level < 12 {
            let mut next = Vec::new();
            for door in estate.doors().iter().filter(|d| d.site == site_idx) {
                if frontier.contains(&door.from)
                    && let Some(to) = door.to
                    && !depth.contains_key(&to)
                {
                    depth.insert(to, level);
                    next.push(Some(to));
                }
            }
            frontier = next;
            level += 1;
        }
        for (index, zone) in estate.zones().iter().enumerate() {
            let idx = ZoneIdx(index as u32);
            if zone.site == site_idx && !depth.contains_key(&idx) {
                depth.insert(idx, level);
            }
        }
        let mut rows: BTreeMap<usize, Vec<ZoneIdx>> = BTreeMap::new();
        for (zone, row) in &depth {
            rows.entry(*row).or_default().push(*zone);
        }
        let columns = rows
            .values()
            .map(|r| r.len().min(MAX_PER_ROW))
            .max()
            .unwrap_or(1)
            .max(1);
        let closed = site.status == SiteStatus::Decommissioned;
        let title = format!(
            "{} ({}){}",
            site.name,
            site.id,
            if closed { ", decommissioned" } else { "" }
        );
        // Wide enough for the zones and for the title (about 8.5 px a character at 15 px).
        let width = (columns as f64 * (ZONE_W + GAP_X) - GAP_X + 2.0 * MARGIN)
            .max(title.chars().count() as f64 * 8.5 + 24.0);
        let row_count = rows.len().max(1);
        let panel_h = 60.0 + row_count as f64 * (ZONE_H + GAP_Y) + 40.0;
        height = height.max(panel_h);
        let _ = write!(
            body,
            "<g><rect x=\"{x0}\" y=\"{MARGIN}\" width=\"{width}\" height=\"{panel_h}\" rx=\"8\" class=\"site{}\"/>\
             <text x=\"{}\" y=\"{}\" class=\"title\">{}</text>",
            if closed { " closed" } else { "" },
            x0 + 12.0,
            MARGIN + 22.0,
            esc(&title),
        );
        // Zone positions: the street at the bottom, deeper zones above.
        let mut position: BTreeMap<ZoneIdx, (f64, f64)> = BTreeMap::new();
        for (row_number, (_, zones)) in rows.iter().enumerate() {
            let y = MARGIN + panel_h - 40.0 - (row_number as f64 + 1.0) * (ZONE_H + GAP_Y) + GAP_Y;
            for (column, zone) in zones.iter().take(MAX_PER_ROW).enumerate() {
                let x = x0 + MARGIN + column as f64 * (ZONE_W + GAP_X);
                position.insert(*zone, (x, y));
            }
            if zones.len() > MAX_PER_ROW {
                let _ = write!(
                    body,
                    "<text x=\"{}\" y=\"{}\" class=\"small\">and {} more</text>",
                    x0 + width - 80.0,
                    y - 6.0,
                    zones.len() - MAX_PER_ROW
                );
            }
        }
        let street_y = MARGIN + panel_h - 22.0;
        let _ = write!(
            body,
            "<text x=\"{}\" y=\"{}\" class=\"small\">outside</text>",
            x0 + 12.0,
            street_y + 12.0
        );
        // Doors first, under the zones.
        for door in estate.doors().iter().filter(|d| d.site == site_idx) {
            let centre = |zone: Option<ZoneIdx>| match zone {
                Some(z) => position
                    .get(&z)
                    .map(|(x, y)| (x + ZONE_W / 2.0, y + ZONE_H / 2.0)),
                None => position
                    .get(&door.to?)
                    .map(|(x, _)| (x + ZONE_W / 2.0, street_y)),
            };
            let (Some((x1, y1)), Some((x2, y2))) = (centre(door.from), centre(door.to)) else {
                continue;
            };
            let class = if path_doors.contains(&door.id) {
                "door hot"
            } else {
                "door"
            };
            let _ = write!(
                body,
                "<line x1=\"{x1:.1}\" y1=\"{y1:.1}\" x2=\"{x2:.1}\" y2=\"{y2:.1}\" class=\"{class}\"><title>{}</title></line>",
                esc(&door.id)
            );
        }
        for (zone, (x, y)) in &position {
            let z = estate.zone(*zone);
            let hot = on_path.contains(&Node::Zone(zone.0));
            let _ = write!(
                body,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{ZONE_W}\" height=\"{ZONE_H}\" rx=\"4\" fill=\"{}\" class=\"zone{}\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" class=\"label\">{}</text>\
                 <text x=\"{:.1}\" y=\"{:.1}\" class=\"small\">{} · {}</text>",
                fill(z.kind),
                if hot { " hot" } else { "" },
                x + 6.0,
                y + 16.0,
                esc(&z.id),
                x + 6.0,
                y + 30.0,
                z.kind,
                z.sensitivity
            );
            let aps = estate.aps().iter().filter(|ap| ap.zone == *zone).count();
            for i in 0..aps.min(4) {
                let _ = write!(
                    body,
                    "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"5\" class=\"ap\"><title>access point</title></circle>",
                    x + 12.0 + i as f64 * 14.0,
                    y + ZONE_H - 12.0
                );
            }
            let ports = estate
                .switch_ports()
                .iter()
                .filter(|p| p.zone == *zone)
                .count();
            for i in 0..ports.min(4) {
                let _ = write!(
                    body,
                    "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"8\" height=\"8\" class=\"port\"><title>wall port</title></rect>",
                    x + 70.0 + i as f64 * 12.0,
                    y + ZONE_H - 16.0
                );
            }
            let assets: Vec<(usize, &seam_estate::Asset)> = estate
                .assets()
                .iter()
                .enumerate()
                .filter(|(_, a)| a.zone == *zone && a.owner.is_none())
                .collect();
            for (i, (index, asset)) in assets.iter().take(5).enumerate() {
                let hot = on_path.contains(&Node::Asset(*index as u32));
                let _ = write!(
                    body,
                    "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"10\" height=\"10\" class=\"asset{}\"><title>{} ({})</title></rect>",
                    x + ZONE_W - 16.0 - i as f64 * 14.0,
                    y + 6.0,
                    if hot { " hot" } else { "" },
                    esc(&asset.id),
                    asset.kind
                );
            }
        }
        body.push_str("</g>");
        x0 += width + MARGIN;
    }
    let total_w = x0.max(560.0);
    let legend_y = height + 2.0 * MARGIN + 6.0;
    let _ = write!(
        body,
        "<g class=\"small\"><circle cx=\"{m}\" cy=\"{y}\" r=\"5\" class=\"ap\"/><text x=\"{a}\" y=\"{t}\" class=\"small\">access point</text>\
         <rect x=\"{b}\" y=\"{r}\" width=\"8\" height=\"8\" class=\"port\"/><text x=\"{c}\" y=\"{t}\" class=\"small\">wall port</text>\
         <rect x=\"{d}\" y=\"{r}\" width=\"10\" height=\"10\" class=\"asset\"/><text x=\"{e}\" y=\"{t}\" class=\"small\">asset (hover for its name)</text>\
         <line x1=\"{f}\" y1=\"{y}\" x2=\"{g}\" y2=\"{y}\" class=\"door\"/><text x=\"{h}\" y=\"{t}\" class=\"small\">door</text>\
         <line x1=\"{i}\" y1=\"{y}\" x2=\"{j}\" y2=\"{y}\" class=\"door hot\"/><text x=\"{k}\" y=\"{t}\" class=\"small\">attack path</text></g>",
        m = MARGIN + 5.0,
        y = legend_y,
        t = legend_y + 4.0,
        r = legend_y - 4.0,
        a = MARGIN + 14.0,
        b = MARGIN + 100.0,
        c = MARGIN + 112.0,
        d = MARGIN + 180.0,
        e = MARGIN + 194.0,
        f = MARGIN + 340.0,
        g = MARGIN + 370.0,
        h = MARGIN + 376.0,
        i = MARGIN + 420.0,
        j = MARGIN + 450.0,
        k = MARGIN + 456.0,
    );
    let total_h = height + 2.0 * MARGIN + 20.0;
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {total_w:.0} {total_h:.0}\" \
         width=\"{total_w:.0}\" height=\"{total_h:.0}\" font-family=\"system-ui, sans-serif\">\
         <style>.site{{fill:#fff;stroke:#9aa3b5}}.site.closed{{fill:#f4f4f4;stroke-dasharray:6 4}}\
         .title{{font-size:15px;font-weight:600;fill:#1d2330}}.label{{font-size:12px;fill:#1d2330}}\
         .small{{font-size:10px;fill:#5b6477}}.zone{{stroke:#8a93a6}}.zone.hot{{stroke:#d12b1f;stroke-width:3}}\
         .door{{stroke:#8a93a6;stroke-width:2}}.door.hot{{stroke:#d12b1f;stroke-width:4}}\
         .ap{{fill:#2f6fde}}.port{{fill:#444}}.asset{{fill:#7a5cc7}}.asset.hot{{fill:#d12b1f}}</style>\
         {body}</svg>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_zone_is_drawn_and_the_path_is_red() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/estate");
        let estate = Estate::load_dir(&dir).unwrap();
        let at = seam_model::Ts::parse("2026-03-02T22:00:00Z").unwrap();
        let creds = crate::paths::Credentials::parse(&estate, "badge:4412", at).unwrap();
        let graph = crate::paths::Graph::new(&estate, creds, at);
        let path = graph
            .paths(Node::Outside, graph.node("hq-db1").unwrap(), 1)
            .remove(0);
        let picture = svg(&estate, Some(&path));
        assert!(picture.starts_with("<svg"));
        for zone in estate.zones() {
            assert!(picture.contains(&zone.id), "{}", zone.id);
        }
        assert!(picture.contains("door hot"));
        assert!(picture.contains("zone hot"));
        assert!(picture.contains("decommissioned"));
    }
}
