//! Attribute paths (RFC 7644 §3.10, §3.5.2): `attr`, `attr.sub`, `urn:…:attr.sub`, and the
//! PATCH form `attr[filter].sub`, resolved case-insensitively against the schemas.

use std::fmt;

use serde_json::{Map, Value};

use super::error::{ScimError, quote};
use super::filter::{Cursor, Filter, MAX_FILTER_BYTES};
use super::schema::{AttrType, Attribute, ResourceKind, SchemaSet, is_attr_name};

/// `[urn ":"] name ["." sub]`, as written (not yet resolved).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttrPath {
    pub urn: Option<String>,
    pub name: String,
    pub sub: Option<String>,
}

impl AttrPath {
    /// Reads an attribute path; `None` when it is not one. A URN prefix ends at the last `:`
    /// (`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`).
    pub fn parse(text: &str) -> Option<AttrPath> {
        let (urn, rest) = if starts_with_urn(text) {
            let colon = text.rfind(':')?;
            let urn = text.get(..colon)?;
            let valid = urn.len() > 4
                && urn
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || ":.-_+%".contains(c));
            if !valid {
                return None;
            }
            (Some(urn.to_string()), text.get(colon + 1..)?)
        } else {
            (None, text)
        };
        let mut parts = rest.split('.');
        let name = parts.next()?;
        let sub = parts.next();
        if parts.next().is_some() || !is_attr_name(name) || !sub.is_none_or(is_attr_name) {
            return None;
        }
        Some(AttrPath {
            urn,
            name: name.to_string(),
            sub: sub.map(str::to_string),
        })
    }

    /// The path without its sub-attribute.
    pub fn without_sub(&self) -> AttrPath {
        AttrPath {
            urn: self.urn.clone(),
            name: self.name.clone(),
            sub: None,
        }
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(urn) = &self.urn {
            write!(f, "{urn}:")?;
        }
        f.write_str(&self.name)?;
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

pub(crate) fn starts_with_urn(text: &str) -> bool {
    text.get(..4)
        .is_some_and(|head| head.eq_ignore_ascii_case("urn:"))
}

/// A PATCH `path` (RFC 7644 §3.5.2, `PATH = attrPath / valuePath [subAttr]`), also used by
/// the directory mapping to select values.
#[derive(Clone, Debug, PartialEq)]
pub struct PatchPath {
    /// The text as given, for messages and for a path that names a whole extension.
    pub text: String,
    /// The attribute, without its sub-attribute.
    pub attr: AttrPath,
    /// The value selection filter of `attr[filter]`.
    pub filter: Option<Filter>,
    /// `attr.sub` or `attr[filter].sub`.
    pub sub: Option<String>,
}

impl PatchPath {
    /// Reads a path; a malformed one is `invalidPath`.
    pub fn parse(text: &str) -> Result<PatchPath, ScimError> {
        let invalid =
            |why: &str| ScimError::invalid_path(format!("invalid path {}: {why}", quote(text)));
        if text.len() > MAX_FILTER_BYTES {
            return Err(invalid("longer than 4096 bytes"));
        }
        let trimmed = text.trim();
        let mut cursor = Cursor::new(trimmed);
        let word = cursor.word();
        let attr = AttrPath::parse(word).ok_or_else(|| invalid("not an attribute path"))?;
        if cursor.at_end() {
            let sub = attr.sub.clone();
            return Ok(PatchPath {
                text: trimmed.to_string(),
                attr: attr.without_sub(),
                filter: None,
                sub,
            });
        }
        if cursor.peek() != Some('[') || attr.sub.is_some() {
            return Err(invalid("expected `[` after the attribute, or the end"));
        }
        let filter = Filter::parse_value_filter(&mut cursor).map_err(|error| {
            ScimError::invalid_path(format!("invalid path {}: {}", quote(text), error.detail()))
        })?;
        let sub = if cursor.peek() == Some('.') {
            cursor.bump();
            let name = cursor.word();
            if !is_attr_name(name) {
                return Err(invalid("expected a sub-attribute after `].`"));
            }
            Some(name.to_string())
        } else {
            None
        };
        if !cursor.at_end() {
            return Err(invalid("unexpected text after the filter"));
        }
        Ok(PatchPath {
            text: trimmed.to_string(),
            attr,
            filter: Some(filter),
            sub,
        })
    }
}

impl fmt::Display for PatchPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.attr)?;
        if let Some(filter) = &self.filter {
            write!(f, "[{filter}]")?;
        }
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

/// An attribute found in the schemas: where it lives in a resource and its definition.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Resolved<'s> {
    /// The extension URN whose object holds the attribute; `None` for core and common ones.
    pub urn: Option<&'s str>,
    pub attr: &'s Attribute,
    pub sub: Option<&'s Attribute>,
}

impl<'s> Resolved<'s> {
    /// The definition of the value the path ends at.
    pub fn leaf(&self) -> &'s Attribute {
        self.sub.unwrap_or(self.attr)
    }
}

/// Finds a path among the attributes of a resource type. Without a URN, the common attributes
/// come first, then the core schema, then an extension attribute whose name no other
/// extension shares (a lenience: RFC 7644 §3.10 lets clients omit a URN when unambiguous).
pub(crate) fn resolve<'s>(
    set: &'s SchemaSet,
    kind: ResourceKind,
    path: &AttrPath,
) -> Option<Resolved<'s>> {
    let (urn, attr) = match &path.urn {
        Some(urn) if urn.eq_ignore_ascii_case(kind.core_urn()) => (
            None,
            set.core(kind)
                .attribute(&path.name)
                .or_else(|| set.common_attribute(&path.name))?,
        ),
        Some(urn) => {
            let extension = set.extension(kind, urn)?;
            (
                Some(extension.schema.id.as_str()),
                extension.schema.attribute(&path.name)?,
            )
        }
        None => match set
            .common_attribute(&path.name)
            .or_else(|| set.core(kind).attribute(&path.name))
        {
            Some(attr) => (None, attr),
            None => {
                let mut found = set.extensions(kind).filter_map(|extension| {
                    let attr = extension.schema.attribute(&path.name)?;
                    Some((Some(extension.schema.id.as_str()), attr))
                });
                let first = found.next()?;
                if found.next().is_some() {
                    return None;
                }
                first
            }
        },
    };
    let sub = match &path.sub {
        Some(name) => Some(attr.sub(name)?),
        None => None,
    };
    Some(Resolved { urn, attr, sub })
}

/// A resolved location, owned: what filters and sorting evaluate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Target {
    pub urn: Option<String>,
    pub name: String,
    pub sub: Option<String>,
    /// The type of the value the path ends at.
    pub ty: AttrType,
    pub case_exact: bool,
    /// Whether the top attribute is multi-valued.
    pub multi_valued: bool,
    /// Whether a schema defines the path (else its values compare by their JSON type).
    pub known: bool,
}

impl Target {
    pub fn from_resolved(resolved: &Resolved<'_>) -> Target {
        let leaf = resolved.leaf();
        Target {
            urn: resolved.urn.map(str::to_string),
            name: resolved.attr.name.clone(),
            sub: resolved.sub.map(|sub| sub.name.clone()),
            ty: leaf.ty,
            case_exact: leaf.case_exact,
            multi_valued: resolved.attr.multi_valued,
            known: true,
        }
    }

    /// A path no schema defines, taken as a case-insensitive string (the mapping's lenience
    /// for attributes of extensions it was not told about).
    pub fn untyped(path: &AttrPath) -> Target {
        Target {
            urn: path.urn.clone(),
            name: path.name.clone(),
            sub: path.sub.clone(),
            ty: AttrType::String,
            case_exact: false,
            multi_valued: false,
            known: false,
        }
    }

    /// The values at this location: each element of a multi-valued attribute, or its `sub`
    /// of each element; nulls left out.
    pub fn values<'v>(&self, resource: &'v Map<String, Value>) -> Vec<&'v Value> {
        let mut out = Vec::new();
        let Some(top) = self.top(resource) else {
            return out;
        };
        let elements: Vec<&Value> = match top {
            Value::Array(items) => items.iter().collect(),
            other => vec![other],
        };
        for element in elements {
            let leaf = match &self.sub {
                Some(sub) => element.as_object().and_then(|object| get_ci(object, sub)),
                None => Some(element),
            };
            match leaf {
                Some(Value::Array(items)) => {
                    out.extend(items.iter().filter(|item| !item.is_null()));
                }
                Some(Value::Null) | None => {}
                Some(value) => out.push(value),
            }
        }
        out
    }

    /// The attribute's value (before any sub-attribute is taken).
    pub fn top<'v>(&self, resource: &'v Map<String, Value>) -> Option<&'v Value> {
        let container = match &self.urn {
            Some(urn) => get_ci(resource, urn)?.as_object()?,
            None => resource,
        };
        get_ci(container, &self.name).filter(|value| !value.is_null())
    }
}

/// A member by key: the exact key first, then ignoring ASCII case (RFC 7643 §2.1: attribute
/// names are case-insensitive).
pub(crate) fn get_ci<'v>(object: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    object.get(key).or_else(|| {
        object
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(key))
            .map(|(_, value)| value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::{ENTERPRISE_URN, USER_URN};
    use serde_json::json;

    #[test]
    fn reads_attribute_paths() {
        let path = AttrPath::parse("name.familyName").unwrap();
        assert_eq!(
            (path.urn, path.name.as_str(), path.sub.as_deref()),
            (None, "name", Some("familyName"))
        );
        let path = AttrPath::parse(&format!("{ENTERPRISE_URN}:manager.value")).unwrap();
        assert_eq!(path.urn.as_deref(), Some(ENTERPRISE_URN));
        assert_eq!(path.name, "manager");
        assert_eq!(path.sub.as_deref(), Some("value"));
        assert_eq!(path.to_string(), format!("{ENTERPRISE_URN}:manager.value"));
        assert!(AttrPath::parse("a.b.c").is_none());
        assert!(AttrPath::parse("").is_none());
        assert!(AttrPath::parse("urn:").is_none());
        assert!(AttrPath::parse("1abc").is_none());
        assert!(AttrPath::parse("members.$ref").is_some());
    }

    #[test]
    fn reads_patch_paths() {
        let path = PatchPath::parse("emails[type eq \"work\"].value").unwrap();
        assert_eq!(path.attr.name, "emails");
        assert!(path.filter.is_some());
        assert_eq!(path.sub.as_deref(), Some("value"));
        assert_eq!(path.to_string(), "emails[type eq \"work\"].value");
        let path = PatchPath::parse("members[value eq \"2819c223\"]").unwrap();
        assert_eq!(path.sub, None);
        let path = PatchPath::parse("name.givenName").unwrap();
        assert_eq!(
            (path.attr.name.as_str(), path.sub.as_deref()),
            ("name", Some("givenName"))
        );
        for bad in [
            "",
            "emails[type eq \"work\"",
            "emails[type eq \"work\"]value",
            "emails[type eq \"work\"].value.x",
            "name.givenName[type eq \"x\"]",
            "emails [type eq \"work\"]",
            "a b",
        ] {
            let error = PatchPath::parse(bad).unwrap_err();
            assert_eq!(
                error.scim_type(),
                Some(crate::scim::ScimType::InvalidPath),
                "{bad}"
            );
        }
    }

    #[test]
    fn resolves_case_insensitively_with_urns() {
        let set = SchemaSet::default();
        let resolved = resolve(
            &set,
            ResourceKind::User,
            &AttrPath::parse("NAME.FAMILYNAME").unwrap(),
        )
        .unwrap();
        assert_eq!(resolved.attr.name, "name");
        assert_eq!(resolved.leaf().name, "familyName");
        let core = resolve(
            &set,
            ResourceKind::User,
            &AttrPath::parse(&format!("{USER_URN}:userName")).unwrap(),
        )
        .unwrap();
        assert_eq!(core.urn, None);
        let enterprise = resolve(
            &set,
            ResourceKind::User,
            &AttrPath::parse("department").unwrap(),
        )
        .unwrap();
        assert_eq!(enterprise.urn, Some(ENTERPRISE_URN));
        assert!(
            resolve(
                &set,
                ResourceKind::Group,
                &AttrPath::parse("userName").unwrap()
            )
            .is_none()
        );
        assert!(
            resolve(
                &set,
                ResourceKind::User,
                &AttrPath::parse("name.nope").unwrap()
            )
            .is_none()
        );
    }

    #[test]
    fn selects_values() {
        let set = SchemaSet::default();
        let user = json!({
            "emails": [{"value": "a@x", "type": "work"}, {"value": "b@x"}, null],
            "Name": {"givenName": "Ann"},
            ENTERPRISE_URN: {"manager": {"value": "m1"}},
        });
        let target = |text: &str| {
            Target::from_resolved(
                &resolve(&set, ResourceKind::User, &AttrPath::parse(text).unwrap()).unwrap(),
            )
        };
        assert_eq!(
            target("emails.value").values(user.as_object().unwrap()),
            vec![&json!("a@x"), &json!("b@x")]
        );
        assert_eq!(
            target("name.givenName").values(user.as_object().unwrap()),
            vec![&json!("Ann")]
        );
        assert_eq!(
            target("manager.value").values(user.as_object().unwrap()),
            vec![&json!("m1")]
        );
        assert!(target("title").values(user.as_object().unwrap()).is_empty());
    }
}
