//! Single sign-on through a real OpenID Connect provider (npm's `oidc-provider`, started on
//! loopback): the browser goes from `/v1/oidc/login` through the provider's pages back to
//! `/v1/oidc/callback`, and comes away with a session whose roles and sites are the
//! provider's groups and sites mapped. A replayed callback, a callback in another browser and
//! a user with no mapped group are refused, and each sign-in is in the audit log.
//!
//! Needs Node.js and `oidc-provider` (`.ci/run` installs it); fails loudly without them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

#[path = "../../seam-oidc/tests/support/mod.rs"]
mod oidc_support;

use std::collections::BTreeMap;

use common::*;
use oidc_support::{Browser, CLIENT_ID, CLIENT_SECRET, Provider, http};
use seam_serve::{OidcSettings, Secret};

/// A loopback port free now, for the service: the provider must know the redirect URI
/// before the service starts.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn cookie_value(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_string()
}

fn session_cookie(response: &oidc_support::Response) -> Option<String> {
    response
        .headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("set-cookie"))
        .map(|(_, value)| value)
        .find(|value| value.starts_with("seam_session="))
        .map(|value| cookie_value(value))
}

#[test]
fn a_user_signs_in_through_the_provider_with_mapped_roles_and_sites() {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let redirect = format!("{base}/v1/oidc/callback");
    let provider = Provider::start(&redirect);
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::config(dir.path(), vec![]);
    config.http.listen = format!("127.0.0.1:{port}").parse().unwrap();
    config.access.oidc = Some(OidcSettings {
        issuer: provider.issuer.clone(),
        client_id: CLIENT_ID.into(),
        client_secret: Some(Secret::new(CLIENT_SECRET)),
        redirect_uri: redirect.clone(),
        scopes: "openid email profile groups seam".into(),
        roles_claim: "groups".into(),
        role_map: BTreeMap::from([("seam-admins".to_string(), vec!["investigator".to_string()])]),
        sites_claim: Some("seam.sites".into()),
    });
    let server = start(&config);

    // Alice: to the provider and back.
    let mut browser = Browser::stopping_at(&redirect);
    let query = browser.sign_in(&format!("{base}/v1/oidc/login?return_to=/v1/me"), "alice");
    let state_cookie = format!(
        "seam_oidc_state={}",
        browser
            .cookies
            .get("seam_oidc_state")
            .expect("the state cookie")
    );
    let callback = format!("{redirect}?{query}");
    let answer = http(
        "GET",
        &callback,
        &[("Cookie".to_string(), state_cookie.clone())],
        b"",
    );
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert!(answer.text().contains("url=/v1/me"), "{}", answer.text());
    let session = session_cookie(&answer).expect("a session cookie");
    let me = http(
        "GET",
        &format!("{base}/v1/me"),
        &[("Cookie".into(), session)],
        b"",
    );
    assert_eq!(me.status, 200, "{}", me.text());
    let me: serde_json::Value = serde_json::from_str(&me.text()).unwrap();
    assert_eq!(
        me["principal"]["roles"],
        serde_json::json!(["investigator"])
    );
    assert_eq!(me["principal"]["sites"], serde_json::json!(["hq", "lab"]));
    assert_eq!(me["principal"]["name"], "alice");

    // The same answer again: the sign-in it belonged to is used up.
    let replayed = http(
        "GET",
        &callback,
        &[("Cookie".to_string(), state_cookie)],
        b"",
    );
    assert_eq!(replayed.status, 401, "{}", replayed.text());

    // A callback arriving in a browser that did not start the sign-in.
    let mut other = Browser::stopping_at(&redirect);
    let query = other.sign_in(&format!("{base}/v1/oidc/login"), "alice");
    let stolen = http("GET", &format!("{redirect}?{query}"), &[], b"");
    assert_eq!(stolen.status, 401, "{}", stolen.text());
    assert!(session_cookie(&stolen).is_none());

    // Bob's groups map to no role: no session.
    let mut bob = Browser::stopping_at(&redirect);
    let query = bob.sign_in(&format!("{base}/v1/oidc/login"), "bob");
    let state = format!("seam_oidc_state={}", bob.cookies["seam_oidc_state"]);
    let refused = http(
        "GET",
        &format!("{redirect}?{query}"),
        &[("Cookie".into(), state)],
        b"",
    );
    assert_eq!(refused.status, 403, "{}", refused.text());
    assert!(session_cookie(&refused).is_none());

    // Alice again: the same user, not a second one.
    let mut again = Browser::stopping_at(&redirect);
    let query = again.sign_in(&format!("{base}/v1/oidc/login"), "alice");
    let state = format!("seam_oidc_state={}", again.cookies["seam_oidc_state"]);
    let answer = http(
        "GET",
        &format!("{redirect}?{query}"),
        &[("Cookie".into(), state)],
        b"",
    );
    assert_eq!(answer.status, 200);
    server.shutdown().unwrap();
    drop(provider);

    let store = seam_store::EmbeddedStore::open(dir.path()).unwrap();
    let users = seam_store::Store::documents(&store, seam_access::USERS_COLLECTION).unwrap();
    assert_eq!(users.len(), 1, "{users:?}");
    let mut audit = String::new();
    for entry in std::fs::read_dir(dir.path().join("audit")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "log") {
            audit.push_str(&std::fs::read_to_string(path).unwrap());
        }
    }
    assert!(audit.matches("\"oidc\"").count() >= 2, "{audit}");
    assert!(
        audit.contains("\"sign_in_failed\"") && audit.contains("no_roles"),
        "{audit}"
    );
}
