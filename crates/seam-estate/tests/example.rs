//! The example estate of the demo day loads, and answers the questions the engine asks of it.
#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "the helpers are test code too: a panic there fails the test"
)]

use std::net::IpAddr;
use std::path::Path;

use seam_estate::{
    Estate, EstateFile, IdentifierKind, Level, NetworkKind, PersonStatus, SiteStatus, ZoneKind,
    distance_km,
};
use seam_model::Ts;

fn example() -> Estate {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/estate");
    match Estate::load_dir(&dir) {
        Ok(estate) => estate,
        Err(errors) => panic!(
            "{}",
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        ),
    }
}

fn ts(text: &str) -> Ts {
    Ts::parse(text).unwrap()
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn ids<T>(entities: &[T], id: impl Fn(&T) -> &str) -> Vec<&str> {
    entities.iter().map(id).collect()
}

#[test]
fn the_example_holds_exactly_the_demo_ids() {
    let estate = example();
    assert_eq!(ids(estate.sites(), |site| &site.id), ["hq", "nyc", "old"]);
    assert_eq!(
        ids(estate.zones(), |zone| &zone.id),
        [
            "hq-lobby",
            "hq-office",
            "hq-meet-orion",
            "hq-cafe",
            "hq-server",
            "hq-classified",
            "nyc-lobby",
            "nyc-office",
            "old-floor"
        ]
    );
    assert_eq!(
        ids(estate.doors(), |door| &door.id),
        [
            "hq-main",
            "hq-office-door",
            "hq-meet-door",
            "hq-cafe-door",
            "hq-server-in",
            "hq-server-out",
            "hq-server-fire",
            "hq-classified-in",
            "hq-classified-out",
            "nyc-main",
            "nyc-office-door",
            "old-main"
        ]
    );
    assert_eq!(
        ids(estate.aps(), |ap| &ap.id),
        [
            "hq-ap-lobby",
            "hq-ap-office",
            "hq-ap-orion",
            "hq-ap-cafe",
            "nyc-ap-office"
        ]
    );
    assert_eq!(
        ids(estate.switch_ports(), |port| &port.id),
        ["hq-sw1:Gi1/0/5", "hq-sw1:Gi1/0/7", "hq-sw2:Gi1/0/1"]
    );
    assert_eq!(
        ids(estate.networks(), |network| &network.id),
        [
            "hq-corp", "hq-guest", "hq-iot", "hq-dc", "nyc-corp", "vpn-pool"
        ]
    );
    assert_eq!(
        ids(estate.assets(), |asset| &asset.id),
        [
            "hq-db1",
            "hq-ws-alice",
            "hq-ws-dan",
            "hq-cam-server",
            "hq-door-ctrl",
            "hq-server-counter",
            "hq-server-fire-contact",
            "hq-phone-bob",
            "hq-pacs",
            "nyc-app1"
        ]
    );
    assert_eq!(
        ids(estate.resources(), |resource| &resource.id),
        ["payroll-share", "hr-app", "wiki"]
    );
    assert_eq!(
        ids(estate.people(), |person| &person.id),
        [
            "alice",
            "bob",
            "carol",
            "dan",
            "erin",
            "judy",
            "frank",
            "grace",
            "heidi",
            "ivan",
            "svc-backup"
        ]
    );
}

#[test]
fn entities_carry_their_attributes() {
    let estate = example();
    let hq = estate.site_idx("hq").unwrap();
    let old = estate.site(estate.site_idx("old").unwrap());
    assert_eq!(old.status, SiteStatus::Decommissioned);
    assert!(old.is_active_at(ts("2025-12-31T23:59:59.999Z")));
    assert!(!old.is_active_at(ts("2026-01-01T00:00:00Z")));

    let server = estate.zone(estate.zone_idx("hq-server").unwrap());
    assert_eq!(
        (server.site, server.kind, server.sensitivity),
        (hq, ZoneKind::ServerRoom, Level::Critical)
    );
    assert!(server.anti_passback && !server.high_traffic);
    assert_eq!(server.kind.as_str(), "server_room");
    assert_eq!(
        estate.zone(estate.zone_idx("hq-meet-orion").unwrap()).name,
        "Orion meeting room"
    );

    let main = estate.door(estate.door_idx("hq-main").unwrap());
    assert_eq!((main.from, main.to), (None, estate.zone_idx("hq-lobby")));
    let server_out = estate.door(estate.door_idx("hq-server-out").unwrap());
    assert_eq!(
        (server_out.from, server_out.to),
        (estate.zone_idx("hq-server"), estate.zone_idx("hq-office"))
    );

    let port = estate.switch_port(estate.switch_port_idx("hq-sw1:Gi1/0/5").unwrap());
    assert_eq!(
        (port.zone, port.network),
        (
            estate.zone_idx("hq-meet-orion").unwrap(),
            estate.network_idx("hq-corp").unwrap()
        )
    );
    let vpn = estate.network(estate.network_idx("vpn-pool").unwrap());
    assert_eq!((vpn.site, vpn.kind), (None, NetworkKind::Vpn));

    let controller = estate.asset(estate.asset_idx("hq-door-ctrl").unwrap());
    assert_eq!(
        controller.covers,
        [
            estate.zone_idx("hq-server").unwrap(),
            estate.zone_idx("hq-classified").unwrap()
        ]
    );
    assert_eq!(
        estate.asset(estate.asset_idx("hq-ws-dan").unwrap()).owner,
        estate.person_idx("dan")
    );

    let payroll = estate.resource(estate.resource_idx("payroll-share").unwrap());
    assert!(payroll.has_label("requires-onsite") && payroll.has_label("confidential"));
    assert_eq!(payroll.asset, estate.asset_idx("hq-db1"));
    assert!(
        !estate
            .resource(estate.resource_idx("wiki").unwrap())
            .has_label("requires-onsite")
    );

    let grace = estate.person(estate.person_idx("grace").unwrap());
    assert_eq!(grace.host, estate.person_idx("alice"));
    let bob = estate.person(estate.person_idx("bob").unwrap());
    assert!(bob.privileged && bob.has_role("sysadmin"));
    assert_eq!(estate.site_idx("nowhere"), None);
}

#[test]
fn devices_and_addresses() {
    let estate = example();
    let name =
        |asset: Option<seam_estate::AssetIdx>| asset.map(|asset| estate.asset(asset).id.as_str());
    assert_eq!(
        estate.door_by_reader("hq-main-r1"),
        estate.door_idx("hq-main")
    );
    assert_eq!(
        estate.door_by_reader("hq-server-in"),
        estate.door_idx("hq-server-in"),
        "a door without readers is reported by id"
    );
    assert_eq!(estate.door_by_reader("nope"), None);
    assert_eq!(name(estate.asset_by_ip(ip("10.40.0.11"))), Some("hq-db1"));
    assert_eq!(
        name(estate.asset_by_ip(ip("::ffff:10.40.0.11"))),
        Some("hq-db1")
    );
    assert_eq!(name(estate.asset_by_ip(ip("10.40.0.12"))), None);
    assert_eq!(
        name(estate.asset_by_hostname("HQ-WS-Alice")),
        Some("hq-ws-alice")
    );
    assert_eq!(
        name(estate.asset_by_hostname("hq-db1.corp.example.com.")),
        Some("hq-db1")
    );
    assert_eq!(
        name(estate.asset_by_hostname("hq-db9.corp.example.com")),
        None
    );
    assert_eq!(
        estate.asset_by_mac("3c:22:fb:00:00:01"),
        None,
        "that MAC is alice's laptop, not an asset"
    );

    let network = |text: &str| {
        estate
            .network_for_ip(ip(text))
            .map(|network| estate.network(network).id.as_str())
    };
    assert_eq!(network("10.10.1.21"), Some("hq-corp"));
    assert_eq!(network("10.99.3.4"), Some("vpn-pool"));
    assert_eq!(network("10.41.0.1"), None);
    let egress = |text: &str| {
        estate
            .site_for_egress(ip(text))
            .map(|site| estate.site(site).id.as_str())
    };
    assert_eq!(egress("198.51.100.23"), Some("hq"));
    assert_eq!(egress("203.0.113.200"), Some("nyc"));
    assert_eq!(egress("192.0.2.1"), None);
}

#[test]
fn the_reissued_badge_has_one_holder_at_a_time() {
    let estate = example();
    let holder = |value: &str, at: &str| {
        estate
            .resolve(IdentifierKind::Badge, value, ts(at))
            .map(|person| estate.person(person).id.as_str())
    };
    assert_eq!(holder("4400", "2026-02-27T16:59:59.999Z"), Some("erin"));
    assert_eq!(
        holder("4400", "2026-02-27T17:00:00Z"),
        None,
        "until is exclusive"
    );
    assert_eq!(
        holder("4400", "2026-02-28T12:00:00Z"),
        None,
        "between holders"
    );
    assert_eq!(
        holder("4400", "2026-03-01T00:00:00Z"),
        Some("judy"),
        "from is inclusive"
    );
    assert_eq!(holder("4400", "2026-03-02T09:12:00Z"), Some("judy"));
    assert_eq!(
        holder("4415", "2026-03-02T09:12:00Z"),
        Some("erin"),
        "the badge never collected"
    );
    assert_eq!(holder("4411", "2026-03-02T09:12:00Z"), Some("alice"));
    assert_eq!(holder("V-100", "2026-03-01T23:59:59.999Z"), None);
    assert_eq!(holder("V-100", "2026-03-02T09:12:00Z"), Some("grace"));
    assert_eq!(holder("V-100", "2026-03-03T00:00:00Z"), None);
}

#[test]
fn accounts_and_macs_resolve_in_any_usual_spelling() {
    let estate = example();
    let alice = estate.person_idx("alice");
    let at = ts("2026-03-02T09:12:00Z");
    assert_eq!(
        estate.resolve(IdentifierKind::Upn, " Alice@Example.COM", at),
        alice
    );
    assert_eq!(
        estate.resolve(IdentifierKind::Mac, "3C-22-FB-00-00-01", at),
        alice
    );
    assert_eq!(
        estate.resolve(IdentifierKind::Mac, "3c22.fb00.0001", at),
        alice
    );
    assert_eq!(
        estate.resolve(
            IdentifierKind::Entra,
            "6B1C0A52-0001-4C1E-9A00-00000000A11C",
            at
        ),
        alice
    );
    assert_eq!(estate.resolve(IdentifierKind::Username, "ALICE", at), alice);
    assert_eq!(
        estate.resolve(IdentifierKind::Email, "alice@example.com", at),
        alice
    );
    assert_eq!(
        estate.resolve(IdentifierKind::Okta, "00U1ALICE", at),
        None,
        "okta ids keep their case"
    );
    assert_eq!(
        estate.resolve(IdentifierKind::Username, "alice@example.com", at),
        None,
        "kinds do not mix"
    );
    let alice = alice.unwrap();
    assert_eq!(estate.identifiers_of(alice).len(), 8);
    assert_eq!(estate.identifiers_of(alice)[7].value, "3c:22:fb:00:00:01");
}

#[test]
fn status_windows_and_clearances() {
    let estate = example();
    let person = |id: &str| estate.person_idx(id).unwrap();
    assert_eq!(
        estate.status_at(person("erin"), ts("2026-02-27T16:59:59Z")),
        PersonStatus::Active
    );
    assert_eq!(
        estate.status_at(person("erin"), ts("2026-02-27T17:00:00Z")),
        PersonStatus::Terminated
    );
    assert_eq!(
        estate.status_at(person("heidi"), ts("2026-03-02T09:00:00Z")),
        PersonStatus::Suspended
    );
    assert_eq!(
        estate.status_at(person("grace"), ts("2026-03-01T12:00:00Z")),
        PersonStatus::Inactive
    );
    assert_eq!(
        estate.status_at(person("grace"), ts("2026-03-02T00:00:00Z")),
        PersonStatus::Active
    );
    assert_eq!(
        estate.status_at(person("judy"), ts("2026-02-01T00:00:00Z")),
        PersonStatus::Inactive
    );
    assert_eq!(PersonStatus::Inactive.as_str(), "inactive");

    assert_eq!(
        estate.in_window(person("grace"), ts("2026-03-02T08:59:59Z")),
        Some(false)
    );
    assert_eq!(
        estate.in_window(person("grace"), ts("2026-03-02T09:00:00Z")),
        Some(true)
    );
    assert_eq!(
        estate.in_window(person("grace"), ts("2026-03-02T11:00:00Z")),
        Some(false)
    );
    assert_eq!(
        estate.in_window(person("frank"), ts("2026-03-02T11:00:00Z")),
        Some(true)
    );
    assert_eq!(
        estate.in_window(person("alice"), ts("2026-03-02T11:00:00Z")),
        None
    );

    let zone = |id: &str| estate.zone_idx(id).unwrap();
    assert!(estate.cleared_for(person("bob"), zone("hq-server")));
    assert!(!estate.cleared_for(person("alice"), zone("hq-server")));
    assert!(estate.cleared_for(person("dan"), zone("hq-classified")));
    assert!(estate.cleared_for(person("carol"), zone("nyc-office")));
    assert!(!estate.cleared_for(person("svc-backup"), zone("hq-lobby")));
}

#[test]
fn a_schedule_is_read_where_the_event_happens() {
    let estate = example();
    let carol = estate.person_idx("carol").unwrap();
    let nyc = estate.site_idx("nyc");
    // 08:00 to 18:00: at 14:00 UTC it is 15:00 in Amsterdam and 09:00 in New York.
    assert_eq!(
        estate.in_schedule_at(carol, nyc, ts("2026-03-02T14:00:00Z")),
        Some(true)
    );
    // 20:00 UTC: 21:00 in Amsterdam (her home), 15:00 in New York, where she is.
    assert_eq!(
        estate.in_schedule_at(carol, None, ts("2026-03-02T20:00:00Z")),
        Some(false)
    );
    assert_eq!(
        estate.in_schedule_at(carol, nyc, ts("2026-03-02T20:00:00Z")),
        Some(true)
    );
    assert_eq!(
        estate.in_schedule_at(
            estate.person_idx("erin").unwrap(),
            nyc,
            ts("2026-03-02T14:00:00Z")
        ),
        None,
        "no schedule"
    );
}

#[test]
fn schedules_and_business_hours_on_the_demo_day() {
    let estate = example();
    let person = |id: &str| estate.person_idx(id).unwrap();
    // Monday 2026-03-02; Amsterdam is UTC+1, New York UTC-5.
    assert_eq!(
        estate.in_schedule(person("alice"), ts("2026-03-02T06:59:59Z")),
        Some(false)
    );
    assert_eq!(
        estate.in_schedule(person("alice"), ts("2026-03-02T07:00:00Z")),
        Some(true)
    );
    assert_eq!(
        estate.in_schedule(person("alice"), ts("2026-03-02T16:59:59Z")),
        Some(true)
    );
    assert_eq!(
        estate.in_schedule(person("alice"), ts("2026-03-02T17:00:00Z")),
        Some(false)
    );
    assert_eq!(
        estate.in_schedule(person("ivan"), ts("2026-03-02T12:59:00Z")),
        Some(false)
    );
    assert_eq!(
        estate.in_schedule(person("ivan"), ts("2026-03-02T13:00:00Z")),
        Some(true)
    );
    assert_eq!(
        estate.in_schedule(person("svc-backup"), ts("2026-03-02T13:00:00Z")),
        None
    );

    let hq = estate.site_idx("hq").unwrap();
    let old = estate.site_idx("old").unwrap();
    assert!(estate.after_hours(hq, ts("2026-03-02T05:59:59Z")));
    assert!(!estate.after_hours(hq, ts("2026-03-02T06:00:00Z")));
    assert!(!estate.after_hours(hq, ts("2026-03-02T17:59:59Z")));
    assert!(estate.after_hours(hq, ts("2026-03-02T18:00:00Z")));
    assert!(
        estate.after_hours(hq, ts("2026-03-07T10:00:00Z")),
        "saturday"
    );
    assert!(
        !estate.after_hours(old, ts("2026-03-07T03:00:00Z")),
        "a site without hours is never after hours"
    );

    assert_eq!(
        estate.local_day_start(hq, ts("2026-03-02T09:12:00Z")),
        ts("2026-03-01T23:00:00Z")
    );
    assert_eq!(
        estate.local_day_start(hq, ts("2026-03-01T23:00:00Z")),
        ts("2026-03-01T23:00:00Z")
    );
    assert_eq!(
        estate.local_day_start(hq, ts("2026-03-01T22:59:59.999Z")),
        ts("2026-02-28T23:00:00Z")
    );
    let nyc = estate.site_idx("nyc").unwrap();
    assert_eq!(
        estate.local_day_start(nyc, ts("2026-03-02T09:12:00Z")),
        ts("2026-03-02T05:00:00Z")
    );
    assert_eq!(
        estate
            .local_datetime(nyc, ts("2026-03-02T13:30:00Z"))
            .unwrap()
            .to_string(),
        "2026-03-02T08:30:00"
    );
}

#[test]
fn site_local_time_across_the_spring_change_in_amsterdam() {
    // On Sunday 2026-03-29 at 01:00 UTC Amsterdam moves from UTC+1 to UTC+2.
    let estate = example();
    let hq = estate.site_idx("hq").unwrap();
    assert_eq!(
        estate.local_day_start(hq, ts("2026-03-29T00:30:00Z")),
        ts("2026-03-28T23:00:00Z")
    );
    assert_eq!(
        estate.local_day_start(hq, ts("2026-03-29T12:00:00Z")),
        ts("2026-03-28T23:00:00Z")
    );
    assert_eq!(
        estate.local_day_start(hq, ts("2026-03-30T12:00:00Z")),
        ts("2026-03-29T22:00:00Z")
    );
    // The autumn change, for symmetry: 2026-10-25 at 01:00 UTC back to UTC+1.
    assert_eq!(
        estate.local_day_start(hq, ts("2026-10-25T12:00:00Z")),
        ts("2026-10-24T22:00:00Z")
    );
    assert_eq!(
        estate.local_day_start(hq, ts("2026-10-26T12:00:00Z")),
        ts("2026-10-25T23:00:00Z")
    );

    // Opening at 07:00 local is 06:00 UTC on Friday, 05:00 UTC on the Monday after.
    assert!(estate.after_hours(hq, ts("2026-03-27T05:30:00Z")));
    assert!(!estate.after_hours(hq, ts("2026-03-27T06:00:00Z")));
    assert!(estate.after_hours(hq, ts("2026-03-30T04:59:59Z")));
    assert!(!estate.after_hours(hq, ts("2026-03-30T05:00:00Z")));
    assert!(!estate.after_hours(hq, ts("2026-03-30T16:59:59Z")));
    assert!(estate.after_hours(hq, ts("2026-03-30T17:00:00Z")));

    let alice = estate.person_idx("alice").unwrap();
    assert_eq!(
        estate.in_schedule(alice, ts("2026-03-30T05:59:59Z")),
        Some(false)
    );
    assert_eq!(
        estate.in_schedule(alice, ts("2026-03-30T06:00:00Z")),
        Some(true)
    );
}

#[test]
fn a_night_shift_crosses_midnight_and_the_clock_change() {
    let text = r#"
[[site]]
id = "hq"
name = "Headquarters"
timezone = "Europe/Amsterdam"
lat = 52.3676
lon = 4.9041

[[person]]
id = "nina"
name = "Nina the night guard"
kind = "employee"
home_site = "hq"
schedule = { days = ["mon", "tue", "wed", "thu", "fri"], start = "22:00", end = "06:00" }
"#;
    let estate = Estate::from_files(&[EstateFile {
        path: "night.toml".into(),
        text: text.into(),
    }])
    .unwrap();
    let nina = estate.person_idx("nina").unwrap();
    let on_shift = |at: &str| estate.in_schedule(nina, ts(at));
    assert_eq!(
        on_shift("2026-03-27T20:59:59Z"),
        Some(false),
        "friday 21:59 local"
    );
    assert_eq!(
        on_shift("2026-03-27T21:00:00Z"),
        Some(true),
        "friday 22:00 local"
    );
    assert_eq!(
        on_shift("2026-03-28T04:59:59Z"),
        Some(true),
        "saturday 05:59, friday's shift"
    );
    assert_eq!(
        on_shift("2026-03-28T05:00:00Z"),
        Some(false),
        "saturday 06:00"
    );
    assert_eq!(
        on_shift("2026-03-28T21:30:00Z"),
        Some(false),
        "saturday night is free"
    );
    assert_eq!(
        on_shift("2026-03-30T03:30:00Z"),
        Some(false),
        "sunday night is free, even after the change"
    );
    assert_eq!(
        on_shift("2026-03-30T19:59:59Z"),
        Some(false),
        "monday 21:59 summer time"
    );
    assert_eq!(
        on_shift("2026-03-30T20:00:00Z"),
        Some(true),
        "monday 22:00 summer time"
    );
    assert_eq!(
        on_shift("2026-03-31T03:59:59Z"),
        Some(true),
        "tuesday 05:59 summer time"
    );
    assert_eq!(
        on_shift("2026-03-31T04:00:00Z"),
        Some(false),
        "tuesday 06:00 summer time"
    );
}

#[test]
fn distances_between_sites() {
    let estate = example();
    let hq = estate.site(estate.site_idx("hq").unwrap());
    let nyc = estate.site(estate.site_idx("nyc").unwrap());
    let old = estate.site(estate.site_idx("old").unwrap());
    let transatlantic = distance_km(hq.lat, hq.lon, nyc.lat, nyc.lon);
    assert!(
        (5_855.0..5_870.0).contains(&transatlantic),
        "{transatlantic}"
    );
    let local = distance_km(hq.lat, hq.lon, old.lat, old.lon);
    assert!((34.0..37.0).contains(&local), "{local}");
    assert_eq!(distance_km(hq.lat, hq.lon, hq.lat, hq.lon), 0.0);
    let antipodes = distance_km(0.0, 0.0, 0.0, 180.0);
    assert!((20_015.0..20_016.0).contains(&antipodes), "{antipodes}");
}

#[test]
fn an_estate_written_as_toml_loads_back_the_same() {
    let estate = example();
    let written = toml::to_string(&estate).unwrap();
    let reloaded = Estate::from_files(&[EstateFile {
        path: "written.toml".into(),
        text: written.clone(),
    }])
    .unwrap_or_else(|errors| panic!("{errors:?}\n{written}"));
    assert_eq!(toml::to_string(&reloaded).unwrap(), written);
    let at = ts("2026-03-02T09:12:00Z");
    assert_eq!(
        reloaded.resolve(IdentifierKind::Badge, "4400", at),
        reloaded.person_idx("judy")
    );
    assert_eq!(reloaded.people().len(), estate.people().len());
    assert!(
        written.contains("[[switch_port]]\nid = \"hq-sw1:Gi1/0/5\""),
        "{written}"
    );
}

#[test]
fn the_estate_can_be_shared_across_threads() {
    fn shareable<T: Send + Sync + 'static>() {}
    shareable::<Estate>();
    let empty = Estate::empty();
    assert!(empty.sites().is_empty());
    assert_eq!(empty.resolve(IdentifierKind::Badge, "4411", Ts(0)), None);
    assert_eq!(empty.network_for_ip(ip("10.0.0.1")), None);
}

#[test]
fn a_broken_copy_of_the_example_reports_every_problem_in_place() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/estate");
    let mut files = Vec::new();
    for name in ["assets.toml", "networks.toml", "people.toml", "sites.toml"] {
        let text = std::fs::read_to_string(dir.join(name))
            .unwrap()
            .replacen("to = \"hq-server\"", "to = \"hq-srvr\"", 1)
            .replacen(
                "\"4400\", from = \"2026-03-01T00:00:00Z\"",
                "\"4400\", from = \"2026-02-27T00:00:00Z\"",
                1,
            )
            .replacen(
                "high_traffic = true\n",
                "high_traffic = true\ncolour = \"red\"\n",
                1,
            )
            .replacen(
                "cidrs = [\"10.10.0.0/16\"]",
                "cidrs = [\"10.10.1.0/16\"]",
                1,
            );
        files.push(EstateFile {
            path: format!("examples/estate/{name}"),
            text,
        });
    }
    let errors: Vec<String> = Estate::from_files(&files)
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        errors,
        [
            "examples/estate/networks.toml:7:10: invalid CIDR `10.10.1.0/16` in network `hq-corp`: expected `10.10.0.0/16`, with the bits after the prefix zero",
            "examples/estate/people.toml:111:31: badge `4400` of person `judy` overlaps with the same badge of person `erin` at examples/estate/people.toml:95:31: expected one holder at a time",
            "examples/estate/sites.toml:43:1: invalid zone: unknown field `colour`, expected one of `id`, `site`, `name`, `kind`, `sensitivity`, `high_traffic`, `anti_passback`",
            "examples/estate/sites.toml:142:6: unknown zone `hq-srvr` in door `hq-server-in`: expected one of the zones of site `hq`; did you mean `hq-server`?",
        ]
    );
}

#[test]
fn an_access_point_is_found_by_id_or_by_a_radio_in_any_vendor_spelling() {
    let estate = example();
    let office = estate.ap_idx("hq-ap-office").unwrap();
    for reference in [
        "hq-ap-office",
        "70:3a:0e:11:22:31",
        "70-3A-0E-11-22-30",
        "703a.0e11.2230",
        "70-3A-0E-11-22-31:CorpWiFi",
        "703a.0e11.2231:CorpWiFi",
    ] {
        assert_eq!(
            estate.ap_by_reference(reference),
            Some(office),
            "{reference}"
        );
    }
    assert_eq!(estate.ap_by_reference("70-3A-0E-11-22-39:CorpWiFi"), None);
    assert_eq!(estate.ap_by_reference("hq-ap-nowhere"), None);
}

#[test]
fn doors_ports_sensors_resources_and_people_say_what_real_sites_have() {
    use seam_estate::{AssetKind, DoorKind, PortKind, SensorKind};
    let estate = example();
    let door = |id: &str| estate.door(estate.door_idx(id).unwrap());
    assert_eq!(door("hq-main").kind, DoorKind::Entrance);
    assert_eq!(door("hq-server-in").kind, DoorKind::Interior);
    assert_eq!(door("hq-server-fire").kind, DoorKind::FireExit);
    assert!(door("hq-server-fire").readers.is_empty());
    assert_eq!(
        door("hq-server-in").controller,
        estate.asset_idx("hq-door-ctrl")
    );
    let port = |id: &str| estate.switch_port(estate.switch_port_idx(id).unwrap()).kind;
    assert_eq!(
        port("hq-sw1:Gi1/0/5"),
        PortKind::Meeting,
        "from its meeting room"
    );
    assert_eq!(
        port("hq-sw2:Gi1/0/1"),
        PortKind::Server,
        "from its server room"
    );
    assert_eq!(port("hq-sw1:Gi1/0/7"), PortKind::Desk);
    let counter = estate.asset(estate.asset_idx("hq-server-counter").unwrap());
    let sensor = counter.sensor.as_ref().unwrap();
    assert_eq!(sensor.kind, SensorKind::DoorwayCounter);
    assert_eq!(sensor.door, estate.door_idx("hq-server-in"));
    assert_eq!(sensor.latency_ms, 5_000);
    let phone = estate.asset(estate.asset_idx("hq-phone-bob").unwrap());
    assert_eq!(
        (phone.kind, phone.owner),
        (AssetKind::Phone, estate.person_idx("bob"))
    );
    let hr = estate.resource_idx("hr-app");
    assert_eq!(estate.resource_by_name("0oa1hrapp"), hr);
    assert_eq!(estate.resource_by_name("hr portal"), hr);
    assert_eq!(estate.resource_by_name("HR Portal2"), None);
    let bob = estate.person(estate.person_idx("bob").unwrap());
    assert_eq!(bob.department.as_deref(), Some("IT"));
    assert_eq!(bob.team.as_deref(), Some("Infrastructure"));
    assert!(bob.remote_days.contains(jiff::civil::Weekday::Friday));
    assert_eq!(bob.on_call.len(), 1);
    // What is written loads back the same.
    let text = toml::to_string(&estate).unwrap();
    let again = Estate::from_files(&[EstateFile {
        path: "written.toml".into(),
        text,
    }])
    .unwrap();
    let again_bob = again.person(again.person_idx("bob").unwrap());
    assert_eq!(again_bob.remote_days, bob.remote_days);
    assert_eq!(
        again.door(again.door_idx("hq-server-fire").unwrap()).kind,
        DoorKind::FireExit
    );
    assert_eq!(
        again
            .asset(again.asset_idx("hq-server-counter").unwrap())
            .sensor
            .as_ref()
            .map(|s| s.latency_ms),
        Some(5_000)
    );
}
