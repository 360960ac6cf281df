//! The discovery documents (RFC 7644 §4, RFC 7643 §5–§7): `/ServiceProviderConfig`,
//! `/ResourceTypes` and `/Schemas`, each listed and by id, with `meta.location`.

use serde_json::{Map, Value, json};

use super::error::{ScimError, quote};
use super::list::list_response;
use super::schema::{ResourceKind, SchemaSet};

pub const SERVICE_PROVIDER_CONFIG_URN: &str =
    "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
pub const RESOURCE_TYPE_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";

/// What the documents state of the service.
#[derive(Clone, Copy, Debug)]
pub struct Capabilities<'a> {
    /// The service root, without a trailing `/`.
    pub base_url: &'a str,
    pub max_results: usize,
    pub documentation_uri: Option<&'a str>,
}

/// `/ServiceProviderConfig`: PATCH, filtering, sorting and ETags supported; bulk and
/// password change not; OAuth bearer tokens.
pub fn service_provider_config(capabilities: &Capabilities<'_>) -> Value {
    let mut document = json!({
        "schemas": [SERVICE_PROVIDER_CONFIG_URN],
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": capabilities.max_results},
        "changePassword": {"supported": false},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "Authentication with a bearer token in the Authorization header",
            "specUri": "https://www.rfc-editor.org/info/rfc6750",
            "primary": true,
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{}/ServiceProviderConfig", capabilities.base_url),
        },
    });
    if let (Some(uri), Value::Object(members)) = (capabilities.documentation_uri, &mut document) {
        members.insert("documentationUri".into(), Value::from(uri));
    }
    document
}

/// One `/ResourceTypes/<name>` document.
pub fn resource_type_document(set: &SchemaSet, base_url: &str, kind: ResourceKind) -> Value {
    let mut document = Map::new();
    document.insert("schemas".into(), json!([RESOURCE_TYPE_URN]));
    document.insert("id".into(), json!(kind.name()));
    document.insert("name".into(), json!(kind.name()));
    document.insert("endpoint".into(), json!(kind.endpoint()));
    document.insert("description".into(), json!(set.core(kind).description));
    document.insert("schema".into(), json!(kind.core_urn()));
    let extensions: Vec<Value> = set
        .extensions(kind)
        .map(|extension| json!({"schema": extension.schema.id, "required": extension.required}))
        .collect();
    if !extensions.is_empty() {
        document.insert("schemaExtensions".into(), Value::Array(extensions));
    }
    document.insert(
        "meta".into(),
        json!({
            "resourceType": "ResourceType",
            "location": format!("{base_url}/ResourceTypes/{}", kind.name()),
        }),
    );
    Value::Object(document)
}

/// `/ResourceTypes`: a ListResponse of both.
pub fn resource_types(set: &SchemaSet, base_url: &str) -> Value {
    let documents: Vec<Value> = [ResourceKind::User, ResourceKind::Group]
        .into_iter()
        .map(|kind| resource_type_document(set, base_url, kind))
        .collect();
    list_response(documents.len(), 1, documents)
}

/// `/ResourceTypes/<name>`; 404 for another name.
pub fn resource_type(set: &SchemaSet, base_url: &str, name: &str) -> Result<Value, ScimError> {
    ResourceKind::from_name(name)
        .map(|kind| resource_type_document(set, base_url, kind))
        .ok_or_else(|| ScimError::not_found(format!("no resource type {}", quote(name))))
}

/// `/Schemas`: a ListResponse of every schema.
pub fn schemas(set: &SchemaSet, base_url: &str) -> Value {
    let documents: Vec<Value> = set
        .schemas()
        .map(|schema| schema.to_json(base_url))
        .collect();
    list_response(documents.len(), 1, documents)
}

/// `/Schemas/<urn>`; 404 for an unknown URN.
pub fn schema(set: &SchemaSet, base_url: &str, urn: &str) -> Result<Value, ScimError> {
    set.schema(urn)
        .map(|schema| schema.to_json(base_url))
        .ok_or_else(|| ScimError::not_found(format!("no schema {}", quote(urn))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::{ENTERPRISE_URN, GROUP_URN, USER_URN};

    const BASE: &str = "https://seam.test/scim/v2";

    #[test]
    fn service_provider_config_states_what_is_supported() {
        let document = service_provider_config(&Capabilities {
            base_url: BASE,
            max_results: 200,
            documentation_uri: Some("https://seam.test/docs/scim"),
        });
        assert_eq!(document["schemas"], json!([SERVICE_PROVIDER_CONFIG_URN]));
        assert_eq!(document["patch"]["supported"], json!(true));
        assert_eq!(
            document["bulk"],
            json!({"supported": false, "maxOperations": 0, "maxPayloadSize": 0})
        );
        assert_eq!(
            document["filter"],
            json!({"supported": true, "maxResults": 200})
        );
        assert_eq!(document["changePassword"]["supported"], json!(false));
        assert_eq!(document["sort"]["supported"], json!(true));
        assert_eq!(document["etag"]["supported"], json!(true));
        let scheme = &document["authenticationSchemes"][0];
        assert_eq!(scheme["type"], json!("oauthbearertoken"));
        assert!(scheme["name"].is_string() && scheme["description"].is_string());
        assert_eq!(
            document["meta"]["location"],
            json!(format!("{BASE}/ServiceProviderConfig"))
        );
        assert_eq!(
            document["meta"]["resourceType"],
            json!("ServiceProviderConfig")
        );
        assert_eq!(
            document["documentationUri"],
            json!("https://seam.test/docs/scim")
        );
    }

    #[test]
    fn resource_types_name_their_schemas() {
        let set = SchemaSet::default();
        let list = resource_types(&set, BASE);
        assert_eq!(list["totalResults"], json!(2));
        let user = &list["Resources"][0];
        assert_eq!(user["id"], json!("User"));
        assert_eq!(user["endpoint"], json!("/Users"));
        assert_eq!(user["schema"], json!(USER_URN));
        assert_eq!(
            user["schemaExtensions"],
            json!([{"schema": ENTERPRISE_URN, "required": false}])
        );
        assert_eq!(
            user["meta"]["location"],
            json!(format!("{BASE}/ResourceTypes/User"))
        );
        assert_eq!(user["meta"]["resourceType"], json!("ResourceType"));
        let group = resource_type(&set, BASE, "group").unwrap();
        assert_eq!(group["schema"], json!(GROUP_URN));
        assert!(group.get("schemaExtensions").is_none());
        assert_eq!(
            resource_type(&set, BASE, "Device").unwrap_err().status(),
            404
        );
    }

    #[test]
    fn schemas_are_listed_and_found() {
        let set = SchemaSet::default();
        let list = schemas(&set, BASE);
        assert_eq!(list["totalResults"], json!(3));
        let ids: Vec<&str> = list["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|schema| schema["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, [USER_URN, GROUP_URN, ENTERPRISE_URN]);
        let user = schema(&set, BASE, USER_URN).unwrap();
        assert_eq!(
            user["meta"]["location"],
            json!(format!("{BASE}/Schemas/{USER_URN}"))
        );
        assert_eq!(schema(&set, BASE, "urn:nope").unwrap_err().status(), 404);
    }
}
