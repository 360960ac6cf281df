//! Listing (RFC 7644 §3.4.2, §3.4.3, §3.9): query parameters or a `.search` body read into a
//! [`ListQuery`], paging, sorting, the `attributes`/`excludedAttributes` projection and the
//! `ListResponse` message.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::error::{ScimError, quote};
use super::filter::{compare_numbers, fold};
use super::path::{AttrPath, Target, get_ci, resolve, starts_with_urn};
use super::schema::{AttrType, ResourceKind, Returned, SchemaSet};

pub const LIST_RESPONSE_URN: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const SEARCH_REQUEST_URN: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// `sortOrder`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SortOrder {
    #[default]
    Ascending,
    Descending,
}

/// What a list request asks for; every part optional.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListQuery {
    pub filter: Option<String>,
    /// 1-based; below 1 is read as 1.
    pub start_index: Option<i64>,
    /// 0 asks for the total only; negative is read as 0; above the maximum, the maximum.
    pub count: Option<i64>,
    pub attributes: Vec<String>,
    pub excluded_attributes: Vec<String>,
    pub sort_by: Option<String>,
    pub sort_order: Option<SortOrder>,
}

impl ListQuery {
    /// Reads URL query parameters (already percent-decoded). Names are matched ignoring
    /// case; parameters SCIM does not define are ignored.
    pub fn from_params<'a>(
        params: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<ListQuery, ScimError> {
        let mut query = ListQuery::default();
        for (name, value) in params {
            let is = |wanted: &str| name.eq_ignore_ascii_case(wanted);
            if is("filter") {
                query.filter = Some(value.to_string());
            } else if is("startIndex") {
                query.start_index = Some(integer("startIndex", value)?);
            } else if is("count") {
                query.count = Some(integer("count", value)?);
            } else if is("attributes") {
                query.attributes.extend(split_list(value));
            } else if is("excludedAttributes") {
                query.excluded_attributes.extend(split_list(value));
            } else if is("sortBy") {
                query.sort_by = Some(value.to_string());
            } else if is("sortOrder") {
                query.sort_order = Some(sort_order(value)?);
            }
        }
        Ok(query)
    }

    /// Reads a `POST /.search` body (RFC 7644 §3.4.3).
    pub fn from_search_request(body: &Value) -> Result<ListQuery, ScimError> {
        let Value::Object(members) = body else {
            return Err(ScimError::invalid_syntax(
                "a search request must be a JSON object",
            ));
        };
        let listed = get_ci(members, "schemas")
            .and_then(Value::as_array)
            .is_some_and(|schemas| {
                schemas
                    .iter()
                    .filter_map(Value::as_str)
                    .any(|urn| urn.eq_ignore_ascii_case(SEARCH_REQUEST_URN))
            });
        if !listed {
            return Err(ScimError::invalid_syntax(format!(
                "`schemas` must list {}",
                quote(SEARCH_REQUEST_URN)
            )));
        }
        let text = |name: &str| -> Result<Option<String>, ScimError> {
            match get_ci(members, name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(text)) => Ok(Some(text.clone())),
                Some(_) => Err(ScimError::invalid_value(format!(
                    "`{name}` must be a string"
                ))),
            }
        };
        let number = |name: &str| -> Result<Option<i64>, ScimError> {
            match get_ci(members, name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Number(number)) => number.as_i64().map(Some).ok_or_else(|| {
                    ScimError::invalid_value(format!("`{name}` must be an integer"))
                }),
                Some(Value::String(text)) => integer(name, text).map(Some),
                Some(_) => Err(ScimError::invalid_value(format!(
                    "`{name}` must be an integer"
                ))),
            }
        };
        let names = |name: &str| -> Result<Vec<String>, ScimError> {
            match get_ci(members, name) {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(Value::String(text)) => Ok(split_list(text).collect()),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|item| {
                        item.as_str()
                            .map(|text| text.trim().to_string())
                            .ok_or_else(|| {
                                ScimError::invalid_value(format!("`{name}` must hold strings"))
                            })
                    })
                    .collect(),
                Some(_) => Err(ScimError::invalid_value(format!(
                    "`{name}` must be an array of attribute names"
                ))),
            }
        };
        Ok(ListQuery {
            filter: text("filter")?,
            start_index: number("startIndex")?,
            count: number("count")?,
            attributes: names("attributes")?,
            excluded_attributes: names("excludedAttributes")?,
            sort_by: text("sortBy")?,
            sort_order: text("sortOrder")?
                .map(|text| sort_order(&text))
                .transpose()?,
        })
    }

    /// The effective 1-based start and page size, given the service's maximum.
    pub fn page(&self, max_results: usize) -> (usize, usize) {
        let start = self
            .start_index
            .unwrap_or(1)
            .max(1)
            .try_into()
            .unwrap_or(usize::MAX);
        let count = match self.count {
            None => max_results,
            Some(count) => usize::try_from(count.max(0))
                .unwrap_or(usize::MAX)
                .min(max_results),
        };
        (start, count)
    }
}

fn integer(name: &str, text: &str) -> Result<i64, ScimError> {
    let text = text.trim();
    text.parse::<i64>().or_else(|_| {
        // A number too large for 64 bits still says "from the far end": clamp it.
        let digits = text.strip_prefix('-').unwrap_or(text);
        if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
            Ok(if text.starts_with('-') {
                i64::MIN
            } else {
                i64::MAX
            })
        } else {
            Err(ScimError::invalid_value(format!(
                "`{name}` must be an integer, not {}",
                quote(text)
            )))
        }
    })
}

fn sort_order(text: &str) -> Result<SortOrder, ScimError> {
    if text.eq_ignore_ascii_case("ascending") {
        Ok(SortOrder::Ascending)
    } else if text.eq_ignore_ascii_case("descending") {
        Ok(SortOrder::Descending)
    } else {
        Err(ScimError::invalid_value(format!(
            "`sortOrder` must be ascending or descending, not {}",
            quote(text)
        )))
    }
}

fn split_list(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_string)
}

/// A ListResponse message.
pub fn list_response(total: usize, start_index: usize, resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_RESPONSE_URN],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

/// What to keep of one attribute.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Pick {
    Whole,
    Subs(BTreeSet<String>),
}

/// An attribute's place: `None` for the core and common attributes, else the extension URN.
type Place = (Option<String>, String);

/// `attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9), resolved. `schemas`,
/// `id` and attributes returned `always` are always kept; names no schema knows are ignored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Projection {
    include: BTreeMap<Place, Pick>,
    include_extensions: BTreeSet<String>,
    exclude: BTreeMap<Place, Pick>,
    exclude_extensions: BTreeSet<String>,
    always: BTreeSet<Place>,
}

impl Projection {
    pub fn new(
        set: &SchemaSet,
        kind: ResourceKind,
        attributes: &[String],
        excluded: &[String],
    ) -> Projection {
        let mut projection = Projection::default();
        let always = set
            .common()
            .iter()
            .chain(&set.core(kind).attributes)
            .filter(|attr| attr.returned == Returned::Always);
        for attr in always {
            projection.always.insert((None, attr.name.clone()));
        }
        for (names, into, extensions) in [
            (
                attributes,
                &mut projection.include,
                &mut projection.include_extensions,
            ),
            (
                excluded,
                &mut projection.exclude,
                &mut projection.exclude_extensions,
            ),
        ] {
            for name in names {
                if let Some(extension) = set.extension(kind, name) {
                    extensions.insert(extension.schema.id.clone());
                    continue;
                }
                let Some(resolved) =
                    AttrPath::parse(name).and_then(|path| resolve(set, kind, &path))
                else {
                    continue;
                };
                let place = (resolved.urn.map(str::to_string), resolved.attr.name.clone());
                match resolved.sub {
                    None => {
                        into.insert(place, Pick::Whole);
                    }
                    Some(sub) => match into
                        .entry(place)
                        .or_insert_with(|| Pick::Subs(BTreeSet::new()))
                    {
                        Pick::Whole => {}
                        Pick::Subs(subs) => {
                            subs.insert(sub.name.clone());
                        }
                    },
                }
            }
        }
        projection
    }

    /// Whether the projection changes nothing.
    pub fn is_identity(&self) -> bool {
        self.include.is_empty()
            && self.include_extensions.is_empty()
            && self.exclude.is_empty()
            && self.exclude_extensions.is_empty()
    }

    /// The resource as the client asked to see it.
    pub fn apply(&self, resource: &Value) -> Value {
        let Value::Object(members) = resource else {
            return resource.clone();
        };
        if self.is_identity() {
            return resource.clone();
        }
        let mut out = if self.include.is_empty() && self.include_extensions.is_empty() {
            members.clone()
        } else {
            let mut out = Map::new();
            for (key, value) in members {
                let place = (None, key.clone());
                if key == "schemas"
                    || self.always.contains(&place)
                    || self.include_extensions.contains(key)
                {
                    out.insert(key.clone(), value.clone());
                } else if let Some(pick) = self.include.get(&place) {
                    out.insert(key.clone(), keep(pick, value));
                }
            }
            for ((urn, name), pick) in &self.include {
                let Some(urn) = urn else {
                    continue;
                };
                if self.include_extensions.contains(urn) {
                    continue;
                }
                let Some(value) = members
                    .get(urn)
                    .and_then(Value::as_object)
                    .and_then(|container| container.get(name))
                else {
                    continue;
                };
                if let Value::Object(container) = out
                    .entry(urn.clone())
                    .or_insert_with(|| Value::Object(Map::new()))
                {
                    container.insert(name.clone(), keep(pick, value));
                }
            }
            out
        };
        for urn in &self.exclude_extensions {
            out.remove(urn);
        }
        for (place, pick) in &self.exclude {
            if self.always.contains(place) || place.1 == "schemas" {
                continue;
            }
            let container = match &place.0 {
                Some(urn) => match out.get_mut(urn) {
                    Some(Value::Object(container)) => container,
                    _ => continue,
                },
                None => &mut out,
            };
            match pick {
                Pick::Whole => {
                    container.remove(&place.1);
                }
                Pick::Subs(subs) => {
                    if let Some(value) = container.get_mut(&place.1) {
                        drop_subs(value, subs);
                    }
                }
            }
        }
        // An extension left with nothing is left out.
        out.retain(|key, value| {
            !(starts_with_urn(key) && value.as_object().is_some_and(Map::is_empty))
        });
        Value::Object(out)
    }
}

fn keep(pick: &Pick, value: &Value) -> Value {
    let Pick::Subs(subs) = pick else {
        return value.clone();
    };
    let keep_one = |item: &Value| match item {
        Value::Object(members) => Value::Object(
            members
                .iter()
                .filter(|(key, _)| subs.contains(*key))
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect(),
        ),
        other => other.clone(),
    };
    match value {
        Value::Array(items) => Value::Array(items.iter().map(keep_one).collect()),
        other => keep_one(other),
    }
}

fn drop_subs(value: &mut Value, subs: &BTreeSet<String>) {
    match value {
        Value::Array(items) => {
            for item in items {
                drop_subs(item, subs);
            }
        }
        Value::Object(members) => members.retain(|key, _| !subs.contains(key)),
        _ => {}
    }
}

/// `sortBy` resolved: the attribute a list is ordered by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Sort {
    target: Target,
    order: SortOrder,
}

impl Sort {
    /// Resolves `sortBy`; an attribute no schema knows, or a complex one without a `value`,
    /// is `invalidValue`.
    pub fn new(
        set: &SchemaSet,
        kind: ResourceKind,
        sort_by: &str,
        order: SortOrder,
    ) -> Result<Sort, ScimError> {
        let unknown = || {
            ScimError::invalid_value(format!(
                "cannot sort by {}: not a sortable attribute of a {}",
                quote(sort_by),
                kind.name()
            ))
        };
        let resolved = AttrPath::parse(sort_by.trim())
            .and_then(|path| resolve(set, kind, &path))
            .ok_or_else(unknown)?;
        let mut target = Target::from_resolved(&resolved);
        if target.ty == AttrType::Complex {
            let value = resolved.attr.sub("value").ok_or_else(unknown)?;
            target.sub = Some(value.name.clone());
            target.ty = value.ty;
            target.case_exact = value.case_exact;
        }
        Ok(Sort { target, order })
    }

    /// The attribute sorted by.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The value a resource sorts by: for a multi-valued attribute, that of its primary
    /// value, else of its first (RFC 7644 §3.4.2.3).
    pub fn key(&self, resource: &Map<String, Value>) -> Option<Value> {
        if let (true, Some(Value::Array(items))) =
            (self.target.multi_valued, self.target.top(resource))
        {
            let primary = items
                .iter()
                .find(|item| item.get("primary") == Some(&Value::Bool(true)));
            let chosen = primary.or_else(|| items.first())?;
            return match &self.target.sub {
                Some(sub) => chosen.get(sub).cloned(),
                None => Some(chosen.clone()),
            };
        }
        self.target
            .values(resource)
            .first()
            .map(|value| (*value).clone())
    }

    /// Orders two keys; a resource without a value comes last ascending, first descending.
    pub fn compare(&self, left: Option<&Value>, right: Option<&Value>) -> Ordering {
        let ordering = match (left, right) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(left), Some(right)) => self.compare_values(left, right),
        };
        match self.order {
            SortOrder::Ascending => ordering,
            SortOrder::Descending => ordering.reverse(),
        }
    }

    fn compare_values(&self, left: &Value, right: &Value) -> Ordering {
        match (left, right) {
            (Value::String(left), Value::String(right)) => {
                if self.target.ty == AttrType::DateTime {
                    let time = |text: &str| text.trim().parse::<jiff::Timestamp>().ok();
                    if let (Some(left), Some(right)) = (time(left), time(right)) {
                        return left.cmp(&right);
                    }
                }
                fold(left, self.target.case_exact).cmp(&fold(right, self.target.case_exact))
            }
            (Value::Number(left), Value::Number(right)) => {
                compare_numbers(left, right).unwrap_or(Ordering::Equal)
            }
            (Value::Bool(left), Value::Bool(right)) => left.cmp(right),
            _ => Ordering::Equal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::{ENTERPRISE_URN, USER_URN};

    fn user() -> Value {
        json!({
            "schemas": [USER_URN, ENTERPRISE_URN],
            "id": "u1",
            "userName": "bjensen",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [{"value": "a@x", "type": "work"}, {"value": "b@x", "type": "home"}],
            "meta": {"resourceType": "User"},
            ENTERPRISE_URN: {"department": "Tours", "employeeNumber": "7"},
        })
    }

    fn project(attributes: &[&str], excluded: &[&str]) -> Value {
        let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        Projection::new(
            &SchemaSet::default(),
            ResourceKind::User,
            &names(attributes),
            &names(excluded),
        )
        .apply(&user())
    }

    #[test]
    fn attributes_keep_id_and_schemas() {
        assert_eq!(
            project(&["userName", "name.givenName", "EMAILS.value"], &[]),
            json!({
                "schemas": [USER_URN, ENTERPRISE_URN],
                "id": "u1",
                "userName": "bjensen",
                "name": {"givenName": "Barbara"},
                "emails": [{"value": "a@x"}, {"value": "b@x"}],
            })
        );
        assert_eq!(
            project(&["department"], &[]),
            json!({"schemas": [USER_URN, ENTERPRISE_URN], "id": "u1", ENTERPRISE_URN: {"department": "Tours"}})
        );
        assert_eq!(
            project(&[ENTERPRISE_URN], &[])[ENTERPRISE_URN],
            json!({"department": "Tours", "employeeNumber": "7"})
        );
        assert_eq!(project(&["nope"], &["nope.x"]), user());
    }

    #[test]
    fn excluded_attributes_never_drop_id() {
        let out = project(
            &[],
            &[
                "id",
                "emails",
                "name.familyName",
                &format!("{ENTERPRISE_URN}:department"),
            ],
        );
        assert_eq!(out["id"], json!("u1"));
        assert!(out.get("emails").is_none());
        assert_eq!(out["name"], json!({"givenName": "Barbara"}));
        assert_eq!(out[ENTERPRISE_URN], json!({"employeeNumber": "7"}));
        let out = project(&[], &[ENTERPRISE_URN]);
        assert!(out.get(ENTERPRISE_URN).is_none());
        let out = project(
            &[],
            &[
                &format!("{ENTERPRISE_URN}:department"),
                &format!("{ENTERPRISE_URN}:employeeNumber"),
            ],
        );
        assert!(out.get(ENTERPRISE_URN).is_none());
    }

    #[test]
    fn query_parameters() {
        let query = ListQuery::from_params([
            ("filter", "userName eq \"x\""),
            ("StartIndex", "0"),
            ("count", "-5"),
            ("attributes", "userName, emails"),
            ("sortBy", "userName"),
            ("sortOrder", "Descending"),
            ("other", "ignored"),
        ])
        .unwrap();
        assert_eq!(query.filter.as_deref(), Some("userName eq \"x\""));
        assert_eq!(query.attributes, ["userName", "emails"]);
        assert_eq!(query.sort_order, Some(SortOrder::Descending));
        assert_eq!(query.page(200), (1, 0));
        assert!(ListQuery::from_params([("count", "ten")]).is_err());
        assert!(ListQuery::from_params([("sortOrder", "up")]).is_err());
        let huge = ListQuery::from_params([
            ("startIndex", "99999999999999999999999"),
            ("count", "99999999999"),
        ])
        .unwrap();
        assert_eq!(huge.page(200), (i64::MAX as usize, 200));
    }

    #[test]
    fn paging_math() {
        let page = |start: Option<i64>, count: Option<i64>| {
            ListQuery {
                start_index: start,
                count,
                ..ListQuery::default()
            }
            .page(200)
        };
        assert_eq!(page(None, None), (1, 200));
        assert_eq!(page(Some(-3), Some(10)), (1, 10));
        assert_eq!(page(Some(11), Some(10)), (11, 10));
        assert_eq!(page(Some(1), Some(0)), (1, 0));
        assert_eq!(page(Some(1), Some(1000)), (1, 200));
        assert_eq!(
            list_response(3, 2, vec![json!({})])["itemsPerPage"],
            json!(1)
        );
    }

    #[test]
    fn search_request_bodies() {
        let query = ListQuery::from_search_request(&json!({
            "schemas": [SEARCH_REQUEST_URN],
            "attributes": ["displayName", "userName"],
            "excludedAttributes": ["emails"],
            "filter": "displayName sw \"smith\"",
            "startIndex": 1,
            "count": 10,
            "sortOrder": "ascending",
        }))
        .unwrap();
        assert_eq!(query.attributes, ["displayName", "userName"]);
        assert_eq!(query.excluded_attributes, ["emails"]);
        assert_eq!(query.count, Some(10));
        assert!(ListQuery::from_search_request(&json!({"filter": "x pr"})).is_err());
        assert!(
            ListQuery::from_search_request(&json!({"schemas": [SEARCH_REQUEST_URN], "count": "x"}))
                .is_err()
        );
    }

    #[test]
    fn sort_keys() {
        let set = SchemaSet::default();
        let sort = Sort::new(&set, ResourceKind::User, "emails", SortOrder::Ascending).unwrap();
        let mut user = user();
        assert_eq!(sort.key(user.as_object().unwrap()), Some(json!("a@x")));
        user["emails"][1]["primary"] = json!(true);
        assert_eq!(sort.key(user.as_object().unwrap()), Some(json!("b@x")));
        let by_name =
            Sort::new(&set, ResourceKind::User, "userName", SortOrder::Descending).unwrap();
        assert_eq!(
            by_name.compare(Some(&json!("a")), Some(&json!("B"))),
            Ordering::Greater
        );
        assert_eq!(by_name.compare(None, Some(&json!("B"))), Ordering::Less);
        assert!(Sort::new(&set, ResourceKind::User, "name", SortOrder::Ascending).is_err());
        assert!(Sort::new(&set, ResourceKind::User, "nope", SortOrder::Ascending).is_err());
    }
}
