//! A resource body checked against its schemas (RFC 7643 §2, §3; RFC 7644 §3.3, §3.5.1) and
//! brought to one canonical form: attribute names spelled as the schema spells them,
//! extension attributes in the object keyed by their URN, `schemas` listing the core and
//! each extension present, unassigned values (null, `[]`, `{}`) dropped (RFC 7643 §2.5).
//!
//! Read-only attributes a client sends (`id`, `meta`, `groups`) are ignored (RFC 7643 §2.2);
//! `password` is accepted and dropped: it is never stored or returned. Leniencies for
//! identity providers: booleans sent as strings (`"True"`, Microsoft Entra ID), a complex
//! `manager` sent as its id string (Entra), and Entra's non-URN group and user schema ids
//! listed in `schemas` (ignored).

use serde_json::{Map, Value};

use super::error::{ScimError, quote};
use super::filter::parse_bool;
use super::path::{AttrPath, resolve, starts_with_urn};
use super::schema::{AttrType, Attribute, Mutability, ResourceKind, SchemaSet};

/// Schema ids Microsoft Entra ID lists next to the core schema; they name nothing the
/// resource holds, so they are accepted and forgotten.
const IGNORED_SCHEMAS: [&str; 2] = [
    "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group",
    "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/User",
];

/// What a body is checked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// POST or PUT: `schemas` must be given and list the core schema.
    Write,
    /// The result of a PATCH: `schemas` is recomputed from what is present.
    Patched,
}

/// Checks `body` as a resource of `kind` and returns its canonical form, without `id`,
/// `meta` and read-only attributes.
pub(crate) fn normalize(
    set: &SchemaSet,
    kind: ResourceKind,
    body: &Value,
    mode: Mode,
) -> Result<Map<String, Value>, ScimError> {
    let Value::Object(members) = body else {
        return Err(ScimError::invalid_syntax(format!(
            "a {} must be a JSON object",
            kind.name()
        )));
    };
    if mode == Mode::Write {
        check_schemas(set, kind, members)?;
    }
    let mut out = Map::new();
    for (key, value) in members {
        if key.eq_ignore_ascii_case("schemas") {
            continue;
        }
        if let Some(extension) = set.extension(kind, key) {
            let urn = extension.schema.id.as_str();
            match value {
                Value::Null => {}
                Value::Object(attributes) => {
                    for (name, value) in attributes
                        .iter()
                        .filter(|(name, _)| !name.eq_ignore_ascii_case("schemas"))
                    {
                        let attr = extension.schema.attribute(name).ok_or_else(|| {
                            ScimError::invalid_syntax(format!(
                                "unknown attribute {} in {}",
                                quote(name),
                                quote(urn)
                            ))
                        })?;
                        place(&mut out, Some(urn), attr, value)?;
                    }
                }
                _ => {
                    return Err(ScimError::invalid_value(format!(
                        "{} must be an object of the extension's attributes",
                        quote(urn)
                    )));
                }
            }
            continue;
        }
        if starts_with_urn(key) {
            // A fully qualified attribute name (`urn:…:User:userName`).
            let resolved = AttrPath::parse(key)
                .filter(|path| path.sub.is_none() && path.urn.is_some())
                .and_then(|path| resolve(set, kind, &path))
                .ok_or_else(|| {
                    ScimError::invalid_syntax(format!(
                        "unknown attribute or schema {} for a {}",
                        quote(key),
                        kind.name()
                    ))
                })?;
            if is_common_read_only(resolved.attr) {
                continue;
            }
            place(&mut out, resolved.urn, resolved.attr, value)?;
            continue;
        }
        if let Some(common) = set.common_attribute(key) {
            if common.mutability != Mutability::ReadOnly {
                place(&mut out, None, common, value)?;
            }
            continue;
        }
        let attr = set.core(kind).attribute(key).ok_or_else(|| {
            ScimError::invalid_syntax(format!(
                "unknown attribute {} for a {}",
                quote(key),
                kind.name()
            ))
        })?;
        place(&mut out, None, attr, value)?;
    }
    check_required(set, kind, &out)?;
    let mut schemas = vec![Value::from(kind.core_urn())];
    for extension in set.extensions(kind) {
        if out.contains_key(&extension.schema.id) {
            schemas.push(Value::from(extension.schema.id.as_str()));
        }
    }
    out.insert("schemas".into(), Value::Array(schemas));
    Ok(out)
}

fn is_common_read_only(attr: &Attribute) -> bool {
    attr.mutability == Mutability::ReadOnly
        && ["id", "meta", "schemas"].contains(&attr.name.as_str())
}

fn check_schemas(
    set: &SchemaSet,
    kind: ResourceKind,
    members: &Map<String, Value>,
) -> Result<(), ScimError> {
    let listed = members
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case("schemas"))
        .map(|(_, value)| value);
    let Some(Value::Array(listed)) = listed else {
        return Err(ScimError::invalid_syntax(format!(
            "`schemas` is required: an array holding {}",
            quote(kind.core_urn())
        )));
    };
    let mut has_core = false;
    for urn in listed {
        let Some(urn) = urn.as_str() else {
            return Err(ScimError::invalid_syntax("`schemas` must hold strings"));
        };
        if urn.eq_ignore_ascii_case(kind.core_urn()) {
            has_core = true;
        } else if set.extension(kind, urn).is_none()
            && !IGNORED_SCHEMAS
                .iter()
                .any(|ignored| ignored.eq_ignore_ascii_case(urn))
        {
            return Err(ScimError::invalid_syntax(format!(
                "unknown schema {} for a {}",
                quote(urn),
                kind.name()
            )));
        }
    }
    if !has_core {
        return Err(ScimError::invalid_syntax(format!(
            "`schemas` must list {}",
            quote(kind.core_urn())
        )));
    }
    Ok(())
}

/// Puts one checked attribute into its place, refusing one given twice (`userName` and
/// `USERNAME`).
fn place(
    out: &mut Map<String, Value>,
    urn: Option<&str>,
    attr: &Attribute,
    value: &Value,
) -> Result<(), ScimError> {
    if attr.mutability == Mutability::ReadOnly {
        return Ok(());
    }
    let Some(value) = normalize_value(attr, value, &attr.name)? else {
        return Ok(());
    };
    if attr.mutability == Mutability::WriteOnly {
        // `password`: checked, then forgotten; storing it would only make it leakable.
        return Ok(());
    }
    let container = match urn {
        Some(urn) => {
            let slot = out
                .entry(urn.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            match slot {
                Value::Object(container) => container,
                _ => {
                    return Err(ScimError::invalid_syntax(format!(
                        "{} given twice",
                        quote(urn)
                    )));
                }
            }
        }
        None => out,
    };
    if container.contains_key(&attr.name) {
        return Err(ScimError::invalid_syntax(format!(
            "attribute {} given twice",
            quote(&attr.name)
        )));
    }
    container.insert(attr.name.clone(), value);
    Ok(())
}

/// Checks one attribute's value; `None` when it is unassigned.
pub(crate) fn normalize_value(
    attr: &Attribute,
    value: &Value,
    name: &str,
) -> Result<Option<Value>, ScimError> {
    if value.is_null() {
        return Ok(None);
    }
    if !attr.multi_valued {
        return normalize_single(attr, value, name);
    }
    let Value::Array(items) = value else {
        return Err(ScimError::invalid_value(format!(
            "{} is multi-valued: an array is expected",
            quote(name)
        )));
    };
    let mut values = Vec::with_capacity(items.len());
    for item in items {
        if let Some(item) = normalize_single(attr, item, name)? {
            values.push(item);
        }
    }
    check_primary(attr, &values, name)?;
    Ok((!values.is_empty()).then_some(Value::Array(values)))
}

/// RFC 7643 §2.4: `primary` is `true` for at most one value.
pub(crate) fn check_primary(
    attr: &Attribute,
    values: &[Value],
    name: &str,
) -> Result<(), ScimError> {
    let Some(primary) = attr.sub("primary") else {
        return Ok(());
    };
    let count = values
        .iter()
        .filter(|value| value.get(&primary.name) == Some(&Value::Bool(true)))
        .count();
    if count > 1 {
        return Err(ScimError::invalid_value(format!(
            "{} has {count} values with `primary` true: at most one may be",
            quote(name)
        )));
    }
    Ok(())
}

fn normalize_single(
    attr: &Attribute,
    value: &Value,
    name: &str,
) -> Result<Option<Value>, ScimError> {
    let wrong = |expected: &str| {
        Err(ScimError::invalid_value(format!(
            "{} must be {expected}",
            quote(name)
        )))
    };
    Ok(Some(match (attr.ty, value) {
        (_, Value::Null) => return Ok(None),
        (AttrType::String | AttrType::Reference, Value::String(_)) => value.clone(),
        (AttrType::String | AttrType::Reference, _) => return wrong("a string"),
        (AttrType::Binary, Value::String(text)) => {
            let base64 = text.chars().all(|c| {
                c.is_ascii_alphanumeric() || "+/=-_".contains(c) || c.is_ascii_whitespace()
            });
            if !base64 {
                return wrong("base64 text");
            }
            value.clone()
        }
        (AttrType::Binary, _) => return wrong("base64 text"),
        (AttrType::Boolean, Value::Bool(_)) => value.clone(),
        (AttrType::Boolean, Value::String(text)) => match parse_bool(text) {
            Some(flag) => Value::Bool(flag),
            None => return wrong("true or false"),
        },
        (AttrType::Boolean, _) => return wrong("true or false"),
        (AttrType::Integer, Value::Number(number)) if number.is_i64() || number.is_u64() => {
            value.clone()
        }
        (AttrType::Integer, _) => return wrong("an integer"),
        (AttrType::Decimal, Value::Number(_)) => value.clone(),
        (AttrType::Decimal, _) => return wrong("a number"),
        (AttrType::DateTime, Value::String(text)) => {
            if text.trim().parse::<jiff::Timestamp>().is_err() {
                return wrong("a dateTime such as `2026-03-02T09:15:00Z`");
            }
            value.clone()
        }
        (AttrType::DateTime, _) => return wrong("a dateTime such as `2026-03-02T09:15:00Z`"),
        (AttrType::Complex, Value::String(id))
            if !attr.multi_valued && attr.sub("value").is_some() =>
        {
            // Entra sends `manager` as the manager's id.
            if id.trim().is_empty() {
                return Ok(None);
            }
            let mut object = Map::new();
            object.insert("value".into(), value.clone());
            Value::Object(object)
        }
        (AttrType::Complex, Value::Object(members)) => {
            let mut object = Map::new();
            for (key, member) in members {
                let sub = attr.sub(key).ok_or_else(|| {
                    ScimError::invalid_syntax(format!(
                        "unknown sub-attribute {}",
                        quote(&format!("{name}.{key}"))
                    ))
                })?;
                if sub.mutability == Mutability::ReadOnly {
                    continue;
                }
                let Some(member) = normalize_value(sub, member, &format!("{name}.{}", sub.name))?
                else {
                    continue;
                };
                if object.contains_key(&sub.name) {
                    return Err(ScimError::invalid_syntax(format!(
                        "sub-attribute {} given twice",
                        quote(&format!("{name}.{}", sub.name))
                    )));
                }
                object.insert(sub.name.clone(), member);
            }
            if object.is_empty() {
                return Ok(None);
            }
            Value::Object(object)
        }
        (AttrType::Complex, _) => return wrong("an object"),
    }))
}

fn check_required(
    set: &SchemaSet,
    kind: ResourceKind,
    out: &Map<String, Value>,
) -> Result<(), ScimError> {
    let missing = |attr: &Attribute, container: &Map<String, Value>| {
        attr.required
            && attr.mutability != Mutability::ReadOnly
            && match container.get(&attr.name) {
                None => true,
                Some(Value::String(text)) => text.trim().is_empty(),
                Some(_) => false,
            }
    };
    for attr in &set.core(kind).attributes {
        if missing(attr, out) {
            return Err(ScimError::invalid_value(format!(
                "{} is required",
                quote(&attr.name)
            )));
        }
    }
    for extension in set.extensions(kind) {
        let urn = &extension.schema.id;
        match out.get(urn).and_then(Value::as_object) {
            Some(container) => {
                if let Some(attr) = extension
                    .schema
                    .attributes
                    .iter()
                    .find(|attr| missing(attr, container))
                {
                    return Err(ScimError::invalid_value(format!(
                        "{} is required",
                        quote(&format!("{urn}:{}", attr.name))
                    )));
                }
            }
            None if extension.required => {
                return Err(ScimError::invalid_value(format!(
                    "the extension {} is required for a {}",
                    quote(urn),
                    kind.name()
                )));
            }
            None => {}
        }
    }
    Ok(())
}

/// RFC 7644 §3.5.1: an immutable attribute, once set, keeps its value (`mutability`).
/// Checked on top-level attributes and sub-attributes of single-valued complex ones; the
/// values of multi-valued attributes (group members) are added and removed whole.
pub(crate) fn check_immutable(
    set: &SchemaSet,
    kind: ResourceKind,
    old: &Map<String, Value>,
    new: &Map<String, Value>,
) -> Result<(), ScimError> {
    let containers = std::iter::once((None, &set.core(kind).attributes)).chain(
        set.extensions(kind).map(|extension| {
            (
                Some(extension.schema.id.as_str()),
                &extension.schema.attributes,
            )
        }),
    );
    for (urn, attributes) in containers {
        let pick = |resource: &Map<String, Value>| -> Option<Map<String, Value>> {
            match urn {
                Some(urn) => resource.get(urn).and_then(Value::as_object).cloned(),
                None => Some(resource.clone()),
            }
        };
        let (Some(old), new) = (pick(old), pick(new).unwrap_or_default()) else {
            continue;
        };
        for attr in attributes.iter().filter(|attr| !attr.multi_valued) {
            let changed = |before: Option<&Value>, after: Option<&Value>| {
                before.is_some_and(|before| Some(before) != after)
            };
            if attr.mutability == Mutability::Immutable
                && changed(old.get(&attr.name), new.get(&attr.name))
            {
                return Err(ScimError::mutability(format!(
                    "{} is immutable",
                    quote(&attr.name)
                )));
            }
            for sub in attr
                .sub_attributes
                .iter()
                .filter(|sub| sub.mutability == Mutability::Immutable)
            {
                let get = |resource: &Map<String, Value>| {
                    resource
                        .get(&attr.name)
                        .and_then(|value| value.get(&sub.name))
                        .cloned()
                };
                if changed(get(&old).as_ref(), get(&new).as_ref()) {
                    return Err(ScimError::mutability(format!(
                        "{} is immutable",
                        quote(&format!("{}.{}", attr.name, sub.name))
                    )));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::ScimType;
    use crate::scim::schema::{
        ENTERPRISE_URN, ExtensionAttribute, ExtensionConfig, GROUP_URN, USER_URN,
    };
    use serde_json::json;

    fn user(body: Value) -> Result<Map<String, Value>, ScimError> {
        normalize(
            &SchemaSet::default(),
            ResourceKind::User,
            &body,
            Mode::Write,
        )
    }

    #[test]
    fn canonical_names_and_dropped_read_only() {
        let out = user(json!({
            "schemas": [USER_URN],
            "USERNAME": "bjensen",
            "name": {"GIVENNAME": "Barbara", "familyName": null},
            "id": "client-chosen",
            "meta": {"resourceType": "User"},
            "groups": [{"value": "g1"}],
            "password": "t1meMa$heen",
            "emails": [],
            "Active": true,
        }))
        .unwrap();
        assert_eq!(
            Value::Object(out),
            json!({
                "schemas": [USER_URN],
                "userName": "bjensen",
                "name": {"givenName": "Barbara"},
                "active": true,
            })
        );
    }

    #[test]
    fn entra_deviations() {
        let out = user(json!({
            "schemas": [USER_URN, ENTERPRISE_URN],
            "userName": "a@b.c",
            "active": "False",
            "emails": [{"value": "a@b.c", "type": "work", "primary": "True"}],
            ENTERPRISE_URN: {"manager": "26118915", "department": "Tours"},
        }))
        .unwrap();
        assert_eq!(out["active"], json!(false));
        assert_eq!(out["emails"][0]["primary"], json!(true));
        assert_eq!(out[ENTERPRISE_URN]["manager"], json!({"value": "26118915"}));
        assert_eq!(out["schemas"], json!([USER_URN, ENTERPRISE_URN]));
        let group = normalize(
            &SchemaSet::default(),
            ResourceKind::Group,
            &json!({
                "schemas": [GROUP_URN, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
                "displayName": "Ops",
                "meta": {"resourceType": "Group"},
            }),
            Mode::Write,
        )
        .unwrap();
        assert_eq!(group["schemas"], json!([GROUP_URN]));
    }

    #[test]
    fn extension_attributes_under_their_urn_or_qualified() {
        let out = user(json!({
            "schemas": [USER_URN],
            "userName": "x",
            format!("{ENTERPRISE_URN}:employeeNumber"): "42",
            format!("{USER_URN}:title"): "Boss",
        }))
        .unwrap();
        assert_eq!(out[ENTERPRISE_URN], json!({"employeeNumber": "42"}));
        assert_eq!(out["title"], json!("Boss"));
        assert_eq!(out["schemas"], json!([USER_URN, ENTERPRISE_URN]));
    }

    #[test]
    fn refusals() {
        let cases = [
            (json!([]), ScimType::InvalidSyntax),
            (json!({"userName": "x"}), ScimType::InvalidSyntax),
            (
                json!({"schemas": [ENTERPRISE_URN], "userName": "x"}),
                ScimType::InvalidSyntax,
            ),
            (
                json!({"schemas": [USER_URN, "urn:nope"], "userName": "x"}),
                ScimType::InvalidSyntax,
            ),
            (
                json!({"schemas": [USER_URN], "userName": "x", "shoeSize": 42}),
                ScimType::InvalidSyntax,
            ),
            (
                json!({"schemas": [USER_URN], "userName": "x", "name": {"nope": "y"}}),
                ScimType::InvalidSyntax,
            ),
            (
                json!({"schemas": [USER_URN], "userName": "x", "username": "y"}),
                ScimType::InvalidSyntax,
            ),
            (json!({"schemas": [USER_URN]}), ScimType::InvalidValue),
            (
                json!({"schemas": [USER_URN], "userName": "  "}),
                ScimType::InvalidValue,
            ),
            (
                json!({"schemas": [USER_URN], "userName": 5}),
                ScimType::InvalidValue,
            ),
            (
                json!({"schemas": [USER_URN], "userName": "x", "active": "yes"}),
                ScimType::InvalidValue,
            ),
            (
                json!({"schemas": [USER_URN], "userName": "x", "emails": {"value": "a"}}),
                ScimType::InvalidValue,
            ),
            (
                json!({"schemas": [USER_URN], "userName": "x", "name": "Barbara"}),
                ScimType::InvalidValue,
            ),
            (
                json!({"schemas": [USER_URN], "userName": "x", "emails": [
                    {"value": "a", "primary": true}, {"value": "b", "primary": true}
                ]}),
                ScimType::InvalidValue,
            ),
            (
                json!({"schemas": [USER_URN], "userName": "x", ENTERPRISE_URN: "y"}),
                ScimType::InvalidValue,
            ),
            (
                json!({"schemas": [USER_URN], "userName": "x", ENTERPRISE_URN: {"nope": 1}}),
                ScimType::InvalidSyntax,
            ),
            (
                json!({"schemas": [USER_URN], "userName": "x", "x509Certificates": [{"value": "not base64!"}]}),
                ScimType::InvalidValue,
            ),
        ];
        for (body, scim_type) in cases {
            let error = user(body.clone()).unwrap_err();
            assert_eq!(error.scim_type(), Some(scim_type), "{body}: {error}");
            assert_eq!(error.status(), 400);
        }
    }

    #[test]
    fn configured_extension_types() {
        let set = SchemaSet::new(&[ExtensionConfig {
            urn: "urn:ietf:params:scim:schemas:extension:seam:2.0:User".into(),
            name: None,
            description: None,
            resource: ResourceKind::User,
            required: true,
            attributes: vec![ExtensionAttribute {
                name: "badgeNumber".into(),
                ty: AttrType::String,
                multi_valued: false,
                required: true,
                case_exact: false,
                description: None,
            }],
        }])
        .unwrap();
        let urn = "urn:ietf:params:scim:schemas:extension:seam:2.0:User";
        let ok = normalize(
            &set,
            ResourceKind::User,
            &json!({"schemas": [USER_URN, urn], "userName": "x", urn: {"BadgeNumber": "B-1"}}),
            Mode::Write,
        )
        .unwrap();
        assert_eq!(ok[urn], json!({"badgeNumber": "B-1"}));
        let missing = normalize(
            &set,
            ResourceKind::User,
            &json!({"schemas": [USER_URN], "userName": "x"}),
            Mode::Write,
        )
        .unwrap_err();
        assert!(missing.detail().contains("required"), "{missing}");
    }

    #[test]
    fn immutable_values_keep() {
        let set = SchemaSet::default();
        let old = user(json!({"schemas": [USER_URN], "userName": "x"})).unwrap();
        let new = user(json!({"schemas": [USER_URN], "userName": "y"})).unwrap();
        assert!(check_immutable(&set, ResourceKind::User, &old, &new).is_ok());
    }
}
