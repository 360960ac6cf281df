//! Who may call what, through the real router: every route of the table with every role, a
//! site-limited token and no credentials; sign-in, sessions and CSRF; refused credentials;
//! pseudonyms, reveals and site scopes on findings; the audit of all of it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

use common::*;
use seam_access::{
    NewToken, NewUser, OsRandom, PasswordParams, Principal, ROUTES, Role, TOKENS_COLLECTION,
    Tokens, USERS_COLLECTION, Users,
};
use seam_model::Ts;
use seam_serve::{Auth, ScimSettings, Secret, ServeConfig, Server};
use seam_store::{DocumentWrite, Store};

const HOOK_SECRET: &str = "okta-hook-secret-for-tests";
const SCIM_TOKEN: &str = "scim-bearer-token-for-access-tests";
const ROOT_PASSWORD: &str = "a long admin password";
const SAM_PASSWORD: &str = "analyst password 123";

/// One request on a fresh connection; the status and as much of the body as arrives within
/// a second (a stream never ends).
fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(1000)))
        .unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body.as_bytes()).unwrap();
    let mut answer = Vec::new();
    let mut buffer = [0u8; 8192];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buffer[..n]),
        }
        if answer.len() > 1 << 20 {
            break;
        }
    }
    let text = String::from_utf8_lossy(&answer).to_string();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {text:?}"));
    (status, text)
}

fn body_of(response: &str) -> &str {
    response.split_once("\r\n\r\n").map_or("", |(_, body)| body)
}

fn header_of<'a>(response: &'a str, name: &str) -> Option<&'a str> {
    response.split("\r\n\r\n").next()?.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

struct Seeded {
    /// (role, limited to nyc) to the token.
    tokens: BTreeMap<(Role, bool), (String, Principal)>,
    sam: String,
}

/// Users and tokens in the store, as `seam user add` and `seam token create` leave them.
fn seed(data: &Path) -> Seeded {
    let mut store = seam_store::EmbeddedStore::open(data).unwrap();
    let mut random = OsRandom;
    let now = Ts(now_ms());
    let mut users = Users::new(PasswordParams::FOR_TESTS).unwrap();
    let mut add = |name: &str, roles: &[Role], password: &str| {
        users
            .add(
                NewUser {
                    name,
                    display_name: name,
                    roles,
                    sites: None,
                    password: Some(password),
                    oidc_subject: None,
                },
                now,
                &mut random,
            )
            .unwrap()
            .id
            .clone()
    };
    add("root", &[Role::Admin], ROOT_PASSWORD);
    let sam = add("sam", &[Role::SocAnalyst], SAM_PASSWORD);
    let mut tokens = Tokens::new();
    let mut seeded = BTreeMap::new();
    let nyc = vec!["nyc".to_string()];
    for role in Role::ALL {
        for limited in [false, true] {
            let (record, secret) = tokens
                .create(
                    NewToken {
                        name: &format!("{role} {limited}"),
                        roles: &[role],
                        sites: limited.then_some(nyc.as_slice()),
                        expires: None,
                    },
                    now,
                    &mut random,
                )
                .unwrap();
            seeded.insert(
                (role, limited),
                (secret.expose().to_string(), Principal::from_token(record)),
            );
        }
    }
    let mut writes = Vec::new();
    for user in users.iter() {
        writes.push(DocumentWrite {
            collection: USERS_COLLECTION.into(),
            id: user.id.clone(),
            json: Some(user.to_document().unwrap()),
        });
    }
    for token in tokens.iter() {
        writes.push(DocumentWrite {
            collection: TOKENS_COLLECTION.into(),
            id: token.id.clone(),
            json: Some(token.to_document().unwrap()),
        });
    }
    store.write_documents(&writes).unwrap();
    store.commit().unwrap();
    Seeded {
        tokens: seeded,
        sam,
    }
}

fn service_config(data: &Path) -> ServeConfig {
    let mut hook = http_source("hook", "okta");
    hook.auth = Auth::Okta {
        header: "x-hook-secret".into(),
        secret: Secret::new(HOOK_SECRET),
    };
    let mut config = common::config(data, vec![hook, http_source("pacs", "uhppote")]);
    config.directory.scim = Some(ScimSettings {
        token: Secret::new(SCIM_TOKEN),
        mapping: None,
        base_url: None,
    });
    config
}

/// A concrete path for a route pattern.
fn concrete(pattern: &str) -> String {
    pattern
        .replace("{source}", "hook")
        .replace("{kind}", "Users")
        .replace("{name}", "User")
        .replace("{urn}", "urn:ietf:params:scim:schemas:core:2.0:User")
        .replace("{id}", "no-such-id")
}

#[test]
fn every_route_answers_every_role_as_the_table_says() {
    let dir = tempfile::tempdir().unwrap();
    let seeded = seed(dir.path());
    let server = start(&service_config(dir.path()));
    let addr = server.addresses().http;
    let mut callers: Vec<(String, Option<(String, Principal)>)> = vec![("nobody".into(), None)];
    for ((role, limited), token) in &seeded.tokens {
        callers.push((format!("{role} (nyc only: {limited})"), Some(token.clone())));
    }
    let mut checked = 0;
    for route in ROUTES {
        let path = if route.method == "POST" && route.path == "/scim/v2/{kind}/{id}" {
            "/scim/v2/Users/.search".to_string()
        } else {
            concrete(route.path)
        };
        for (who, credential) in &callers {
            let mut headers = vec![("content-type", "application/json")];
            let bearer;
            if let Some((token, _)) = credential {
                bearer = format!("Bearer {token}");
                headers.push(("authorization", bearer.as_str()));
            }
            let body = if route.method == "GET" || route.method == "DELETE" {
                ""
            } else {
                "{}"
            };
            let (status, response) = call(addr, route.method, &path, &headers, body);
            let expected =
                seam_access::decide(credential.as_ref().map(|(_, p)| p), route.method, &path);
            let context = format!("{} {path} as {who}: {status}\n{response}", route.method);
            match expected {
                seam_access::Decision::Allow { .. } => {
                    assert!(![401, 403, 405].contains(&status), "allowed, yet {context}");
                    if status == 404 {
                        // A handler's own answer (no such user), never the router's blank one.
                        let body = body_of(&response);
                        assert!(
                            !body.is_empty() && !body.contains("\"not found\""),
                            "a route of the table is not served: {context}"
                        );
                    }
                }
                refused => assert_eq!(status, refused.status(), "{context}"),
            }
            checked += 1;
        }
    }
    assert_eq!(checked, ROUTES.len() * (1 + 2 * Role::ALL.len()));
    // No route, or a wrong method: the same answer for everyone, credentials or not.
    let admin = format!("Bearer {}", seeded.tokens[&(Role::Admin, false)].0);
    for headers in [vec![], vec![("authorization", admin.as_str())]] {
        assert_eq!(call(addr, "GET", "/v1/no-such-thing", &headers, "").0, 404);
        assert_eq!(call(addr, "DELETE", "/v1/findings", &headers, "").0, 405);
    }
    server.shutdown().unwrap();
}

/// Every `.route("…", method(…))` the service's source declares is in the table: a route
/// added without a row fails here.
#[test]
fn every_route_the_service_serves_is_in_the_table() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut served = Vec::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for piece in text.split(".route(").skip(1) {
            let Some(path) = piece
                .trim_start()
                .strip_prefix('"')
                .and_then(|p| p.split('"').next())
            else {
                continue;
            };
            // The handlers up to the closing parenthesis of the call.
            let mut depth = 1;
            let mut end = piece.len();
            for (i, c) in piece.char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            end = i;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let call = &piece[..end];
            for method in ["get", "post", "put", "patch", "delete"] {
                let named = call.match_indices(&format!("{method}(")).any(|(i, _)| {
                    i == 0 || !call[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_')
                });
                if named {
                    served.push((method.to_uppercase(), path.to_string()));
                }
            }
        }
    }
    assert!(served.len() > 20, "{served:?}");
    for (method, path) in served {
        assert!(
            ROUTES.iter().any(|r| r.method == method && r.path == path),
            "{method} {path} is served but missing from seam_access::ROUTES"
        );
    }
}

fn login(addr: SocketAddr, name: &str, password: &str) -> (u16, String) {
    let body = serde_json::json!({"login": name, "password": password}).to_string();
    call(
        addr,
        "POST",
        "/v1/login",
        &[("content-type", "application/json")],
        &body,
    )
}

fn session_of(response: &str) -> (String, String) {
    let cookie = header_of(response, "set-cookie").expect("a session cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let value = cookie.split(';').next().unwrap().to_string();
    let body: serde_json::Value = serde_json::from_str(body_of(response)).unwrap();
    (value, body["csrf_token"].as_str().unwrap().to_string())
}

#[test]
fn sessions_need_csrf_end_at_logout_and_die_with_a_disabled_user() {
    let dir = tempfile::tempdir().unwrap();
    let seeded = seed(dir.path());
    let server = start(&service_config(dir.path()));
    let addr = server.addresses().http;

    // One generic answer for a wrong password and an unknown user.
    let (status, wrong) = login(addr, "sam", "not the password");
    let (status2, unknown) = login(addr, "nobody-at-all", "not the password");
    assert_eq!((status, status2), (401, 401));
    assert_eq!(body_of(&wrong), body_of(&unknown));

    let (status, response) = login(addr, "sam", SAM_PASSWORD);
    assert_eq!(status, 200, "{response}");
    let (cookie, csrf) = session_of(&response);
    let (status, me) = call(addr, "GET", "/v1/me", &[("cookie", &cookie)], "");
    assert_eq!(status, 200, "{me}");
    assert!(body_of(&me).contains("soc-analyst"), "{me}");
    // A state-changing request with the cookie needs the CSRF token.
    let (status, _) = call(addr, "POST", "/v1/logout", &[("cookie", &cookie)], "");
    assert_eq!(status, 403);
    let (status, _) = call(
        addr,
        "POST",
        "/v1/logout",
        &[("cookie", &cookie), ("x-csrf-token", "wrong")],
        "",
    );
    assert_eq!(status, 403);
    // A tampered cookie is no session.
    let mut tampered = cookie.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    assert_eq!(
        call(addr, "GET", "/v1/me", &[("cookie", &tampered)], "").0,
        401
    );
    // Logout ends it server-side: the same cookie is refused afterwards.
    let (status, out) = call(
        addr,
        "POST",
        "/v1/logout",
        &[("cookie", &cookie), ("x-csrf-token", &csrf)],
        "",
    );
    assert_eq!(status, 200, "{out}");
    assert!(header_of(&out, "set-cookie").unwrap().contains("Max-Age=0"));
    assert_eq!(
        call(addr, "GET", "/v1/me", &[("cookie", &cookie)], "").0,
        401
    );

    // A disabled user's live session is refused at once.
    let (_, response) = login(addr, "sam", SAM_PASSWORD);
    let (cookie, _) = session_of(&response);
    assert_eq!(
        call(addr, "GET", "/v1/me", &[("cookie", &cookie)], "").0,
        200
    );
    let admin = format!("Bearer {}", seeded.tokens[&(Role::Admin, false)].0);
    let (status, changed) = call(
        addr,
        "PATCH",
        &format!("/v1/users/{}", seeded.sam),
        &[
            ("authorization", &admin),
            ("content-type", "application/json"),
        ],
        r#"{"disabled": true}"#,
    );
    assert_eq!(status, 200, "{changed}");
    assert_eq!(
        call(addr, "GET", "/v1/me", &[("cookie", &cookie)], "").0,
        401
    );
    assert_eq!(login(addr, "sam", SAM_PASSWORD).0, 401);

    // A revoked token is refused at once.
    let (auditor_token, auditor) = seeded.tokens[&(Role::Auditor, false)].clone();
    let bearer = format!("Bearer {auditor_token}");
    assert_eq!(
        call(addr, "GET", "/v1/me", &[("authorization", &bearer)], "").0,
        200
    );
    let (status, _) = call(
        addr,
        "DELETE",
        &format!("/v1/tokens/{}", auditor.id),
        &[("authorization", &admin)],
        "",
    );
    assert_eq!(status, 200);
    assert_eq!(
        call(addr, "GET", "/v1/me", &[("authorization", &bearer)], "").0,
        401
    );

    // A token made over the API is shown once and works.
    let (status, made) = call(
        addr,
        "POST",
        "/v1/tokens",
        &[
            ("authorization", &admin),
            ("content-type", "application/json"),
        ],
        r#"{"name": "nightly export", "roles": ["auditor"], "expires_in_days": 30}"#,
    );
    assert_eq!(status, 201, "{made}");
    let made: serde_json::Value = serde_json::from_str(body_of(&made)).unwrap();
    let fresh = format!("Bearer {}", made["token"].as_str().unwrap());
    assert_eq!(
        call(
            addr,
            "GET",
            "/v1/audit/verify",
            &[("authorization", &fresh)],
            ""
        )
        .0,
        200
    );
    let (_, listed) = call(addr, "GET", "/v1/tokens", &[("authorization", &admin)], "");
    assert!(!listed.contains(made["token"].as_str().unwrap()));

    // Malformed credentials: a clear 401, never a crash.
    let long = format!("Bearer {}", "a".repeat(5000));
    for bad in [
        "Bearer",
        "Basic Zm9vOmJhcg==",
        "Bearer seam_zz",
        long.as_str(),
    ] {
        assert_eq!(
            call(addr, "GET", "/v1/me", &[("authorization", bad)], "").0,
            401,
            "{bad}"
        );
    }

    // Every sign-in, failure, sign-out, change and refusal is in the audit, which holds.
    let (status, verified) = call(
        addr,
        "GET",
        "/v1/audit/verify",
        &[("authorization", &admin)],
        "",
    );
    assert_eq!(status, 200);
    assert!(body_of(&verified).contains("\"intact\":true"), "{verified}");
    server.shutdown().unwrap();
    let audit = audit_lines(dir.path());
    for action in [
        "sign_in",
        "sign_in_failed",
        "sign_out",
        "user_disabled",
        "token_revoked",
        "token_created",
    ] {
        assert!(
            audit
                .iter()
                .any(|line| line.contains(&format!("\"{action}\""))),
            "no {action} in the audit"
        );
    }
    // Never a password or a token in it.
    let all = audit.join("\n");
    assert!(!all.contains(SAM_PASSWORD) && !all.contains(&auditor_token));
}

fn audit_lines(data: &Path) -> Vec<String> {
    let mut lines = Vec::new();
    for entry in std::fs::read_dir(data.join("audit")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "log") {
            lines.extend(
                std::fs::read_to_string(&path)
                    .unwrap()
                    .lines()
                    .map(str::to_string),
            );
        }
    }
    lines
}

#[test]
fn sign_ins_are_throttled_per_account() {
    let dir = tempfile::tempdir().unwrap();
    seed(dir.path());
    let server = start(&service_config(dir.path()));
    let addr = server.addresses().http;
    let mut statuses = Vec::new();
    for _ in 0..7 {
        statuses.push(login(addr, "root", "wrong password").0);
    }
    assert_eq!(statuses[..5], [401; 5], "{statuses:?}");
    assert!(statuses.contains(&429), "{statuses:?}");
    // Locked even with the right password, until the lock passes.
    assert_eq!(login(addr, "root", ROOT_PASSWORD).0, 429);
    server.shutdown().unwrap();
}

#[test]
fn analysts_see_pseudonyms_until_they_reveal_and_sites_limit_what_anyone_sees() {
    let dir = tempfile::tempdir().unwrap();
    let seeded = seed(dir.path());
    let server = start(&service_config(dir.path()));
    let addr = server.addresses().http;
    let integration = format!("Bearer {}", seeded.tokens[&(Role::Integration, false)].0);
    // Erin left in February; her uncollected badge opens a door.
    let event_id = (now_ms() % 1_000_000_000) as u64;
    let (status, sent) = call(
        addr,
        "POST",
        "/v1/ingest/pacs",
        &[
            ("authorization", &integration),
            ("content-type", "application/json"),
        ],
        &uhppote_swipe(4415, event_id, now_ms() - 1000),
    );
    assert_eq!(status, 200, "{sent}");
    let findings = |role: Role, limited: bool, extra: &[(&str, &str)]| {
        let bearer = format!("Bearer {}", seeded.tokens[&(role, limited)].0);
        let mut headers = vec![("authorization", bearer.as_str())];
        headers.extend_from_slice(extra);
        for _ in 0..100 {
            let (status, response) = call(
                addr,
                "GET",
                "/v1/findings?rule=seam.inactive-person-credential",
                &headers,
                "",
            );
            assert_eq!(status, 200, "{response}");
            let body: serde_json::Value = serde_json::from_str(body_of(&response)).unwrap();
            if body["count"].as_u64() > Some(0) || limited {
                return body.to_string();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("no finding");
    };
    let guard = findings(Role::GsocOperator, false, &[]);
    assert!(
        guard.contains("Erin Walsh") && guard.contains("\"erin\""),
        "{guard}"
    );
    let analyst = findings(Role::SocAnalyst, false, &[]);
    assert!(
        !analyst.contains("Erin") && !analyst.contains("\"erin\""),
        "{analyst}"
    );
    let pseudonym = analyst
        .split('"')
        .find(|piece| piece.starts_with("p-") && piece.len() == 12)
        .expect("a pseudonym")
        .to_string();
    // A guard limited to another site sees nothing of this one.
    let elsewhere = findings(Role::GsocOperator, true, &[]);
    assert!(elsewhere.contains("\"count\":0"), "{elsewhere}");
    // A read about one person needs a stated purpose.
    let bearer = format!("Bearer {}", seeded.tokens[&(Role::SocAnalyst, false)].0);
    let by_person = format!("/v1/findings?person={pseudonym}");
    assert_eq!(
        call(addr, "GET", &by_person, &[("authorization", &bearer)], "").0,
        400
    );
    let (status, one) = call(
        addr,
        "GET",
        &by_person,
        &[
            ("authorization", &bearer),
            ("x-seam-purpose", "case 17 triage"),
        ],
        "",
    );
    assert_eq!(status, 200);
    assert!(body_of(&one).contains("\"count\":1"), "{one}");
    // Reveal: a reason is required; then names show for this analyst.
    let reveal = format!("/v1/people/{pseudonym}/reveal");
    let json = ("content-type", "application/json");
    let (status, _) = call(
        addr,
        "POST",
        &reveal,
        &[("authorization", &bearer), json],
        r#"{"reason": "x"}"#,
    );
    assert_eq!(status, 400);
    let (status, revealed) = call(
        addr,
        "POST",
        &reveal,
        &[("authorization", &bearer), json],
        r#"{"reason": "a leaver's badge opened a door, case 17"}"#,
    );
    assert_eq!(status, 200, "{revealed}");
    assert!(body_of(&revealed).contains("Erin Walsh"));
    assert!(findings(Role::SocAnalyst, false, &[]).contains("Erin Walsh"));
    // An auditor may not reveal.
    let auditor = format!("Bearer {}", seeded.tokens[&(Role::Auditor, false)].0);
    assert_eq!(
        call(
            addr,
            "POST",
            &reveal,
            &[("authorization", &auditor), json],
            r#"{"reason": "curious about it"}"#
        )
        .0,
        403
    );
    server.shutdown().unwrap();
    let audit = audit_lines(dir.path()).join("\n");
    assert!(
        audit.contains("\"person_revealed\"") && audit.contains("a leaver's badge opened a door")
    );
    assert!(audit.contains("\"person_read\"") && audit.contains("case 17 triage"));
    assert!(audit.contains(&pseudonym));
    assert!(
        !audit.contains("Erin") && !audit.contains("\"erin\""),
        "{audit}"
    );
}

#[test]
fn without_users_the_api_stays_open_on_loopback_only_and_account_routes_say_how_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let server: Server = start(&service_config(dir.path()));
    let addr = server.addresses().http;
    assert_eq!(call(addr, "GET", "/v1/findings", &[], "").0, 200);
    let (status, response) = call(addr, "GET", "/v1/users", &[], "");
    assert_eq!(status, 401);
    assert!(response.contains("seam user add"), "{response}");
    server.shutdown().unwrap();
}

#[test]
fn filters_are_values_never_code_and_oversized_credentials_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let seeded = seed(dir.path());
    let server = start(&service_config(dir.path()));
    let addr = server.addresses().http;
    let admin = format!("Bearer {}", seeded.tokens[&(Role::Admin, false)].0);
    for attempt in [
        "/v1/findings?rule=x%27%20OR%20%271%27%3D%271",
        "/v1/findings?rule=%27%3B%20DROP%20TABLE%20findings%3B%20--",
        "/v1/findings?person=%22%20OR%201%3D1",
        "/v1/findings?since=1%3B%20DELETE%20FROM%20findings",
    ] {
        let (status, response) = call(
            addr,
            "GET",
            attempt,
            &[
                ("authorization", &admin),
                ("x-seam-purpose", "testing filters"),
            ],
            "",
        );
        assert!(status == 200 || status == 400, "{attempt}: {response}");
        if status == 200 {
            assert!(
                body_of(&response).contains("\"count\":0"),
                "{attempt}: {response}"
            );
        }
    }
    // The store still answers, whole.
    let (status, _) = call(
        addr,
        "GET",
        "/v1/findings",
        &[("authorization", &admin)],
        "",
    );
    assert_eq!(status, 200);
    // An oversized cookie or header: refused, never read.
    let cookie = format!("seam_session={}", "a".repeat(9000));
    let (status, _) = call(addr, "GET", "/v1/me", &[("cookie", &cookie)], "");
    assert!(status == 401 || status == 431, "{status}");
    // A login body over the limit, and one that is not JSON.
    let json = ("content-type", "application/json");
    let big = format!(r#"{{"login":"root","password":"{}"}}"#, "x".repeat(20_000));
    assert_eq!(call(addr, "POST", "/v1/login", &[json], &big).0, 413);
    assert_eq!(call(addr, "POST", "/v1/login", &[json], "{not json").0, 400);
    assert_eq!(
        call(
            addr,
            "POST",
            "/v1/login",
            &[("content-type", "application/x-www-form-urlencoded")],
            "login=root&password=x"
        )
        .0,
        415
    );
    server.shutdown().unwrap();
}
