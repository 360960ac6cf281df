//! Golden tests: broken estates and the exact problems reported, with their places.

use seam_estate::{Estate, EstateFile};

/// A small valid estate that the broken files below lean on.
const BASE: &str = r#"
[[site]]
id = "hq"
name = "Headquarters"
timezone = "Europe/Amsterdam"
lat = 52.3676
lon = 4.9041
egress = ["198.51.100.0/24"]

[[site]]
id = "nyc"
name = "New York office"
timezone = "America/New_York"
lat = 40.7128
lon = -74.0060

[[zone]]
id = "hq-office"
site = "hq"
name = "Office"
kind = "office"
sensitivity = "medium"

[[zone]]
id = "hq-server"
site = "hq"
name = "Server room"
kind = "server_room"
sensitivity = "critical"

[[zone]]
id = "nyc-lobby"
site = "nyc"
name = "Lobby"
kind = "lobby"
sensitivity = "low"

[[network]]
id = "hq-corp"
site = "hq"
cidrs = ["10.10.0.0/16"]
kind = "corporate"

[[network]]
id = "nyc-corp"
site = "nyc"
cidrs = ["10.50.0.0/16"]
kind = "corporate"

[[person]]
id = "alice"
name = "Alice"
kind = "employee"
home_site = "hq"
identifiers = [{ kind = "badge", value = "4411" }]
"#;

/// The problems of BASE plus one broken file, as text.
fn problems(path: &str, text: &str) -> Vec<String> {
    let files = [
        EstateFile {
            path: "base.toml".into(),
            text: BASE.into(),
        },
        EstateFile {
            path: path.into(),
            text: text.into(),
        },
    ];
    match Estate::from_files(&files) {
        Ok(_) => vec!["loaded".to_owned()],
        Err(errors) => errors.iter().map(ToString::to_string).collect(),
    }
}

fn check(path: &str, text: &str, expected: &[&str]) {
    let actual = problems(path, text);
    assert_eq!(actual, expected, "\nactual:\n{}\n", actual.join("\n"));
}

#[test]
fn the_base_loads() {
    check("empty.toml", "", &["loaded"]);
}

#[test]
fn syntax_errors_are_located() {
    check(
        "syntax.toml",
        "[[door]\nid = \"d\"\n",
        &["syntax.toml:1:8: invalid TOML: unclosed array table, expected `]`"],
    );
}

#[test]
fn unknown_keys_and_tables() {
    let text = r#"
[[door]]
id = "d1"
site = "hq"
from = "outside"
to = "hq-office"
colour = "red"

[[doors]]
id = "d2"
"#;
    check(
        "doors.toml",
        text,
        &[
            "doors.toml:7:1: invalid door: unknown field `colour`, expected one of `id`, `site`, `from`, `to`, `readers`, `kind`, `controller`, `position_switch`",
            "doors.toml:9:3: unknown table `doors`: expected one of `site`, `zone`, `door`, `ap`, `switch_port`, `network`, `asset`, `resource`, `person`",
        ],
    );
}

#[test]
fn wrong_types_and_values() {
    let text = r#"
[[site]]
id = "ams"
name = "Amsterdam"
timezone = "Europe/Amsterdm"
lat = 91
lon = "east"

[[site]]
id = "ams2"
name = "Amsterdam 2"
timezone = "Europe/Amsterdam"
lat = 52.0
lon = 4.0
egress = ["198.51.101.7/24", "198.51.102.0/33"]
hours = { days = ["mon", "monday"], open = "7:00", close = "19:00" }

[[zone]]
id = "ams2-lobby"
site = "ams2"
name = "Lobby"
kind = "foyer"
sensitivity = "low"
"#;
    check(
        "sites.toml",
        text,
        &[
            "sites.toml:7:7: invalid site: invalid type: string \"east\", expected f64",
            "sites.toml:15:11: invalid CIDR `198.51.101.7/24` in site `ams2`: expected `198.51.101.0/24`, with the bits after the prefix zero",
            "sites.toml:15:30: invalid CIDR `198.51.102.0/33` in site `ams2`: expected an address with a prefix length, such as `10.10.0.0/16`",
            "sites.toml:16:26: invalid day `monday` in site `ams2`: expected one of `mon`, `tue`, `wed`, `thu`, `fri`, `sat`, `sun`",
            "sites.toml:16:44: invalid clock time `7:00` in site `ams2`: expected `HH:MM` on a 24-hour clock, such as `07:00`",
            "sites.toml:22:8: invalid zone: unknown variant `foyer`, expected one of `lobby`, `office`, `meeting`, `server_room`, `classified`, `parking`, `common`, `restricted`, `other`",
        ],
    );
}

#[test]
fn duplicate_ids_point_at_the_first() {
    let text = r#"
[[zone]]
id = "hq-office"
site = "hq"
name = "Office again"
kind = "office"
sensitivity = "medium"
"#;
    check(
        "zones.toml",
        text,
        &[
            "zones.toml:3:6: duplicate zone id `hq-office`: expected each id once, and it is already defined at base.toml:18:6",
        ],
    );
}

#[test]
fn dangling_references() {
    let text = r#"
[[zone]]
id = "hx-lobby"
site = "hx"
name = "Lobby"
kind = "lobby"
sensitivity = "low"

[[door]]
id = "hq-server-door"
site = "hq"
from = "hq-office"
to = "hq-srvr"

[[switch_port]]
id = "hq-sw1:Gi1/0/5"
zone = "hq-office"
network = "hq-crop"

[[asset]]
id = "hq-ws-bob"
kind = "workstation"
zone = "hq-office"
owner = "bobb"
covers = ["hq-serv"]

[[resource]]
id = "payroll"
kind = "file_share"
asset = "hq-db1"

[[person]]
id = "grace"
name = "Grace"
kind = "visitor"
home_site = "hqq"
host = "alcie"
clearances = ["hq-ofice"]
"#;
    check(
        "refs.toml",
        text,
        &[
            "refs.toml:4:8: unknown site `hx` in zone `hx-lobby`: expected one of the sites in the estate; did you mean `hq`?",
            "refs.toml:13:6: unknown zone `hq-srvr` in door `hq-server-door`: expected one of the zones of site `hq`; did you mean `hq-server`?",
            "refs.toml:18:11: unknown network `hq-crop` in switch_port `hq-sw1:Gi1/0/5`: expected one of the networks in the estate; did you mean `hq-corp`?",
            "refs.toml:24:9: unknown person `bobb` in asset `hq-ws-bob`: expected one of the people in the estate",
            "refs.toml:25:11: unknown zone `hq-serv` in asset `hq-ws-bob`: expected one of the zones in the estate; did you mean `hq-server`?",
            "refs.toml:30:9: unknown asset `hq-db1` in resource `payroll`: expected one of the assets in the estate",
            "refs.toml:36:13: unknown site `hqq` in person `grace`: expected one of the sites in the estate; did you mean `hq`?",
            "refs.toml:37:8: unknown person `alcie` in person `grace`: expected one of the people in the estate; did you mean `alice`?",
            "refs.toml:38:15: unknown zone `hq-ofice` in person `grace`: expected one of the zones in the estate; did you mean `hq-office`?",
        ],
    );
}

#[test]
fn zones_must_be_on_the_site_of_their_door_and_port() {
    let text = r#"
[[door]]
id = "hq-main"
site = "hq"
from = "outside"
to = "nyc-lobby"

[[switch_port]]
id = "nyc-sw1:Gi1/0/1"
zone = "nyc-lobby"
network = "hq-corp"
"#;
    check(
        "doors.toml",
        text,
        &[
            "doors.toml:6:6: zone `nyc-lobby` in door `hq-main` belongs to site `nyc`: expected one of the zones of site `hq`",
            "doors.toml:11:11: network `hq-corp` in switch_port `nyc-sw1:Gi1/0/1` belongs to site `hq`: expected a network of site `nyc`, where zone `nyc-lobby` is, or one without a site",
        ],
    );
}

#[test]
fn status_must_be_in_order() {
    let text = r#"
[[person]]
id = "heidi"
name = "Heidi"
kind = "employee"
status = [
    { status = "active", since = "2022-01-01T00:00:00Z" },
    { status = "suspended", since = "2021-03-01T00:00:00Z" },
    { status = "terminated", since = "yesterday" },
]
"#;
    check(
        "people.toml",
        text,
        &[
            "people.toml:8:37: status of person `heidi` out of order: `2021-03-01T00:00:00Z` is not after `2022-01-01T00:00:00Z`: expected entries oldest first",
            "people.toml:9:38: invalid time `yesterday` in person `heidi`: expected an RFC 3339 time with an offset, such as `2026-03-02T09:15:00Z`",
        ],
    );
}

#[test]
fn one_holder_per_identifier_at_a_time() {
    let text = r#"
[[person]]
id = "bob"
name = "Bob"
kind = "employee"
identifiers = [
    { kind = "badge", value = "4411", from = "2026-03-01T00:00:00Z" },
    { kind = "mac", value = "3C-22-FB-00-00-01", until = "2026-03-02T00:00:00Z" },
]

[[person]]
id = "carol"
name = "Carol"
kind = "employee"
identifiers = [
    { kind = "mac", value = "3c:22:fb:00:00:01", from = "2026-03-01T23:59:59Z" },
    { kind = "upn", value = "carol@example.com", from = "2026-03-02T00:00:00Z", until = "2026-03-02T00:00:00Z" },
    { kind = "mac", value = "not-a-mac" },
]
"#;
    check(
        "people.toml",
        text,
        &[
            "people.toml:7:31: badge `4411` of person `bob` overlaps with the same badge of person `alice` at base.toml:55:42: expected one holder at a time",
            "people.toml:16:29: mac `3c:22:fb:00:00:01` of person `carol` overlaps with the same mac of person `bob` at people.toml:8:29: expected one holder at a time",
            "people.toml:17:89: empty interval of upn `carol@example.com` in person `carol`: expected `from` before `until`",
            "people.toml:18:29: invalid MAC address `not-a-mac` in person `carol`: expected six bytes in hex, such as `3c:22:fb:00:00:01`",
        ],
    );
}

#[test]
fn values_that_disagree() {
    let text = r#"
[[site]]
id = "old"
name = "Old warehouse"
timezone = "Europe/Amsterdam"
lat = 52.0907
lon = 5.1214
status = "decommissioned"

[[site]]
id = "hq2"
name = "Headquarters annex"
timezone = "Europe/Amsterdam"
lat = 52.3676
lon = 4.9041
egress = ["198.51.100.0/24"]
decommissioned_since = "2026-01-01T00:00:00Z"

[[door]]
id = "hq-loop"
site = "hq"
from = "hq-office"
to = "hq-office"
readers = ["r1"]

[[door]]
id = "hq-server-door"
site = "hq"
from = "hq-office"
to = "hq-server"
readers = ["r1", "hq-loop"]

[[asset]]
id = "hq-db1"
kind = "server"
zone = "hq-server"
network = "hq-corp"
ips = ["10.40.0.11"]

[[asset]]
id = "hq-db2"
kind = "server"
zone = "hq-server"
ips = ["10.40.0.11"]

[[person]]
id = "frank"
name = "Frank"
kind = "contractor"
window = { start = "2026-06-30T00:00:00Z", end = "2025-10-01T00:00:00Z" }
schedule = { days = ["mon"], start = "09:00", end = "09:00" }
"#;
    check(
        "misc.toml",
        text,
        &[
            "misc.toml:3:6: missing `decommissioned_since` in site `old`: expected the time the site was decommissioned, as its status is `decommissioned`",
            "misc.toml:16:11: egress prefix `198.51.100.0/24` of site `hq2` is already used by site `hq`: expected each egress prefix on one site only",
            "misc.toml:17:24: unexpected `decommissioned_since` in site `hq2`: expected it only with `status = \"decommissioned\"`",
            "misc.toml:23:6: `from` and `to` are both `hq-office` in door `hq-loop`: expected a door between two different places",
            "misc.toml:31:12: reader `r1` of door `hq-server-door` is already used by door `hq-loop`: expected each reader on one door only",
            "misc.toml:31:18: reader `hq-loop` of door `hq-server-door` is already used by door `hq-loop`: expected each reader on one door only",
            "misc.toml:38:8: IP address `10.40.0.11` outside network `hq-corp` in asset `hq-db1`: expected an address in `10.10.0.0/16`",
            "misc.toml:44:8: IP address `10.40.0.11` of asset `hq-db2` is already used by asset `hq-db1`: expected each IP address on one asset only",
            "misc.toml:50:50: empty window in person `frank`: expected `start` before `end`",
            "misc.toml:51:12: `schedule` without `home_site` in person `frank`: expected a `home_site`, in whose time zone the schedule is read",
            "misc.toml:51:12: `start` equals `end` in `schedule` in person `frank`: expected two different times (hours that cross midnight have `end` before `start`)",
        ],
    );
}

#[test]
fn an_unreadable_entry_is_reported_once() {
    // The zone cannot be read; the door that names it must not add a second problem.
    let text = r#"
[[zone]]
id = "hq-lab"
site = "hq"
name = "Lab"
kind = "laboratory"
sensitivity = "high"

[[door]]
id = "hq-lab-door"
site = "hq"
from = "hq-office"
to = "hq-lab"
"#;
    check(
        "lab.toml",
        text,
        &[
            "lab.toml:6:8: invalid zone: unknown variant `laboratory`, expected one of `lobby`, `office`, `meeting`, `server_room`, `classified`, `parking`, `common`, `restricted`, `other`",
        ],
    );
}

#[test]
fn a_syntax_error_holds_back_the_checks_across_files() {
    // refs.toml names a zone that may well sit in the unreadable part of broken.toml.
    let files = [
        EstateFile {
            path: "broken.toml".into(),
            text: "[[zone]]\nid = \"hq-lab\"\nsite = \n".into(),
        },
        EstateFile {
            path: "refs.toml".into(),
            text: "[[ap]]\nid = \"ap1\"\nzone = \"hq-lab\"\n".into(),
        },
    ];
    let errors: Vec<String> = Estate::from_files(&files)
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        errors,
        ["broken.toml:3:8: invalid TOML: string values must be quoted, expected literal string"]
    );
}

#[test]
fn tables_must_be_arrays_of_tables() {
    check(
        "single.toml",
        "[site]\nid = \"x\"\n\n[[zone]]\n",
        &[
            "single.toml:1:2: `site` is not an array of tables: expected `[[site]]` entries",
            "single.toml:4:1: invalid zone: missing field `id`",
        ],
    );
}

#[test]
fn bare_toml_times_and_numbers_are_read_as_text() {
    // Unquoted RFC 3339 times, TOML local times and numeric badges are accepted; a local
    // date-time is not, as it names no instant.
    let text = r#"
[[person]]
id = "bob"
name = "Bob"
kind = "employee"
home_site = "hq"
status = [{ status = "active", since = 2023-05-01T00:00:00Z }]
schedule = { days = ["mon"], start = 08:00:00, end = 18:00:00 }
identifiers = [
    { kind = "badge", value = 4412 },
    { kind = "upn", value = "bob@example.com", from = 2026-03-01T00:00:00 },
]
"#;
    check(
        "people.toml",
        text,
        &[
            "people.toml:11:55: invalid time `2026-03-01T00:00:00` in person `bob`: expected an RFC 3339 time with an offset, such as `2026-03-02T09:15:00Z`",
        ],
    );
}

#[test]
fn folders_that_cannot_be_read() {
    let missing = std::env::temp_dir().join("seam-estate-no-such-folder");
    let errors = Estate::load_dir(&missing).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0]
            .to_string()
            .starts_with(&format!("{}: cannot read: ", missing.display()))
    );

    let empty = std::env::temp_dir().join(format!("seam-estate-empty-{}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    let errors: Vec<String> = Estate::load_dir(&empty)
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect();
    std::fs::remove_dir(&empty).unwrap();
    assert_eq!(
        errors,
        [format!(
            "{}: no `*.toml` files: expected the estate's files in this folder",
            empty.display()
        )]
    );
}
