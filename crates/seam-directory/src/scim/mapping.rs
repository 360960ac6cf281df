//! From a provisioned user to a [`DirectoryDelta`]: which SCIM attributes become the
//! person's id, identifiers and attributes, and which groups grant roles and clearances.
//!
//! A delta states the user's whole current state: every identifier kind the mapping
//! produces is listed in `replaces` (an e-mail or badge no longer sent ends), and roles and
//! clearances are the full sets whenever the mapping derives any.
//!
//! The default mapping ([`ScimMapping::default`], and every key a file leaves out):
//!
//! ```toml
//! person_id = "userName"
//! source_ref = "id"                      # the SCIM resource id
//! [[identifier]]
//! kind = "upn"
//! from = "userName"
//! [[identifier]]
//! kind = "email"
//! from = ["emails[type eq \"work\"].value", "emails[primary eq true].value"]
//! [attributes]
//! name = ["displayName", "name.formatted"]   # then givenName and familyName joined
//! kind = "userType"
//! department = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"
//! manager = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"
//! [kind_values]                             # matched ignoring case
//! Employee = "employee"
//! Contractor = "contractor"
//! Visitor = "visitor"
//! Service = "service"
//! ```
//!
//! `from` and attribute sources are PATCH-style paths, or lists of them (the first that
//! yields a value wins). An attribute set to `""` is not mapped. `externalId` is not mapped
//! by default: what it holds differs by identity provider (Okta's user id, an Entra object
//! id or mail nickname); map it as `okta` or `entra` where known. `userName` as the person
//! id follows renames as a new person: deployments whose IdP renames users should use `id`
//! or `externalId`. Also available: `team`, `home_site`, `status_from`, `window_start`,
//! `window_end` (RFC 3339 values), `roles` and `clearances` (values added to what groups
//! grant).

use std::collections::{BTreeMap, BTreeSet};

use seam_model::text::did_you_mean;
use seam_model::{DeltaIdentifier, DeltaWindow, DirectoryDelta, Ts};
use serde::Deserialize;
use serde_json::Value;

use super::error::quote;
use super::filter::{Compiled, Scope, parse_bool};
use super::path::{PatchPath, Target, get_ci, resolve};
use super::schema::{AttrType, ENTERPRISE_URN, ResourceKind, SchemaSet};

/// The identifier kinds the directory knows.
pub const IDENTIFIER_KINDS: [&str; 8] = [
    "badge", "upn", "email", "okta", "entra", "username", "device", "mac",
];

/// The person kinds the directory knows.
pub const PERSON_KINDS: [&str; 4] = ["employee", "contractor", "visitor", "service"];

/// Why a mapping could not be loaded, or a user not mapped.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    /// The mapping file is wrong: fix it.
    #[error("scim mapping: {0}")]
    Config(String),
    /// One user's values cannot be mapped (no person id, a time that is not RFC 3339).
    #[error("scim user {}: {detail}", quote(.user))]
    User { user: String, detail: String },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingFile {
    person_id: Option<Paths>,
    source_ref: Option<Paths>,
    identifier: Option<Vec<IdentifierFile>>,
    #[serde(default)]
    attributes: AttributesFile,
    kind_values: Option<BTreeMap<String, String>>,
    #[serde(default)]
    group: Vec<GroupFile>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Paths {
    One(String),
    Many(Vec<String>),
}

impl Paths {
    fn list(&self) -> Vec<&str> {
        match self {
            Paths::One(path) => vec![path.as_str()],
            Paths::Many(paths) => paths.iter().map(String::as_str).collect(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IdentifierFile {
    kind: String,
    from: Paths,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AttributesFile {
    name: Option<Paths>,
    kind: Option<Paths>,
    department: Option<Paths>,
    team: Option<Paths>,
    manager: Option<Paths>,
    home_site: Option<Paths>,
    status_from: Option<Paths>,
    window_start: Option<Paths>,
    window_end: Option<Paths>,
    roles: Option<Paths>,
    clearances: Option<Paths>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupFile {
    /// The group's `displayName`, matched ignoring case.
    name: Option<String>,
    /// Or the group's `externalId` (or SCIM `id`), matched exactly.
    external_id: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    clearances: Vec<String>,
}

/// One path a value is read from.
#[derive(Clone, Debug)]
struct Selector {
    path: PatchPath,
    target: Target,
    filter: Option<Compiled>,
}

impl Selector {
    fn new(field: &str, text: &str) -> Result<Selector, MappingError> {
        let invalid = |detail: &str| {
            MappingError::Config(format!("`{field}`: path {} {detail}", quote(text)))
        };
        let path = PatchPath::parse(text).map_err(|error| invalid(error.detail()))?;
        let set = SchemaSet::default();
        let resolved = resolve(&set, ResourceKind::User, &path.attr);
        let target = match &resolved {
            Some(resolved) => Target::from_resolved(resolved),
            None => Target::untyped(&path.attr),
        };
        let filter = match &path.filter {
            None => None,
            Some(filter) => {
                let scope = match &resolved {
                    Some(resolved)
                        if resolved.attr.ty == AttrType::Complex && resolved.attr.multi_valued =>
                    {
                        Scope::Element(resolved.attr)
                    }
                    Some(_) => {
                        return Err(invalid(
                            "filters an attribute that is not multi-valued and complex",
                        ));
                    }
                    None => Scope::Untyped,
                };
                Some(Compiled::new(filter, scope).map_err(|error| invalid(error.detail()))?)
            }
        };
        Ok(Selector {
            path,
            target,
            filter,
        })
    }

    /// The non-empty values at the path, as text: each value of a multi-valued attribute
    /// (its `value` when complex and no sub-attribute is named).
    fn values(&self, user: &Value) -> Vec<String> {
        let Some(top) = user.as_object().and_then(|user| self.target.top(user)) else {
            return Vec::new();
        };
        let items: Vec<&Value> = match top {
            Value::Array(items) => items.iter().collect(),
            other => vec![other],
        };
        let mut out = Vec::new();
        for item in items {
            let selected = match (&self.filter, item) {
                (None, _) => true,
                (Some(filter), Value::Object(item)) => filter.matches(item),
                (Some(_), _) => false,
            };
            if !selected {
                continue;
            }
            let leaf = match (&self.path.sub, item) {
                (Some(sub), Value::Object(object)) => get_ci(object, sub),
                (Some(_), _) => None,
                (None, Value::Object(object)) => get_ci(object, "value"),
                (None, other) => Some(other),
            };
            let leaves: Vec<&Value> = match leaf {
                Some(Value::Array(values)) => values.iter().collect(),
                Some(value) => vec![value],
                None => Vec::new(),
            };
            for leaf in leaves {
                let text = match leaf {
                    Value::String(text) => text.trim().to_string(),
                    Value::Number(number) => number.to_string(),
                    Value::Bool(flag) => flag.to_string(),
                    _ => continue,
                };
                if !text.is_empty() && !out.contains(&text) {
                    out.push(text);
                }
            }
        }
        out
    }
}

/// Paths tried in order: the first that yields a value wins.
#[derive(Clone, Debug, Default)]
struct Source {
    selectors: Vec<Selector>,
}

impl Source {
    fn new(field: &str, paths: &[&str]) -> Result<Source, MappingError> {
        let selectors = paths
            .iter()
            .filter(|path| !path.trim().is_empty())
            .map(|path| Selector::new(field, path))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Source { selectors })
    }

    fn optional(
        field: &str,
        paths: Option<&Paths>,
        default: &[&str],
    ) -> Result<Option<Source>, MappingError> {
        let source = match paths {
            Some(paths) => Source::new(field, &paths.list())?,
            None => Source::new(field, default)?,
        };
        Ok((!source.selectors.is_empty()).then_some(source))
    }

    fn values(&self, user: &Value) -> Vec<String> {
        self.selectors
            .iter()
            .map(|selector| selector.values(user))
            .find(|values| !values.is_empty())
            .unwrap_or_default()
    }

    fn first(&self, user: &Value) -> Option<String> {
        self.values(user).into_iter().next()
    }
}

#[derive(Clone, Debug)]
struct GroupRule {
    name: Option<String>,
    external_id: Option<String>,
    roles: Vec<String>,
    clearances: Vec<String>,
}

impl GroupRule {
    fn matches(&self, group: &Value) -> bool {
        let text = |key: &str| {
            group
                .as_object()
                .and_then(|object| get_ci(object, key))
                .and_then(Value::as_str)
                .map(str::trim)
        };
        let by_name = self.name.as_deref().is_some_and(|name| {
            text("displayName")
                .is_some_and(|shown| shown.to_lowercase() == name.trim().to_lowercase())
        });
        let by_id = self
            .external_id
            .as_deref()
            .is_some_and(|wanted| text("externalId") == Some(wanted) || text("id") == Some(wanted));
        by_name || by_id
    }
}

/// A compiled mapping from SCIM users to directory changes.
#[derive(Clone, Debug)]
pub struct ScimMapping {
    person_id: Source,
    source_ref: Option<Source>,
    identifiers: Vec<(String, Source)>,
    /// `None`: the default name (displayName, name.formatted, given and family names).
    name: Option<Source>,
    default_name: bool,
    kind: Option<Source>,
    kind_values: BTreeMap<String, String>,
    department: Option<Source>,
    team: Option<Source>,
    manager: Option<Source>,
    home_site: Option<Source>,
    status_from: Option<Source>,
    window_start: Option<Source>,
    window_end: Option<Source>,
    roles: Option<Source>,
    clearances: Option<Source>,
    groups: Vec<GroupRule>,
}

impl Default for ScimMapping {
    fn default() -> ScimMapping {
        // The default file is valid by construction; a failure here would be a bug in the
        // paths above, so it degrades to a mapping of the person id alone.
        ScimMapping::from_file(MappingFile {
            person_id: None,
            source_ref: None,
            identifier: None,
            attributes: AttributesFile::default(),
            kind_values: None,
            group: Vec::new(),
        })
        .unwrap_or_else(|_| ScimMapping {
            person_id: Source::default(),
            source_ref: None,
            identifiers: Vec::new(),
            name: None,
            default_name: false,
            kind: None,
            kind_values: BTreeMap::new(),
            department: None,
            team: None,
            manager: None,
            home_site: None,
            status_from: None,
            window_start: None,
            window_end: None,
            roles: None,
            clearances: None,
            groups: Vec::new(),
        })
    }
}

impl ScimMapping {
    /// Reads a mapping file; every path is parsed now, so a bad one fails at load.
    pub fn from_toml(text: &str) -> Result<ScimMapping, MappingError> {
        let file: MappingFile =
            toml::from_str(text).map_err(|error| MappingError::Config(error.to_string()))?;
        ScimMapping::from_file(file)
    }

    fn from_file(file: MappingFile) -> Result<ScimMapping, MappingError> {
        let person_id = match &file.person_id {
            Some(paths) => Source::new("person_id", &paths.list())?,
            None => Source::new("person_id", &["userName"])?,
        };
        if person_id.selectors.is_empty() {
            return Err(MappingError::Config("`person_id` needs a path".into()));
        }
        let source_ref = Source::optional("source_ref", file.source_ref.as_ref(), &["id"])?;
        let identifiers = match &file.identifier {
            Some(rules) => rules
                .iter()
                .map(|rule| {
                    let kind = rule.kind.trim().to_lowercase();
                    if !IDENTIFIER_KINDS.contains(&kind.as_str()) {
                        return Err(MappingError::Config(format!(
                            "identifier kind {} is not one of {}{}",
                            quote(&rule.kind),
                            IDENTIFIER_KINDS.join(", "),
                            did_you_mean(&kind, IDENTIFIER_KINDS.into_iter())
                        )));
                    }
                    let source = Source::new(&format!("identifier {kind}"), &rule.from.list())?;
                    if source.selectors.is_empty() {
                        return Err(MappingError::Config(format!(
                            "identifier {kind} needs a `from` path"
                        )));
                    }
                    Ok((kind, source))
                })
                .collect::<Result<Vec<_>, _>>()?,
            None => vec![
                (
                    "upn".to_string(),
                    Source::new("identifier upn", &["userName"])?,
                ),
                (
                    "email".to_string(),
                    Source::new(
                        "identifier email",
                        &[
                            "emails[type eq \"work\"].value",
                            "emails[primary eq true].value",
                        ],
                    )?,
                ),
            ],
        };
        let attributes = &file.attributes;
        let department_default = format!("{ENTERPRISE_URN}:department");
        let manager_default = format!("{ENTERPRISE_URN}:manager.value");
        let kind_values = match &file.kind_values {
            Some(values) => values
                .iter()
                .map(|(from, to)| {
                    let to = to.trim().to_lowercase();
                    if !PERSON_KINDS.contains(&to.as_str()) {
                        return Err(MappingError::Config(format!(
                            "kind_values: {} is not one of {}{}",
                            quote(&to),
                            PERSON_KINDS.join(", "),
                            did_you_mean(&to, PERSON_KINDS.into_iter())
                        )));
                    }
                    Ok((from.trim().to_lowercase(), to))
                })
                .collect::<Result<BTreeMap<_, _>, _>>()?,
            None => PERSON_KINDS
                .iter()
                .map(|kind| (kind.to_string(), kind.to_string()))
                .collect(),
        };
        let mut groups = Vec::new();
        for rule in &file.group {
            let name = rule
                .name
                .as_deref()
                .map(str::trim)
                .filter(|name| !name.is_empty());
            let external_id = rule
                .external_id
                .as_deref()
                .map(str::trim)
                .filter(|id| !id.is_empty());
            if name.is_some() == external_id.is_some() {
                return Err(MappingError::Config(
                    "each [[group]] names a group by `name` or by `external_id`, one of the two"
                        .into(),
                ));
            }
            let clean = |values: &[String]| -> Vec<String> {
                values
                    .iter()
                    .map(|value| value.trim().to_string())
                    .filter(|value| !value.is_empty())
                    .collect()
            };
            groups.push(GroupRule {
                name: name.map(str::to_string),
                external_id: external_id.map(str::to_string),
                roles: clean(&rule.roles),
                clearances: clean(&rule.clearances),
            });
        }
        Ok(ScimMapping {
            person_id,
            source_ref,
            identifiers,
            default_name: attributes.name.is_none(),
            name: Source::optional(
                "attributes.name",
                attributes.name.as_ref(),
                &["displayName", "name.formatted"],
            )?,
            kind: Source::optional("attributes.kind", attributes.kind.as_ref(), &["userType"])?,
            kind_values,
            department: Source::optional(
                "attributes.department",
                attributes.department.as_ref(),
                &[&department_default],
            )?,
            team: Source::optional("attributes.team", attributes.team.as_ref(), &[])?,
            manager: Source::optional(
                "attributes.manager",
                attributes.manager.as_ref(),
                &[&manager_default],
            )?,
            home_site: Source::optional(
                "attributes.home_site",
                attributes.home_site.as_ref(),
                &[],
            )?,
            status_from: Source::optional(
                "attributes.status_from",
                attributes.status_from.as_ref(),
                &[],
            )?,
            window_start: Source::optional(
                "attributes.window_start",
                attributes.window_start.as_ref(),
                &[],
            )?,
            window_end: Source::optional(
                "attributes.window_end",
                attributes.window_end.as_ref(),
                &[],
            )?,
            roles: Source::optional("attributes.roles", attributes.roles.as_ref(), &[])?,
            clearances: Source::optional(
                "attributes.clearances",
                attributes.clearances.as_ref(),
                &[],
            )?,
            groups,
        })
    }

    /// Checks that every path names an attribute of the provider's User schemas (a typo
    /// in an extension attribute would otherwise just map nothing).
    pub fn check(&self, set: &SchemaSet) -> Result<(), MappingError> {
        let sources = [
            Some(&self.person_id),
            self.source_ref.as_ref(),
            self.name.as_ref(),
            self.kind.as_ref(),
            self.department.as_ref(),
            self.team.as_ref(),
            self.manager.as_ref(),
            self.home_site.as_ref(),
            self.status_from.as_ref(),
            self.window_start.as_ref(),
            self.window_end.as_ref(),
            self.roles.as_ref(),
            self.clearances.as_ref(),
        ]
        .into_iter()
        .flatten()
        .chain(self.identifiers.iter().map(|(_, source)| source));
        for selector in sources.flat_map(|source| &source.selectors) {
            let path = &selector.path;
            let known = resolve(set, ResourceKind::User, &path.attr).is_some_and(|resolved| {
                path.sub
                    .as_deref()
                    .is_none_or(|sub| resolved.attr.sub(sub).is_some())
            });
            if !known {
                return Err(MappingError::Config(format!(
                    "path {} names no attribute of the SCIM User schemas",
                    quote(&path.text)
                )));
            }
        }
        Ok(())
    }

    /// The identifier kinds this mapping produces, in mapping order.
    pub fn identifier_kinds(&self) -> Vec<String> {
        let mut kinds: Vec<String> = Vec::new();
        for (kind, _) in &self.identifiers {
            if !kinds.contains(kind) {
                kinds.push(kind.clone());
            }
        }
        kinds
    }

    /// The person id of a user (its first value at `person_id`).
    pub fn person_id(&self, user: &Value) -> Result<String, MappingError> {
        self.person_id
            .first(user)
            .ok_or_else(|| MappingError::User {
                user: scim_id(user),
                detail: format!(
                    "has no value for the person id at {}",
                    self.person_id
                        .selectors
                        .iter()
                        .map(|selector| quote(&selector.path.text))
                        .collect::<Vec<_>>()
                        .join(" or ")
                ),
            })
    }

    fn grants(&self) -> bool {
        !self.groups.is_empty() || self.roles.is_some() || self.clearances.is_some()
    }
}

fn scim_id(user: &Value) -> String {
    user.get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// A user's whole current state as a directory change; `groups` are the groups it is a
/// member of. A manager is given as the value the mapping reads.
pub fn map_user(
    mapping: &ScimMapping,
    user: &Value,
    groups: &[&Value],
) -> Result<DirectoryDelta, MappingError> {
    map_user_resolving(mapping, user, groups, |_| None)
}

/// As [`map_user`], with the manager's value (a SCIM user id, by default) turned into that
/// person's directory id by `manager_person`, when it knows it.
pub fn map_user_resolving(
    mapping: &ScimMapping,
    user: &Value,
    groups: &[&Value],
    manager_person: impl Fn(&str) -> Option<String>,
) -> Result<DirectoryDelta, MappingError> {
    let mut delta = DirectoryDelta::for_person(mapping.person_id(user)?);
    let first = |source: &Option<Source>| source.as_ref().and_then(|source| source.first(user));
    delta.source_ref = first(&mapping.source_ref);
    delta.name = first(&mapping.name).or_else(|| {
        if !mapping.default_name {
            return None;
        }
        let part = |key: &str| {
            user.get("name")
                .and_then(Value::as_object)
                .and_then(|name| get_ci(name, key))
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|part| !part.is_empty())
        };
        let joined: Vec<&str> = [part("givenName"), part("familyName")]
            .into_iter()
            .flatten()
            .collect();
        (!joined.is_empty()).then(|| joined.join(" "))
    });
    delta.kind = first(&mapping.kind)
        .and_then(|kind| mapping.kind_values.get(&kind.to_lowercase()).cloned());
    let active = match user.as_object().and_then(|object| get_ci(object, "active")) {
        Some(Value::Bool(active)) => *active,
        Some(Value::String(text)) => parse_bool(text).unwrap_or(true),
        _ => true,
    };
    delta.status = Some(if active { "active" } else { "suspended" }.to_string());
    let time = |source: &Option<Source>, field: &str| -> Result<Option<Ts>, MappingError> {
        match first(source) {
            None => Ok(None),
            Some(text) => Ts::parse(&text).map(Some).map_err(|_| MappingError::User {
                user: scim_id(user),
                detail: format!(
                    "{field} {} is not an RFC 3339 time such as `2026-03-02T09:15:00Z`",
                    quote(&text)
                ),
            }),
        }
    };
    delta.status_from = time(&mapping.status_from, "status_from")?;
    let window = DeltaWindow {
        start: time(&mapping.window_start, "window_start")?,
        end: time(&mapping.window_end, "window_end")?,
    };
    if window.start.is_some() || window.end.is_some() {
        delta.window = Some(window);
    }
    delta.department = first(&mapping.department);
    delta.team = first(&mapping.team);
    delta.home_site = first(&mapping.home_site);
    delta.manager =
        first(&mapping.manager).map(|manager| manager_person(&manager).unwrap_or(manager));
    for (kind, source) in &mapping.identifiers {
        for value in source.values(user) {
            let identifier = DeltaIdentifier {
                kind: kind.clone(),
                value,
                from: None,
                until: None,
            };
            if !delta.identifiers.contains(&identifier) {
                delta.identifiers.push(identifier);
            }
        }
    }
    delta.replaces = mapping.identifier_kinds();
    if mapping.grants() {
        let mut roles = BTreeSet::new();
        let mut clearances = BTreeSet::new();
        for rule in &mapping.groups {
            if groups.iter().any(|group| rule.matches(group)) {
                roles.extend(rule.roles.iter().cloned());
                clearances.extend(rule.clearances.iter().cloned());
            }
        }
        if let Some(source) = &mapping.roles {
            roles.extend(source.values(user));
        }
        if let Some(source) = &mapping.clearances {
            clearances.extend(source.values(user));
        }
        delta.roles = Some(roles.into_iter().collect());
        delta.clearances = Some(clearances.into_iter().collect());
    }
    Ok(delta)
}

/// A deleted user: `terminated`, every mapped identifier kind ended, and no roles or
/// clearances left when the mapping grants any.
pub fn map_deleted_user(
    mapping: &ScimMapping,
    user: &Value,
) -> Result<DirectoryDelta, MappingError> {
    let mut delta = DirectoryDelta::for_person(mapping.person_id(user)?);
    delta.source_ref = mapping
        .source_ref
        .as_ref()
        .and_then(|source| source.first(user));
    delta.status = Some("terminated".to_string());
    delta.replaces = mapping.identifier_kinds();
    if mapping.grants() {
        delta.roles = Some(Vec::new());
        delta.clearances = Some(Vec::new());
    }
    Ok(delta)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::{ExtensionAttribute, ExtensionConfig, USER_URN};
    use serde_json::json;

    const SEAM_URN: &str = "urn:ietf:params:scim:schemas:extension:seam:2.0:User";

    fn user() -> Value {
        json!({
            "schemas": [USER_URN, ENTERPRISE_URN, SEAM_URN],
            "id": "2819c223",
            "externalId": "00u1abcd",
            "userName": "bjensen@example.com",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "userType": "Contractor",
            "active": false,
            "emails": [
                {"value": "babs@home.org", "type": "home", "primary": true},
                {"value": " bjensen@example.com ", "type": "work"},
            ],
            ENTERPRISE_URN: {"department": "Tours", "manager": {"value": "m-1"}},
            SEAM_URN: {"badgeNumber": "B-1001", "contractEnd": "2026-12-31T17:00:00Z"},
        })
    }

    #[test]
    fn the_default_mapping() {
        let mapping = ScimMapping::default();
        let delta = map_user(&mapping, &user(), &[]).unwrap();
        assert_eq!(delta.person, "bjensen@example.com");
        assert_eq!(delta.source_ref.as_deref(), Some("2819c223"));
        assert_eq!(delta.name.as_deref(), Some("Barbara Jensen"));
        assert_eq!(delta.kind.as_deref(), Some("contractor"));
        assert_eq!(delta.status.as_deref(), Some("suspended"));
        assert_eq!(delta.department.as_deref(), Some("Tours"));
        assert_eq!(delta.manager.as_deref(), Some("m-1"));
        let identifiers: Vec<(&str, &str)> = delta
            .identifiers
            .iter()
            .map(|i| (i.kind.as_str(), i.value.as_str()))
            .collect();
        assert_eq!(
            identifiers,
            [
                ("upn", "bjensen@example.com"),
                ("email", "bjensen@example.com")
            ]
        );
        assert_eq!(delta.replaces, ["upn", "email"]);
        assert_eq!(delta.roles, None);
        let resolved = map_user_resolving(&mapping, &user(), &[], |id| {
            (id == "m-1").then(|| "boss@example.com".to_string())
        })
        .unwrap();
        assert_eq!(resolved.manager.as_deref(), Some("boss@example.com"));
    }

    #[test]
    fn the_primary_email_when_no_work_email() {
        let mut user = user();
        user["emails"] = json!([{"value": "p@x.org", "primary": true}, {"value": "q@x.org"}]);
        let delta = map_user(&ScimMapping::default(), &user, &[]).unwrap();
        assert!(
            delta
                .identifiers
                .iter()
                .any(|i| i.kind == "email" && i.value == "p@x.org")
        );
        assert!(!delta.identifiers.iter().any(|i| i.value == "q@x.org"));
        user["emails"] = json!([]);
        user["displayName"] = json!("Babs");
        let delta = map_user(&ScimMapping::default(), &user, &[]).unwrap();
        assert!(!delta.identifiers.iter().any(|i| i.kind == "email"));
        assert_eq!(delta.replaces, ["upn", "email"], "a removed e-mail ends");
        assert_eq!(delta.name.as_deref(), Some("Babs"));
    }

    const FILE: &str = r#"
        person_id = "externalId"
        [[identifier]]
        kind = "upn"
        from = "userName"
        [[identifier]]
        kind = "email"
        from = "emails[type eq \"work\"].value"
        [[identifier]]
        kind = "badge"
        from = "urn:ietf:params:scim:schemas:extension:seam:2.0:User:badgeNumber"
        [[identifier]]
        kind = "okta"
        from = "externalId"
        [attributes]
        name = "displayName"
        department = ""
        kind = "userType"
        window_end = "urn:ietf:params:scim:schemas:extension:seam:2.0:User:contractEnd"
        [kind_values]
        Contractor = "contractor"
        [[group]]
        name = "SOC Analysts"
        roles = ["soc-analyst"]
        [[group]]
        external_id = "grp-server"
        clearances = ["hq-server"]
    "#;

    #[test]
    fn a_mapping_file() {
        let mapping = ScimMapping::from_toml(FILE).unwrap();
        let soc = json!({"id": "g1", "displayName": "soc analysts"});
        let server = json!({"id": "g2", "displayName": "Server Room", "externalId": "grp-server"});
        let other = json!({"id": "g3", "displayName": "Everyone"});
        let delta = map_user(&mapping, &user(), &[&soc, &server, &other]).unwrap();
        assert_eq!(delta.person, "00u1abcd");
        assert_eq!(
            delta.name, None,
            "displayName is absent and the default is off"
        );
        assert_eq!(delta.department, None);
        assert_eq!(delta.roles, Some(vec!["soc-analyst".to_string()]));
        assert_eq!(delta.clearances, Some(vec!["hq-server".to_string()]));
        assert_eq!(
            delta.window.and_then(|w| w.end),
            Some(Ts::parse("2026-12-31T17:00:00Z").unwrap())
        );
        assert_eq!(delta.replaces, ["upn", "email", "badge", "okta"]);
        assert!(
            delta
                .identifiers
                .iter()
                .any(|i| i.kind == "badge" && i.value == "B-1001")
        );
        let no_groups = map_user(&mapping, &user(), &[]).unwrap();
        assert_eq!(no_groups.roles, Some(Vec::new()), "the whole set: none");
        let deleted = map_deleted_user(&mapping, &user()).unwrap();
        assert_eq!(deleted.status.as_deref(), Some("terminated"));
        assert!(deleted.identifiers.is_empty());
        assert_eq!(deleted.replaces, ["upn", "email", "badge", "okta"]);
        assert_eq!(deleted.roles, Some(Vec::new()));
    }

    #[test]
    fn load_errors_are_clear() {
        let cases = [
            ("person_id = \"emails[type eq\"", "person_id"),
            (
                "[[identifier]]\nkind = \"bagde\"\nfrom = \"userName\"",
                "did you mean `badge`",
            ),
            ("[kind_values]\nEmployee = \"staff\"", "staff"),
            ("[[group]]\nroles = [\"x\"]", "one of the two"),
            ("nonsense = 1", "nonsense"),
            (
                "[attributes]\nname = \"name[givenName eq \\\"x\\\"]\"",
                "not multi-valued",
            ),
        ];
        for (text, expected) in cases {
            let error = ScimMapping::from_toml(text).unwrap_err().to_string();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }

    #[test]
    fn check_against_the_schemas() {
        let mapping = ScimMapping::from_toml(FILE).unwrap();
        let error = mapping.check(&SchemaSet::default()).unwrap_err();
        assert!(error.to_string().contains("seam:2.0:User"), "{error}");
        let set = SchemaSet::new(&[ExtensionConfig {
            urn: SEAM_URN.into(),
            name: None,
            description: None,
            resource: ResourceKind::User,
            required: false,
            attributes: ["badgeNumber", "contractEnd"]
                .into_iter()
                .map(|name| ExtensionAttribute {
                    name: name.into(),
                    ty: if name == "contractEnd" {
                        AttrType::DateTime
                    } else {
                        AttrType::String
                    },
                    multi_valued: false,
                    required: false,
                    case_exact: false,
                    description: None,
                })
                .collect(),
        }])
        .unwrap();
        mapping.check(&set).unwrap();
        ScimMapping::default().check(&SchemaSet::default()).unwrap();
    }

    #[test]
    fn user_errors() {
        let mapping = ScimMapping::default();
        let error = map_user(&mapping, &json!({"id": "x", "userName": "  "}), &[]).unwrap_err();
        assert!(matches!(error, MappingError::User { .. }), "{error}");
        let mapping = ScimMapping::from_toml("[attributes]\nstatus_from = \"title\"").unwrap();
        let error = map_user(
            &mapping,
            &json!({"id": "x", "userName": "a", "title": "soon"}),
            &[],
        )
        .unwrap_err();
        assert!(error.to_string().contains("RFC 3339"), "{error}");
    }
}
