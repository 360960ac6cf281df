//! SCIM requests on arbitrary bytes: a filter (the first byte 0), or a JSON body created,
//! patched onto, and replaced over a provisioned user and a group (otherwise). Refusals with
//! SCIM's error shape are fine; a panic, or a PATCH that leaves the user unreadable, is not.
#![no_main]

use libfuzzer_sys::fuzz_target;
use seam_directory::scim::provider::{Provider, ProviderConfig};
use seam_directory::scim::schema::ResourceKind;
use seam_directory::scim::{Filter, ListQuery, ScimMapping};
use seam_model::Ts;
use serde_json::json;

fuzz_target!(|data: &[u8]| {
    let Some((selector, input)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(input) else { return };
    let mut provider = Provider::new(ProviderConfig::new("https://seam.example/scim/v2"))
        .expect("the built-in schemas");
    let now = Ts(1_772_452_800_000);
    provider
        .create(
            ResourceKind::User,
            &json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "alice@example.com",
                "emails": [{"value": "alice@example.com", "type": "work"}]
            }),
            "u1",
            now,
        )
        .expect("a valid user");
    provider
        .create(
            ResourceKind::Group,
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                    "displayName": "Ops", "members": [{"value": "u1"}]}),
            "g1",
            now,
        )
        .expect("a valid group");
    if *selector == 0 {
        let _ = Filter::parse(text);
        for kind in [ResourceKind::User, ResourceKind::Group] {
            let _ = provider.list(
                kind,
                &ListQuery {
                    filter: Some(text.to_string()),
                    ..ListQuery::default()
                },
            );
        }
        return;
    }
    let Ok(body) = serde_json::from_str::<serde_json::Value>(text) else { return };
    let kind = if selector % 2 == 0 { ResourceKind::User } else { ResourceKind::Group };
    let id = if kind == ResourceKind::User { "u1" } else { "g1" };
    let _ = provider.create(kind, &body, "new", now);
    let _ = provider.patch(kind, id, &body, None, now);
    let _ = provider.replace(kind, id, &body, None, now);
    let _ = ListQuery::from_search_request(&body);
    // Whatever happened, the user still reads and maps.
    if let Ok(user) = provider.get(ResourceKind::User, "u1") {
        let _ = seam_directory::scim::map_user(&ScimMapping::default(), &user, &[]);
    }
});
