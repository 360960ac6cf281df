//! The in-memory service provider: Users and Groups, their indexes and group membership,
//! and every SCIM operation as a method. The caller assigns ids and reads the clock; each
//! change returns the rows to persist and the users whose directory state changed.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use seam_model::{DirectoryDelta, Ts};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::discovery::{self, Capabilities};
use super::error::{ScimError, quote};
use super::filter::{CompareOp, Compiled, Filter, Operand, Scope, fold};
use super::list::{ListQuery, Projection, Sort, list_response};
use super::mapping::{MappingError, ScimMapping, map_deleted_user, map_user_resolving};
use super::patch::{self, Context, MAX_OPERATIONS, PatchRequest};
use super::path::Target;
use super::resource::{Mode, check_immutable, normalize};
use super::schema::{ExtensionConfig, ResourceKind, SchemaError, SchemaSet};

/// How the provider is set up; deserializable from the deployment's configuration.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// The service root as clients reach it, such as `https://seam.example.com/scim/v2`:
    /// `meta.location` and `$ref` values start with it.
    pub base_url: String,
    /// The largest page (`filter.maxResults`); 200 unless set.
    #[serde(default = "default_max_results")]
    pub max_results: usize,
    /// Whether two groups may not share a `displayName` (409); RFC 7643 does not require it.
    #[serde(default)]
    pub unique_group_names: bool,
    /// The most operations in one PATCH request; 1,000 unless set.
    #[serde(default = "default_max_operations")]
    pub max_patch_operations: usize,
    #[serde(default)]
    pub documentation_uri: Option<String>,
    /// The deployment's own extension schemas.
    #[serde(default)]
    pub extensions: Vec<ExtensionConfig>,
}

fn default_max_results() -> usize {
    200
}

fn default_max_operations() -> usize {
    MAX_OPERATIONS
}

impl ProviderConfig {
    /// The defaults, served at `base_url`.
    pub fn new(base_url: impl Into<String>) -> ProviderConfig {
        ProviderConfig {
            base_url: base_url.into(),
            max_results: default_max_results(),
            unique_group_names: false,
            max_patch_operations: default_max_operations(),
            documentation_uri: None,
            extensions: Vec::new(),
        }
    }
}

/// An `If-Match` header (RFC 7232 §3.1, as RFC 7644 §3.14 uses it): `*` or a list of
/// entity tags. Tags compare by their opaque part: this service's tags are all weak.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IfMatch {
    Any,
    Tags(Vec<String>),
}

impl IfMatch {
    pub fn parse(header: &str) -> IfMatch {
        if header.trim() == "*" {
            return IfMatch::Any;
        }
        IfMatch::Tags(
            header
                .split(',')
                .map(opaque_tag)
                .filter(|tag| !tag.is_empty())
                .map(str::to_string)
                .collect(),
        )
    }

    /// Whether the header names `etag` (`W/"…"` or bare); for `If-None-Match` too.
    pub fn matches(&self, etag: &str) -> bool {
        match self {
            IfMatch::Any => true,
            IfMatch::Tags(tags) => tags.iter().any(|tag| tag == opaque_tag(etag)),
        }
    }
}

fn opaque_tag(tag: &str) -> &str {
    let tag = tag.trim();
    let tag = tag.strip_prefix("W/").unwrap_or(tag);
    tag.trim_matches('"')
}

/// A row to write to, or delete from, persistence.
#[derive(Clone, Debug, PartialEq)]
pub enum Write {
    /// The resource's stored form (no derived attributes); [`Provider::load`] reads it back.
    Put {
        kind: ResourceKind,
        id: String,
        row: Value,
    },
    Delete {
        kind: ResourceKind,
        id: String,
    },
}

/// What a mutating call did.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub kind: ResourceKind,
    pub id: String,
    /// The resource as the response shows it (before any projection); `None` after a delete.
    pub resource: Option<Value>,
    /// Its `ETag` header value, `W/"<version>"`.
    pub etag: Option<String>,
    /// Rows to persist, in order; empty when nothing changed.
    pub writes: Vec<Write>,
    /// Users whose directory state changed: their own attributes, or their groups (a group
    /// created, renamed, deleted, or its members changed). Sorted.
    pub users_changed: Vec<String>,
    /// Users deleted, in their last stored form, for [`super::mapping::map_deleted_user`].
    pub users_deleted: Vec<Value>,
}

/// The resources of one type and their indexes.
#[derive(Clone, Debug, Default)]
struct Store {
    entries: BTreeMap<String, Entry>,
    /// Creation order: listing order, stable under paging.
    order: BTreeMap<u64, String>,
    next_seq: u64,
    /// `userName` or `displayName`, folded to lower case.
    by_name: BTreeMap<String, BTreeSet<String>>,
    by_external_id: BTreeMap<String, BTreeSet<String>>,
}

#[derive(Clone, Debug)]
struct Entry {
    seq: u64,
    created: Ts,
    /// The stored form: the canonical resource with `id` and `meta` (`resourceType`,
    /// `created`, `lastModified`).
    row: Map<String, Value>,
}

impl Store {
    fn name_key(kind: ResourceKind) -> &'static str {
        match kind {
            ResourceKind::User => "userName",
            ResourceKind::Group => "displayName",
        }
    }

    fn insert(&mut self, kind: ResourceKind, id: &str, created: Ts, row: Map<String, Value>) {
        let seq = match self.entries.get(id) {
            Some(entry) => entry.seq,
            None => {
                self.next_seq += 1;
                self.order.insert(self.next_seq, id.to_string());
                self.next_seq
            }
        };
        self.unindex(kind, id);
        index(&mut self.by_name, name_of(kind, &row), id);
        index(
            &mut self.by_external_id,
            row.get("externalId")
                .and_then(Value::as_str)
                .map(str::to_string),
            id,
        );
        self.entries
            .insert(id.to_string(), Entry { seq, created, row });
    }

    fn remove(&mut self, kind: ResourceKind, id: &str) -> Option<Entry> {
        self.unindex(kind, id);
        let entry = self.entries.remove(id)?;
        self.order.remove(&entry.seq);
        Some(entry)
    }

    fn unindex(&mut self, kind: ResourceKind, id: &str) {
        let Some(entry) = self.entries.get(id) else {
            return;
        };
        unindex(&mut self.by_name, name_of(kind, &entry.row), id);
        unindex(
            &mut self.by_external_id,
            entry
                .row
                .get("externalId")
                .and_then(Value::as_str)
                .map(str::to_string),
            id,
        );
    }
}

fn name_of(kind: ResourceKind, row: &Map<String, Value>) -> Option<String> {
    row.get(Store::name_key(kind))
        .and_then(Value::as_str)
        .map(|name| fold(name, false).into_owned())
}

fn index(map: &mut BTreeMap<String, BTreeSet<String>>, key: Option<String>, id: &str) {
    if let Some(key) = key {
        map.entry(key).or_default().insert(id.to_string());
    }
}

fn unindex(map: &mut BTreeMap<String, BTreeSet<String>>, key: Option<String>, id: &str) {
    if let Some(key) = key
        && let Some(ids) = map.get_mut(&key)
    {
        ids.remove(id);
        if ids.is_empty() {
            map.remove(&key);
        }
    }
}

/// A SCIM service provider's state and operations, with no I/O and no clock.
#[derive(Clone, Debug)]
pub struct Provider {
    config: ProviderConfig,
    set: SchemaSet,
    users: Store,
    groups: Store,
    /// Member id (user or group) → the groups it is a direct member of.
    member_of: BTreeMap<String, BTreeSet<String>>,
}

impl Provider {
    /// An empty provider; a configured extension that is not valid is refused.
    pub fn new(mut config: ProviderConfig) -> Result<Provider, SchemaError> {
        let set = SchemaSet::new(&config.extensions)?;
        config.base_url = config.base_url.trim().trim_end_matches('/').to_string();
        config.max_results = config.max_results.max(1);
        config.max_patch_operations = config.max_patch_operations.max(1);
        Ok(Provider {
            config,
            set,
            users: Store::default(),
            groups: Store::default(),
            member_of: BTreeMap::new(),
        })
    }

    pub fn config(&self) -> &ProviderConfig {
        &self.config
    }

    pub fn schema_set(&self) -> &SchemaSet {
        &self.set
    }

    fn store(&self, kind: ResourceKind) -> &Store {
        match kind {
            ResourceKind::User => &self.users,
            ResourceKind::Group => &self.groups,
        }
    }

    fn store_mut(&mut self, kind: ResourceKind) -> &mut Store {
        match kind {
            ResourceKind::User => &mut self.users,
            ResourceKind::Group => &mut self.groups,
        }
    }

    /// How many resources of a type there are.
    pub fn len(&self, kind: ResourceKind) -> usize {
        self.store(kind).entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.users.entries.is_empty() && self.groups.entries.is_empty()
    }

    // --- Discovery -----------------------------------------------------------------------

    fn capabilities(&self) -> Capabilities<'_> {
        Capabilities {
            base_url: &self.config.base_url,
            max_results: self.config.max_results,
            documentation_uri: self.config.documentation_uri.as_deref(),
        }
    }

    /// `GET /ServiceProviderConfig`.
    pub fn service_provider_config(&self) -> Value {
        discovery::service_provider_config(&self.capabilities())
    }

    /// `GET /ResourceTypes`.
    pub fn resource_types(&self) -> Value {
        discovery::resource_types(&self.set, &self.config.base_url)
    }

    /// `GET /ResourceTypes/<name>`.
    pub fn resource_type(&self, name: &str) -> Result<Value, ScimError> {
        discovery::resource_type(&self.set, &self.config.base_url, name)
    }

    /// `GET /Schemas`.
    pub fn schemas(&self) -> Value {
        discovery::schemas(&self.set, &self.config.base_url)
    }

    /// `GET /Schemas/<urn>`.
    pub fn schema(&self, urn: &str) -> Result<Value, ScimError> {
        discovery::schema(&self.set, &self.config.base_url, urn)
    }

    // --- Reading -------------------------------------------------------------------------

    /// `GET /Users/<id>` or `/Groups/<id>`: the resource with its derived attributes and
    /// `meta.version`; 404 if there is none.
    pub fn get(&self, kind: ResourceKind, id: &str) -> Result<Value, ScimError> {
        self.render(kind, id).ok_or_else(|| not_found(kind, id))
    }

    /// The `attributes`/`excludedAttributes` projection for a single-resource response.
    pub fn projection(
        &self,
        kind: ResourceKind,
        attributes: &[String],
        excluded_attributes: &[String],
    ) -> Projection {
        Projection::new(&self.set, kind, attributes, excluded_attributes)
    }

    /// `GET /Users?…`, `GET /Groups?…` or `POST /…/.search`: a ListResponse.
    pub fn list(&self, kind: ResourceKind, query: &ListQuery) -> Result<Value, ScimError> {
        let filter = match &query.filter {
            Some(text) => Some(Compiled::new(
                &Filter::parse(text)?,
                Scope::Resource {
                    set: &self.set,
                    kind,
                    lenient: false,
                },
            )?),
            None => None,
        };
        let sort = match &query.sort_by {
            Some(sort_by) => Some(Sort::new(
                &self.set,
                kind,
                sort_by,
                query.sort_order.unwrap_or_default(),
            )?),
            None => None,
        };
        let projection = Projection::new(
            &self.set,
            kind,
            &query.attributes,
            &query.excluded_attributes,
        );
        let (start, count) = query.page(self.config.max_results);
        let store = self.store(kind);
        let candidates: Vec<&str> =
            match filter.as_ref().and_then(|filter| self.lookup(kind, filter)) {
                Some(ids) => {
                    let mut found: Vec<(u64, &str)> = ids
                        .iter()
                        .filter_map(|id| {
                            let (id, entry) = store.entries.get_key_value(id.as_str())?;
                            Some((entry.seq, id.as_str()))
                        })
                        .collect();
                    found.sort_unstable();
                    found.into_iter().map(|(_, id)| id).collect()
                }
                None => store.order.values().map(String::as_str).collect(),
            };
        let derived = |target: &Target| derived(kind, target);
        // The stored row when it holds what is read, else the returned form (a copy).
        let view = |id: &str, render: bool| -> Option<Cow<'_, Map<String, Value>>> {
            if render {
                match self.render(kind, id)? {
                    Value::Object(resource) => Some(Cow::Owned(resource)),
                    _ => None,
                }
            } else {
                store.entries.get(id).map(|entry| Cow::Borrowed(&entry.row))
            }
        };
        let mut matching: Vec<&str> = match &filter {
            None => candidates,
            Some(filter) => {
                let render = filter.reads(&derived);
                candidates
                    .into_iter()
                    .filter(|id| view(id, render).is_some_and(|resource| filter.matches(&resource)))
                    .collect()
            }
        };
        if let Some(sort) = &sort {
            let render = derived(sort.target());
            let mut keyed: Vec<(Option<Value>, &str)> = matching
                .into_iter()
                .map(|id| {
                    (
                        view(id, render).and_then(|resource| sort.key(&resource)),
                        id,
                    )
                })
                .collect();
            // Stable: equal keys keep creation order.
            keyed.sort_by(|left, right| sort.compare(left.0.as_ref(), right.0.as_ref()));
            matching = keyed.into_iter().map(|(_, id)| id).collect();
        }
        let total = matching.len();
        let page: Vec<Value> = matching
            .into_iter()
            .skip(start.saturating_sub(1))
            .take(count)
            .filter_map(|id| self.render(kind, id))
            .map(|resource| projection.apply(&resource))
            .collect();
        Ok(list_response(total, start, page))
    }

    /// The ids an indexed equality narrows a filter to (`userName`/`displayName`,
    /// `externalId`, `id`), or `None` when every resource must be looked at.
    fn lookup(&self, kind: ResourceKind, filter: &Compiled) -> Option<BTreeSet<String>> {
        match filter {
            Compiled::Compare {
                target,
                op: CompareOp::Eq,
                operand: Operand::Text(text),
            } if target.urn.is_none() && target.sub.is_none() => {
                let store = self.store(kind);
                let ids = match target.name.as_str() {
                    "id" => store
                        .entries
                        .contains_key(text)
                        .then(|| BTreeSet::from([text.clone()])),
                    "externalId" => store.by_external_id.get(text).cloned(),
                    name if name == Store::name_key(kind) => store.by_name.get(text).cloned(),
                    _ => return None,
                };
                Some(ids.unwrap_or_default())
            }
            Compiled::And(left, right) => {
                self.lookup(kind, left).or_else(|| self.lookup(kind, right))
            }
            Compiled::Or(left, right) => {
                let mut ids = self.lookup(kind, left)?;
                ids.extend(self.lookup(kind, right)?);
                Some(ids)
            }
            _ => None,
        }
    }

    /// The resource as returned: the stored form with `meta.location`, `meta.version`,
    /// a user's `groups` and a group's members' `display`, `$ref` and `type`.
    fn render(&self, kind: ResourceKind, id: &str) -> Option<Value> {
        let entry = self.store(kind).entries.get(id)?;
        let mut resource = entry.row.clone();
        let base = &self.config.base_url;
        match kind {
            ResourceKind::User => {
                let groups: Vec<Value> = self
                    .member_of
                    .get(id)
                    .into_iter()
                    .flatten()
                    .filter_map(|group_id| {
                        let group = self.groups.entries.get(group_id)?;
                        let mut value = Map::new();
                        value.insert("value".into(), json!(group_id));
                        value.insert("$ref".into(), json!(format!("{base}/Groups/{group_id}")));
                        if let Some(name) = group.row.get("displayName") {
                            value.insert("display".into(), name.clone());
                        }
                        value.insert("type".into(), json!("direct"));
                        Some(Value::Object(value))
                    })
                    .collect();
                if !groups.is_empty() {
                    resource.insert("groups".into(), Value::Array(groups));
                }
            }
            ResourceKind::Group => {
                if let Some(Value::Array(members)) = resource.get_mut("members") {
                    for member in members.iter_mut() {
                        self.describe_member(member);
                    }
                }
            }
        }
        if let Some(Value::Object(meta)) = resource.get_mut("meta") {
            meta.insert(
                "location".into(),
                json!(format!("{base}{}/{id}", kind.endpoint())),
            );
        }
        let version = digest(&Value::Object(resource.clone()));
        if let Some(Value::Object(meta)) = resource.get_mut("meta") {
            meta.insert("version".into(), json!(format!("W/\"{version}\"")));
        }
        Some(Value::Object(resource))
    }

    fn describe_member(&self, member: &mut Value) {
        let Value::Object(member) = member else {
            return;
        };
        let Some(id) = member
            .get("value")
            .and_then(Value::as_str)
            .map(str::to_string)
        else {
            return;
        };
        let base = &self.config.base_url;
        // A display the client gave is kept as given; none is made up: clients compare what
        // they sent with what comes back.
        let endpoint = if self.users.entries.contains_key(&id) {
            "Users"
        } else if self.groups.entries.contains_key(&id) {
            "Groups"
        } else {
            return;
        };
        member.insert("$ref".into(), json!(format!("{base}/{endpoint}/{id}")));
    }

    // --- Writing -------------------------------------------------------------------------

    /// `POST /Users` or `/Groups`: creates the resource under `id` (which the caller
    /// generated) at `now`.
    pub fn create(
        &mut self,
        kind: ResourceKind,
        body: &Value,
        id: &str,
        now: Ts,
    ) -> Result<Change, ScimError> {
        if id.trim().is_empty() {
            return Err(ScimError::new(
                500,
                None,
                "the service assigned an empty id",
            ));
        }
        if self.users.entries.contains_key(id) || self.groups.entries.contains_key(id) {
            return Err(ScimError::uniqueness(format!(
                "id {} is already taken",
                quote(id)
            )));
        }
        let mut doc = normalize(&self.set, kind, body, Mode::Write)?;
        self.check_unique(kind, &doc, None)?;
        if kind == ResourceKind::Group {
            self.canonical_members(&mut doc, id)?;
        }
        let row = with_meta(doc, kind, id, now, now);
        let members = member_ids(&row);
        self.store_mut(kind).insert(kind, id, now, row.clone());
        self.add_memberships(id, &members);
        let users_changed = match kind {
            ResourceKind::User => vec![id.to_string()],
            ResourceKind::Group => self.users_among(members.iter()),
        };
        Ok(self.change(
            kind,
            id,
            vec![Write::Put {
                kind,
                id: id.to_string(),
                row: Value::Object(row),
            }],
            users_changed,
            Vec::new(),
        ))
    }

    /// `PUT`: replaces the resource's attributes with `body`'s (read-only ones ignored;
    /// `id` and `meta.created` kept).
    pub fn replace(
        &mut self,
        kind: ResourceKind,
        id: &str,
        body: &Value,
        if_match: Option<&IfMatch>,
        now: Ts,
    ) -> Result<Change, ScimError> {
        self.check_version(kind, id, if_match)?;
        let doc = normalize(&self.set, kind, body, Mode::Write)?;
        self.commit(kind, id, doc, now)
    }

    /// `PATCH`: applies the operations to a copy, checks the result against the schemas and
    /// keeps it only if everything succeeded.
    pub fn patch(
        &mut self,
        kind: ResourceKind,
        id: &str,
        body: &Value,
        if_match: Option<&IfMatch>,
        now: Ts,
    ) -> Result<Change, ScimError> {
        let request = PatchRequest::parse(body, self.config.max_patch_operations)?;
        let current = self.check_version(kind, id, if_match)?;
        let Value::Object(mut doc) = current else {
            return Err(not_found(kind, id));
        };
        for key in ["id", "meta", "schemas"] {
            doc.remove(key);
        }
        let context = Context {
            set: &self.set,
            kind,
            id,
        };
        patch::apply(&request, &mut doc, &context)?;
        let doc = normalize(&self.set, kind, &Value::Object(doc), Mode::Patched)?;
        self.commit(kind, id, doc, now)
    }

    /// `DELETE`: removes the resource, and a removed user or group from every group it was
    /// a member of (those groups' rows are written again).
    pub fn delete(
        &mut self,
        kind: ResourceKind,
        id: &str,
        if_match: Option<&IfMatch>,
        now: Ts,
    ) -> Result<Change, ScimError> {
        self.check_version(kind, id, if_match)?;
        let entry = self
            .store_mut(kind)
            .remove(kind, id)
            .ok_or_else(|| not_found(kind, id))?;
        let mut writes = vec![Write::Delete {
            kind,
            id: id.to_string(),
        }];
        for group_id in self.member_of.remove(id).unwrap_or_default() {
            let Some(group) = self.groups.entries.get(&group_id) else {
                continue;
            };
            let mut row = group.row.clone();
            let created = group.created;
            if let Some(Value::Array(members)) = row.get_mut("members") {
                members.retain(|member| member.get("value").and_then(Value::as_str) != Some(id));
                if members.is_empty() {
                    row.remove("members");
                }
            }
            touch(&mut row, created, now);
            self.groups
                .insert(ResourceKind::Group, &group_id, created, row.clone());
            writes.push(Write::Put {
                kind: ResourceKind::Group,
                id: group_id,
                row: Value::Object(row),
            });
        }
        let members = member_ids(&entry.row);
        self.remove_memberships(id, &members);
        let (users_changed, users_deleted) = match kind {
            ResourceKind::User => (Vec::new(), vec![Value::Object(entry.row)]),
            ResourceKind::Group => (self.users_among(members.iter()), Vec::new()),
        };
        Ok(Change {
            kind,
            id: id.to_string(),
            resource: None,
            etag: None,
            writes,
            users_changed,
            users_deleted,
        })
    }

    /// The current resource, after checking `If-Match` against its version (412).
    fn check_version(
        &self,
        kind: ResourceKind,
        id: &str,
        if_match: Option<&IfMatch>,
    ) -> Result<Value, ScimError> {
        let current = self.get(kind, id)?;
        if let Some(if_match) = if_match {
            let etag = etag_of(&current).unwrap_or_default();
            if !if_match.matches(&etag) {
                return Err(ScimError::precondition_failed(format!(
                    "the {} {} has changed: its version is now {etag}",
                    kind.name(),
                    quote(id)
                )));
            }
        }
        Ok(current)
    }

    /// Stores a checked new form of an existing resource.
    fn commit(
        &mut self,
        kind: ResourceKind,
        id: &str,
        mut doc: Map<String, Value>,
        now: Ts,
    ) -> Result<Change, ScimError> {
        let entry = self
            .store(kind)
            .entries
            .get(id)
            .ok_or_else(|| not_found(kind, id))?;
        let created = entry.created;
        let mut old = entry.row.clone();
        let old_row = old.clone();
        old.remove("id");
        old.remove("meta");
        check_immutable(&self.set, kind, &old, &doc)?;
        self.check_unique(kind, &doc, Some(id))?;
        if kind == ResourceKind::Group {
            self.canonical_members(&mut doc, id)?;
        }
        if doc == old {
            return Ok(self.change(kind, id, Vec::new(), Vec::new(), Vec::new()));
        }
        let row = with_meta(doc, kind, id, created, now);
        let old_members = member_ids(&old_row);
        let new_members = member_ids(&row);
        self.store_mut(kind).insert(kind, id, created, row.clone());
        self.remove_memberships(id, &old_members.difference(&new_members).cloned().collect());
        self.add_memberships(id, &new_members);
        let users_changed = match kind {
            ResourceKind::User => vec![id.to_string()],
            ResourceKind::Group => {
                let renamed = ["displayName", "externalId"]
                    .iter()
                    .any(|key| old_row.get(*key) != row.get(*key));
                if renamed {
                    self.users_among(old_members.union(&new_members))
                } else {
                    self.users_among(old_members.symmetric_difference(&new_members))
                }
            }
        };
        Ok(self.change(
            kind,
            id,
            vec![Write::Put {
                kind,
                id: id.to_string(),
                row: Value::Object(row),
            }],
            users_changed,
            Vec::new(),
        ))
    }

    fn change(
        &self,
        kind: ResourceKind,
        id: &str,
        writes: Vec<Write>,
        users_changed: Vec<String>,
        users_deleted: Vec<Value>,
    ) -> Change {
        let resource = self.render(kind, id);
        let etag = resource.as_ref().and_then(etag_of);
        Change {
            kind,
            id: id.to_string(),
            resource,
            etag,
            writes,
            users_changed,
            users_deleted,
        }
    }

    /// 409 when another user holds the `userName` (case-insensitively), or another group
    /// the `displayName` if configured so.
    fn check_unique(
        &self,
        kind: ResourceKind,
        doc: &Map<String, Value>,
        except: Option<&str>,
    ) -> Result<(), ScimError> {
        if kind == ResourceKind::Group && !self.config.unique_group_names {
            return Ok(());
        }
        let Some(key) = name_of(kind, doc) else {
            return Ok(());
        };
        let taken = self
            .store(kind)
            .by_name
            .get(&key)
            .is_some_and(|ids| ids.iter().any(|other| Some(other.as_str()) != except));
        if taken {
            let name = doc
                .get(Store::name_key(kind))
                .and_then(Value::as_str)
                .unwrap_or_default();
            return Err(ScimError::uniqueness(format!(
                "{} {} is already taken",
                Store::name_key(kind),
                quote(name)
            )));
        }
        Ok(())
    }

    /// A group's members as stored: `{value, type}` once per id, `type` from the member
    /// resource when it exists. `display` and `$ref` are derived when returned.
    fn canonical_members(
        &self,
        doc: &mut Map<String, Value>,
        group_id: &str,
    ) -> Result<(), ScimError> {
        let Some(Value::Array(items)) = doc.remove("members") else {
            return Ok(());
        };
        let mut seen = BTreeSet::new();
        let mut members = Vec::new();
        for item in items {
            let Some(id) = item.get("value").and_then(Value::as_str) else {
                return Err(ScimError::invalid_value(
                    "each member needs a `value`: the member's id",
                ));
            };
            if id == group_id {
                return Err(ScimError::invalid_value(
                    "a group cannot be a member of itself",
                ));
            }
            if !seen.insert(id.to_string()) {
                continue;
            }
            let given = item.get("type").and_then(Value::as_str).and_then(|ty| {
                ["User", "Group"]
                    .into_iter()
                    .find(|known| known.eq_ignore_ascii_case(ty))
            });
            let ty = if self.users.entries.contains_key(id) {
                Some("User")
            } else if self.groups.entries.contains_key(id) {
                Some("Group")
            } else {
                given
            };
            let mut member = Map::new();
            member.insert("value".into(), json!(id));
            if let Some(ty) = ty {
                member.insert("type".into(), json!(ty));
            }
            if let Some(display) = item.get("display").filter(|d| d.is_string()) {
                member.insert("display".into(), display.clone());
            }
            members.push(Value::Object(member));
        }
        if !members.is_empty() {
            doc.insert("members".into(), Value::Array(members));
        }
        Ok(())
    }

    fn add_memberships(&mut self, group_id: &str, members: &BTreeSet<String>) {
        for member in members {
            self.member_of
                .entry(member.clone())
                .or_default()
                .insert(group_id.to_string());
        }
    }

    fn remove_memberships(&mut self, group_id: &str, members: &BTreeSet<String>) {
        for member in members {
            if let Some(groups) = self.member_of.get_mut(member) {
                groups.remove(group_id);
                if groups.is_empty() {
                    self.member_of.remove(member);
                }
            }
        }
    }

    fn users_among<'a>(&self, ids: impl Iterator<Item = &'a String>) -> Vec<String> {
        let users: BTreeSet<String> = ids
            .filter(|id| self.users.entries.contains_key(id.as_str()))
            .cloned()
            .collect();
        users.into_iter().collect()
    }

    // --- Persistence ---------------------------------------------------------------------

    /// Replaces the provider's content with persisted rows (as [`Write::Put`] gave them, in
    /// any order). Each row is checked again; on any error nothing changes.
    pub fn load(&mut self, rows: Vec<Value>) -> Result<(), ScimError> {
        let mut read: Vec<(Ts, String, ResourceKind, Map<String, Value>)> = Vec::new();
        for row in rows {
            let id = row
                .get("id")
                .and_then(Value::as_str)
                .filter(|id| !id.trim().is_empty())
                .map(str::to_string)
                .ok_or_else(|| ScimError::invalid_value("a stored resource has no `id`"))?;
            let stored = |detail: &str| {
                ScimError::invalid_value(format!("stored resource {}: {detail}", quote(&id)))
            };
            let meta = row.get("meta").and_then(Value::as_object);
            let kind = meta
                .and_then(|meta| meta.get("resourceType"))
                .and_then(Value::as_str)
                .and_then(ResourceKind::from_name)
                .ok_or_else(|| stored("`meta.resourceType` must be User or Group"))?;
            let time = |key: &str| {
                meta.and_then(|meta| meta.get(key))
                    .and_then(Value::as_str)
                    .and_then(|text| Ts::parse(text).ok())
            };
            let created = time("created").ok_or_else(|| stored("`meta.created` is missing"))?;
            let modified = time("lastModified").unwrap_or(created);
            let doc = normalize(&self.set, kind, &row, Mode::Patched)
                .map_err(|error| stored(error.detail()))?;
            let row = with_meta(doc, kind, &id, created, modified);
            read.push((created, id, kind, row));
        }
        read.sort_by(|left, right| (left.0, &left.1).cmp(&(right.0, &right.1)));
        let mut fresh = Provider::new(self.config.clone())
            .map_err(|error| ScimError::new(500, None, error.to_string()))?;
        for (created, id, kind, row) in read {
            if fresh.users.entries.contains_key(&id) || fresh.groups.entries.contains_key(&id) {
                return Err(ScimError::invalid_value(format!(
                    "stored resource {} appears twice",
                    quote(&id)
                )));
            }
            let doc = strip_meta(&row);
            fresh.check_unique(kind, &doc, None).map_err(|error| {
                ScimError::invalid_value(format!(
                    "stored resource {}: {}",
                    quote(&id),
                    error.detail()
                ))
            })?;
            fresh.store_mut(kind).insert(kind, &id, created, row);
        }
        let group_ids: Vec<String> = fresh.groups.entries.keys().cloned().collect();
        for group_id in group_ids {
            let Some(entry) = fresh.groups.entries.get(&group_id) else {
                continue;
            };
            let mut row = entry.row.clone();
            let created = entry.created;
            fresh
                .canonical_members(&mut row, &group_id)
                .map_err(|error| {
                    ScimError::invalid_value(format!(
                        "stored resource {}: {}",
                        quote(&group_id),
                        error.detail()
                    ))
                })?;
            let members = member_ids(&row);
            fresh
                .groups
                .insert(ResourceKind::Group, &group_id, created, row);
            fresh.add_memberships(&group_id, &members);
        }
        *self = fresh;
        Ok(())
    }

    /// Every resource's stored form: users, then groups, each in creation order.
    pub fn export(&self) -> impl Iterator<Item = Value> + '_ {
        [&self.users, &self.groups].into_iter().flat_map(|store| {
            store
                .order
                .values()
                .filter_map(|id| store.entries.get(id))
                .map(|entry| Value::Object(entry.row.clone()))
        })
    }

    // --- The directory -------------------------------------------------------------------

    /// The stored forms of the groups a user is a direct member of.
    pub fn groups_of(&self, user_id: &str) -> Vec<Value> {
        self.member_of
            .get(user_id)
            .into_iter()
            .flatten()
            .filter_map(|group_id| self.groups.entries.get(group_id))
            .map(|entry| Value::Object(entry.row.clone()))
            .collect()
    }

    /// A user's stored form.
    pub fn user(&self, id: &str) -> Option<Value> {
        self.users
            .entries
            .get(id)
            .map(|entry| Value::Object(entry.row.clone()))
    }

    /// The directory changes a [`Change`] means: each changed user's whole state and each
    /// deleted user's termination. A manager named by SCIM id is given as that user's
    /// person id.
    pub fn deltas(
        &self,
        mapping: &ScimMapping,
        change: &Change,
    ) -> Result<Vec<DirectoryDelta>, MappingError> {
        let mut deltas = Vec::new();
        for id in &change.users_changed {
            if let Some(delta) = self.delta_for_user(mapping, id) {
                deltas.push(delta?);
            }
        }
        for user in &change.users_deleted {
            deltas.push(map_deleted_user(mapping, user)?);
        }
        Ok(deltas)
    }

    /// One user's whole directory state; `None` if there is no such user.
    pub fn delta_for_user(
        &self,
        mapping: &ScimMapping,
        id: &str,
    ) -> Option<Result<DirectoryDelta, MappingError>> {
        let user = self.user(id)?;
        let groups = self.groups_of(id);
        let groups: Vec<&Value> = groups.iter().collect();
        Some(map_user_resolving(mapping, &user, &groups, |manager| {
            let manager = self.user(manager)?;
            mapping.person_id(&manager).ok()
        }))
    }
}

fn strip_meta(row: &Map<String, Value>) -> Map<String, Value> {
    let mut doc = row.clone();
    doc.remove("id");
    doc.remove("meta");
    doc
}

fn not_found(kind: ResourceKind, id: &str) -> ScimError {
    ScimError::not_found(format!("no {} with id {}", kind.name(), quote(id)))
}

/// The resource's `ETag`: its `meta.version`.
pub fn etag_of(resource: &Value) -> Option<String> {
    resource
        .get("meta")?
        .get("version")?
        .as_str()
        .map(str::to_string)
}

/// Whether a filter or sort key reads what only the returned form holds.
fn derived(kind: ResourceKind, target: &Target) -> bool {
    if target.urn.is_some() {
        return false;
    }
    let sub = target.sub.as_deref();
    match target.name.as_str() {
        "groups" => kind == ResourceKind::User,
        "meta" => matches!(sub, None | Some("location" | "version")),
        "members" => matches!(sub, None | Some("display" | "$ref")),
        _ => false,
    }
}

fn with_meta(
    mut doc: Map<String, Value>,
    kind: ResourceKind,
    id: &str,
    created: Ts,
    modified: Ts,
) -> Map<String, Value> {
    doc.insert("id".into(), json!(id));
    doc.insert(
        "meta".into(),
        json!({
            "resourceType": kind.name(),
            "created": created.to_string(),
            "lastModified": modified.max(created).to_string(),
        }),
    );
    doc
}

fn touch(row: &mut Map<String, Value>, created: Ts, now: Ts) {
    if let Some(Value::Object(meta)) = row.get_mut("meta") {
        meta.insert("lastModified".into(), json!(now.max(created).to_string()));
    }
}

fn member_ids(row: &Map<String, Value>) -> BTreeSet<String> {
    row.get("members")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|member| member.get("value").and_then(Value::as_str))
        .map(str::to_string)
        .collect()
}

/// A version: FNV-1a over the resource's canonical form (members in key order), so the same
/// content has the same version in every process and release.
fn digest(value: &Value) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    feed(&mut hash, value);
    format!("{hash:016x}")
}

fn feed(hash: &mut u64, value: &Value) {
    match value {
        Value::Null => feed_bytes(hash, b"n"),
        Value::Bool(true) => feed_bytes(hash, b"t"),
        Value::Bool(false) => feed_bytes(hash, b"f"),
        Value::Number(number) => {
            feed_bytes(hash, b"#");
            feed_bytes(hash, number.to_string().as_bytes());
            feed_bytes(hash, b";");
        }
        Value::String(text) => {
            feed_bytes(hash, b"s");
            feed_bytes(hash, &(text.len() as u64).to_le_bytes());
            feed_bytes(hash, text.as_bytes());
        }
        Value::Array(items) => {
            feed_bytes(hash, b"[");
            for item in items {
                feed(hash, item);
            }
            feed_bytes(hash, b"]");
        }
        Value::Object(members) => {
            feed_bytes(hash, b"{");
            let mut keys: Vec<&String> = members.keys().collect();
            keys.sort();
            for key in keys {
                feed_bytes(hash, &(key.len() as u64).to_le_bytes());
                feed_bytes(hash, key.as_bytes());
                if let Some(member) = members.get(key) {
                    feed(hash, member);
                }
            }
            feed_bytes(hash, b"}");
        }
    }
}

fn feed_bytes(hash: &mut u64, bytes: &[u8]) {
    for byte in bytes {
        *hash ^= u64::from(*byte);
        *hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::ScimType;
    use crate::scim::patch::PATCH_URN;
    use crate::scim::schema::{ENTERPRISE_URN, GROUP_URN, USER_URN};
    use serde_json::json;

    const BASE: &str = "https://seam.test/scim/v2";

    fn at(second: i64) -> Ts {
        Ts::parse("2026-03-02T09:00:00Z")
            .unwrap()
            .plus_millis(second * 1000)
    }

    fn provider() -> Provider {
        Provider::new(ProviderConfig::new(format!("{BASE}/"))).unwrap()
    }

    fn user_body(user_name: &str) -> Value {
        json!({
            "schemas": [USER_URN, ENTERPRISE_URN],
            "userName": user_name,
            "externalId": format!("ext-{user_name}"),
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [{"value": format!("{user_name}@example.com"), "type": "work", "primary": true}],
            "password": "hunter2",
            "active": true,
            ENTERPRISE_URN: {"department": "Tours"},
        })
    }

    fn group_body(name: &str, members: &[&str]) -> Value {
        let members: Vec<Value> = members.iter().map(|id| json!({"value": id})).collect();
        json!({"schemas": [GROUP_URN], "displayName": name, "members": members})
    }

    fn patch_body(operations: Value) -> Value {
        json!({"schemas": [PATCH_URN], "Operations": operations})
    }

    #[test]
    fn create_assigns_id_and_meta() {
        let mut scim = provider();
        let change = scim
            .create(ResourceKind::User, &user_body("bjensen"), "u1", at(0))
            .unwrap();
        let user = change.resource.clone().unwrap();
        assert_eq!(user["id"], json!("u1"));
        assert_eq!(user["meta"]["resourceType"], json!("User"));
        assert_eq!(user["meta"]["created"], json!("2026-03-02T09:00:00.000Z"));
        assert_eq!(
            user["meta"]["lastModified"],
            json!("2026-03-02T09:00:00.000Z")
        );
        assert_eq!(user["meta"]["location"], json!(format!("{BASE}/Users/u1")));
        let version = user["meta"]["version"].as_str().unwrap();
        assert!(version.starts_with("W/\""), "{version}");
        assert_eq!(change.etag.as_deref(), Some(version));
        assert!(user.get("password").is_none());
        assert_eq!(change.users_changed, ["u1"]);
        assert!(matches!(&change.writes[..], [Write::Put { id, .. }] if id == "u1"));
        assert_eq!(scim.get(ResourceKind::User, "u1").unwrap(), user);
        let missing = scim.get(ResourceKind::User, "nope").unwrap_err();
        assert_eq!(missing.status(), 404);
        assert_eq!(
            scim.get(ResourceKind::Group, "u1").unwrap_err().status(),
            404
        );
    }

    #[test]
    fn user_names_are_unique_ignoring_case() {
        let mut scim = provider();
        scim.create(ResourceKind::User, &user_body("bjensen"), "u1", at(0))
            .unwrap();
        let error = scim
            .create(ResourceKind::User, &user_body("BJensen"), "u2", at(1))
            .unwrap_err();
        assert_eq!(error.status(), 409);
        assert_eq!(error.scim_type(), Some(ScimType::Uniqueness));
        assert_eq!(error.to_json()["status"], json!("409"));
        scim.create(ResourceKind::User, &user_body("other"), "u2", at(1))
            .unwrap();
        let taken = scim
            .replace(ResourceKind::User, "u2", &user_body("BJENSEN"), None, at(2))
            .unwrap_err();
        assert_eq!(taken.status(), 409);
        // A user may keep, or change the case of, its own name.
        scim.replace(ResourceKind::User, "u1", &user_body("BJensen"), None, at(2))
            .unwrap();
        let renamed = json!([{"op": "replace", "path": "userName", "value": "other"}]);
        let error = scim
            .patch(ResourceKind::User, "u1", &patch_body(renamed), None, at(3))
            .unwrap_err();
        assert_eq!(error.status(), 409);
        let id_taken = scim
            .create(ResourceKind::Group, &group_body("g", &[]), "u1", at(3))
            .unwrap_err();
        assert_eq!(id_taken.status(), 409);
    }

    #[test]
    fn replace_keeps_id_and_created() {
        let mut scim = provider();
        scim.create(ResourceKind::User, &user_body("bjensen"), "u1", at(0))
            .unwrap();
        let mut body = json!({"schemas": [USER_URN], "userName": "bjensen", "externalId": "new-ext", "id": "ignored", "meta": {"created": "2000-01-01T00:00:00Z"}});
        let change = scim
            .replace(ResourceKind::User, "u1", &body, None, at(5))
            .unwrap();
        let user = change.resource.unwrap();
        assert_eq!(user["id"], json!("u1"));
        assert_eq!(user["externalId"], json!("new-ext"));
        assert_eq!(user["meta"]["created"], json!("2026-03-02T09:00:00.000Z"));
        assert_eq!(
            user["meta"]["lastModified"],
            json!("2026-03-02T09:00:05.000Z")
        );
        assert!(
            user.get("emails").is_none(),
            "PUT clears what it leaves out"
        );
        assert!(user.get(ENTERPRISE_URN).is_none());
        assert_eq!(user["schemas"], json!([USER_URN]));
        body["userName"] = json!(5);
        let error = scim
            .replace(ResourceKind::User, "u1", &body, None, at(6))
            .unwrap_err();
        assert_eq!(error.scim_type(), Some(ScimType::InvalidValue));
        assert_eq!(
            scim.replace(ResourceKind::User, "nope", &body, None, at(6))
                .unwrap_err()
                .status(),
            404
        );
    }

    #[test]
    fn etags_and_if_match() {
        let mut scim = provider();
        let created = scim
            .create(ResourceKind::User, &user_body("bjensen"), "u1", at(0))
            .unwrap();
        let etag = created.etag.unwrap();
        let deactivate = patch_body(json!([{"op": "replace", "value": {"active": false}}]));
        let stale = IfMatch::parse("W/\"0000000000000000\"");
        let error = scim
            .patch(ResourceKind::User, "u1", &deactivate, Some(&stale), at(1))
            .unwrap_err();
        assert_eq!(error.status(), 412);
        assert_eq!(
            scim.get(ResourceKind::User, "u1").unwrap()["active"],
            json!(true)
        );
        let current = IfMatch::parse(&format!("\"other\", {etag}"));
        let change = scim
            .patch(ResourceKind::User, "u1", &deactivate, Some(&current), at(1))
            .unwrap();
        let new_etag = change.etag.clone().unwrap();
        assert_ne!(new_etag, etag);
        assert_eq!(change.resource.unwrap()["active"], json!(false));
        // The same PATCH again changes nothing: same version, nothing to write.
        let again = scim
            .patch(
                ResourceKind::User,
                "u1",
                &deactivate,
                Some(&IfMatch::Any),
                at(2),
            )
            .unwrap();
        assert_eq!(again.etag.as_deref(), Some(new_etag.as_str()));
        assert!(again.writes.is_empty() && again.users_changed.is_empty());
        assert_eq!(
            scim.get(ResourceKind::User, "u1").unwrap()["meta"]["lastModified"],
            json!("2026-03-02T09:00:01.000Z")
        );
        let error = scim
            .delete(
                ResourceKind::User,
                "u1",
                Some(&IfMatch::parse(&etag)),
                at(3),
            )
            .unwrap_err();
        assert_eq!(error.status(), 412);
        assert!(IfMatch::Any.matches("W/\"x\""));
        assert!(IfMatch::parse("W/\"x\"").matches("\"x\""));
        scim.delete(ResourceKind::User, "u1", Some(&IfMatch::Any), at(3))
            .unwrap();
        assert_eq!(
            scim.delete(ResourceKind::User, "u1", Some(&IfMatch::Any), at(3))
                .unwrap_err()
                .status(),
            404
        );
    }

    #[test]
    fn patch_is_all_or_nothing() {
        let mut scim = provider();
        scim.create(ResourceKind::User, &user_body("bjensen"), "u1", at(0))
            .unwrap();
        let before = scim.get(ResourceKind::User, "u1").unwrap();
        let body = patch_body(json!([
            {"op": "replace", "path": "title", "value": "Boss"},
            {"op": "replace", "path": "active", "value": "maybe"},
        ]));
        let error = scim
            .patch(ResourceKind::User, "u1", &body, None, at(1))
            .unwrap_err();
        assert!(error.detail().starts_with("operation 2"), "{error}");
        assert_eq!(scim.get(ResourceKind::User, "u1").unwrap(), before);
        // A result that breaks the schema fails whole, too.
        let body = patch_body(json!([
            {"op": "replace", "path": "title", "value": "Boss"},
            {"op": "remove", "path": "userName"},
        ]));
        assert!(
            scim.patch(ResourceKind::User, "u1", &body, None, at(1))
                .is_err()
        );
        assert_eq!(scim.get(ResourceKind::User, "u1").unwrap(), before);
    }

    #[test]
    fn groups_and_membership() {
        let mut scim = provider();
        scim.create(ResourceKind::User, &user_body("ann"), "u1", at(0))
            .unwrap();
        let mut bob = user_body("bob");
        bob["displayName"] = json!("Bob B");
        scim.create(ResourceKind::User, &bob, "u2", at(0)).unwrap();
        let change = scim
            .create(
                ResourceKind::Group,
                &group_body("SOC Analysts", &["u1", "u2", "u1"]),
                "g1",
                at(1),
            )
            .unwrap();
        assert_eq!(change.users_changed, ["u1", "u2"]);
        let group = change.resource.unwrap();
        assert_eq!(
            group["members"],
            json!([
                {"value": "u1", "type": "User", "$ref": format!("{BASE}/Users/u1")},
                {"value": "u2", "type": "User", "$ref": format!("{BASE}/Users/u2")},
            ])
        );
        let ann = scim.get(ResourceKind::User, "u1").unwrap();
        assert_eq!(
            ann["groups"],
            json!([{"value": "g1", "display": "SOC Analysts", "type": "direct", "$ref": format!("{BASE}/Groups/g1")}])
        );
        // Okta group push: remove one member.
        let remove = patch_body(json!([{"op": "remove", "path": "members[value eq \"u2\"]"}]));
        let change = scim
            .patch(ResourceKind::Group, "g1", &remove, None, at(2))
            .unwrap();
        assert_eq!(change.users_changed, ["u2"]);
        assert!(
            scim.get(ResourceKind::User, "u2")
                .unwrap()
                .get("groups")
                .is_none()
        );
        // A rename changes every member's groups.
        let rename = patch_body(json!([{"op": "Replace", "path": "displayName", "value": "SOC"}]));
        let change = scim
            .patch(ResourceKind::Group, "g1", &rename, None, at(3))
            .unwrap();
        assert_eq!(change.users_changed, ["u1"]);
        // Deleting a member user takes it out of its groups, which are written again.
        let change = scim.delete(ResourceKind::User, "u1", None, at(4)).unwrap();
        assert_eq!(change.users_deleted.len(), 1);
        assert_eq!(change.users_deleted[0]["userName"], json!("ann"));
        assert!(matches!(
            &change.writes[..],
            [Write::Delete { id, .. }, Write::Put { kind: ResourceKind::Group, row, .. }]
                if id == "u1" && row.get("members").is_none()
        ));
        let group = scim.get(ResourceKind::Group, "g1").unwrap();
        assert!(group.get("members").is_none());
        assert_eq!(
            group["meta"]["lastModified"],
            json!("2026-03-02T09:00:04.000Z")
        );
        // Deleting a group changes its members' groups.
        scim.create(
            ResourceKind::Group,
            &group_body("Door", &["u2"]),
            "g2",
            at(5),
        )
        .unwrap();
        let change = scim.delete(ResourceKind::Group, "g2", None, at(6)).unwrap();
        assert_eq!(change.users_changed, ["u2"]);
        assert!(
            scim.get(ResourceKind::User, "u2")
                .unwrap()
                .get("groups")
                .is_none()
        );
        let error = scim
            .create(
                ResourceKind::Group,
                &group_body("Self", &["g3"]),
                "g3",
                at(7),
            )
            .unwrap_err();
        assert_eq!(error.scim_type(), Some(ScimType::InvalidValue));
        let no_value =
            json!({"schemas": [GROUP_URN], "displayName": "x", "members": [{"type": "User"}]});
        assert!(
            scim.create(ResourceKind::Group, &no_value, "g4", at(7))
                .is_err()
        );
    }

    #[test]
    fn group_names_unique_when_configured() {
        let mut scim = provider();
        scim.create(ResourceKind::Group, &group_body("Ops", &[]), "g1", at(0))
            .unwrap();
        scim.create(ResourceKind::Group, &group_body("ops", &[]), "g2", at(0))
            .unwrap();
        let mut config = ProviderConfig::new(BASE);
        config.unique_group_names = true;
        let mut strict = Provider::new(config).unwrap();
        strict
            .create(ResourceKind::Group, &group_body("Ops", &[]), "g1", at(0))
            .unwrap();
        let error = strict
            .create(ResourceKind::Group, &group_body("OPS", &[]), "g2", at(0))
            .unwrap_err();
        assert_eq!(error.status(), 409);
    }

    fn many_users(count: usize) -> Provider {
        let mut scim = provider();
        for n in 0..count {
            let body = json!({
                "schemas": [USER_URN],
                "userName": format!("user{n:04}"),
                "externalId": format!("E{n}"),
                "title": if n % 2 == 0 { "even" } else { "odd" },
            });
            scim.create(
                ResourceKind::User,
                &body,
                &format!("id{n:04}"),
                at(n as i64),
            )
            .unwrap();
        }
        scim
    }

    fn ids(list: &Value) -> Vec<String> {
        list["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn listing_pages_in_creation_order() {
        let scim = many_users(25);
        let query = |params: &[(&str, &str)]| {
            scim.list(
                ResourceKind::User,
                &ListQuery::from_params(params.iter().copied()).unwrap(),
            )
            .unwrap()
        };
        let page = query(&[("startIndex", "11"), ("count", "10")]);
        assert_eq!(
            page["schemas"],
            json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"])
        );
        assert_eq!(page["totalResults"], json!(25));
        assert_eq!(page["startIndex"], json!(11));
        assert_eq!(page["itemsPerPage"], json!(10));
        assert_eq!(ids(&page).first().map(String::as_str), Some("id0010"));
        let last = query(&[("startIndex", "21"), ("count", "10")]);
        assert_eq!(last["itemsPerPage"], json!(5));
        let beyond = query(&[("startIndex", "100")]);
        assert_eq!(beyond["totalResults"], json!(25));
        assert_eq!(beyond["itemsPerPage"], json!(0));
        let totals = query(&[("count", "0")]);
        assert_eq!(
            (
                totals["totalResults"].clone(),
                totals["itemsPerPage"].clone()
            ),
            (json!(25), json!(0))
        );
        let filtered = query(&[("filter", "title eq \"odd\""), ("count", "3")]);
        assert_eq!(filtered["totalResults"], json!(12));
        assert_eq!(ids(&filtered), ["id0001", "id0003", "id0005"]);
        let sorted = query(&[
            ("sortBy", "userName"),
            ("sortOrder", "descending"),
            ("count", "2"),
        ]);
        assert_eq!(ids(&sorted), ["id0024", "id0023"]);
        let projected = query(&[
            ("filter", "userName eq \"USER0007\""),
            ("attributes", "userName"),
        ]);
        assert_eq!(
            projected["Resources"],
            json!([{"schemas": [USER_URN], "id": "id0007", "userName": "user0007"}])
        );
        let error = scim
            .list(
                ResourceKind::User,
                &ListQuery::from_params([("filter", "userName eq")]).unwrap(),
            )
            .unwrap_err();
        assert_eq!(error.scim_type(), Some(ScimType::InvalidFilter));
    }

    #[test]
    fn equality_on_indexed_attributes_does_not_scan() {
        let scim = many_users(30);
        let compile = |text: &str| {
            Compiled::new(
                &Filter::parse(text).unwrap(),
                Scope::Resource {
                    set: &scim.set,
                    kind: ResourceKind::User,
                    lenient: false,
                },
            )
            .unwrap()
        };
        let lookup = |text: &str| scim.lookup(ResourceKind::User, &compile(text));
        assert_eq!(
            lookup("userName eq \"USER0003\""),
            Some(BTreeSet::from(["id0003".to_string()]))
        );
        assert_eq!(
            lookup("externalId eq \"E4\""),
            Some(BTreeSet::from(["id0004".to_string()]))
        );
        assert_eq!(
            lookup("externalId eq \"e4\""),
            Some(BTreeSet::new()),
            "externalId is case-exact"
        );
        assert_eq!(
            lookup("id eq \"id0005\" and title pr"),
            Some(BTreeSet::from(["id0005".to_string()]))
        );
        assert_eq!(
            lookup("userName eq \"user0001\" or externalId eq \"E2\"").map(|ids| ids.len()),
            Some(2)
        );
        assert_eq!(lookup("userName eq \"user0001\" or title pr"), None);
        assert_eq!(lookup("userName sw \"user\""), None);
        // The index agrees with a scan.
        for text in [
            "userName eq \"user0003\"",
            "externalId eq \"E4\" and title eq \"even\"",
        ] {
            let listed = scim
                .list(
                    ResourceKind::User,
                    &ListQuery {
                        filter: Some(text.into()),
                        ..ListQuery::default()
                    },
                )
                .unwrap();
            assert_eq!(listed["totalResults"], json!(1), "{text}");
        }
    }

    #[test]
    fn filters_read_derived_attributes() {
        let mut scim = many_users(3);
        scim.create(
            ResourceKind::Group,
            &group_body("Ops", &["id0001"]),
            "g1",
            at(9),
        )
        .unwrap();
        let list = scim
            .list(
                ResourceKind::User,
                &ListQuery {
                    filter: Some("groups.display eq \"ops\"".into()),
                    ..ListQuery::default()
                },
            )
            .unwrap();
        assert_eq!(ids(&list), ["id0001"]);
        let groups = scim
            .list(
                ResourceKind::Group,
                &ListQuery {
                    filter: Some("members[value eq \"id0001\"]".into()),
                    ..ListQuery::default()
                },
            )
            .unwrap();
        assert_eq!(ids(&groups), ["g1"]);
        let by_name = scim
            .list(
                ResourceKind::Group,
                &ListQuery {
                    filter: Some("displayName eq \"OPS\"".into()),
                    ..ListQuery::default()
                },
            )
            .unwrap();
        assert_eq!(ids(&by_name), ["g1"]);
    }

    #[test]
    fn load_rebuilds_what_export_wrote() {
        let mut scim = provider();
        scim.create(ResourceKind::User, &user_body("ann"), "u1", at(0))
            .unwrap();
        scim.create(ResourceKind::User, &user_body("bob"), "u2", at(1))
            .unwrap();
        scim.create(
            ResourceKind::Group,
            &group_body("Ops", &["u1", "u2"]),
            "g1",
            at(2),
        )
        .unwrap();
        let rows: Vec<Value> = scim.export().collect();
        assert_eq!(rows.len(), 3);
        assert!(rows.iter().all(|row| row["meta"].get("version").is_none()));
        let mut reversed = rows.clone();
        reversed.reverse();
        let mut loaded = provider();
        loaded.load(reversed).unwrap();
        for (kind, id) in [
            (ResourceKind::User, "u1"),
            (ResourceKind::User, "u2"),
            (ResourceKind::Group, "g1"),
        ] {
            assert_eq!(
                loaded.get(kind, id).unwrap(),
                scim.get(kind, id).unwrap(),
                "{id}"
            );
        }
        let all = loaded
            .list(ResourceKind::User, &ListQuery::default())
            .unwrap();
        assert_eq!(ids(&all), ["u1", "u2"]);
        let mut twice = rows.clone();
        twice.push(rows[0].clone());
        assert!(loaded.load(twice).is_err());
        assert_eq!(
            loaded.len(ResourceKind::User),
            2,
            "a failed load changes nothing"
        );
        assert!(loaded.load(vec![json!({"id": "x"})]).is_err());
    }

    #[test]
    fn changes_become_directory_deltas() {
        let mapping = ScimMapping::from_toml(
            r#"
            [[group]]
            name = "SOC Analysts"
            roles = ["soc-analyst"]
            "#,
        )
        .unwrap();
        let mut scim = provider();
        scim.create(ResourceKind::User, &user_body("boss"), "m1", at(0))
            .unwrap();
        let mut body = user_body("ann");
        body[ENTERPRISE_URN]["manager"] = json!({"value": "m1"});
        let created = scim.create(ResourceKind::User, &body, "u1", at(1)).unwrap();
        let deltas = scim.deltas(&mapping, &created).unwrap();
        assert_eq!(deltas.len(), 1);
        assert_eq!(deltas[0].person, "ann");
        assert_eq!(
            deltas[0].manager.as_deref(),
            Some("boss"),
            "the manager's person id"
        );
        assert_eq!(deltas[0].roles, Some(Vec::new()));
        let grouped = scim
            .create(
                ResourceKind::Group,
                &group_body("SOC Analysts", &["u1"]),
                "g1",
                at(2),
            )
            .unwrap();
        let deltas = scim.deltas(&mapping, &grouped).unwrap();
        assert_eq!(deltas[0].roles, Some(vec!["soc-analyst".to_string()]));
        let deactivated = scim
            .patch(
                ResourceKind::User,
                "u1",
                &patch_body(json!([{"op": "replace", "value": {"active": false}}])),
                None,
                at(3),
            )
            .unwrap();
        let deltas = scim.deltas(&mapping, &deactivated).unwrap();
        assert_eq!(deltas[0].status.as_deref(), Some("suspended"));
        assert_eq!(deltas[0].roles, Some(vec!["soc-analyst".to_string()]));
        let deleted = scim.delete(ResourceKind::User, "u1", None, at(4)).unwrap();
        let deltas = scim.deltas(&mapping, &deleted).unwrap();
        assert_eq!(deltas.len(), 1);
        assert_eq!(deltas[0].person, "ann");
        assert_eq!(deltas[0].status.as_deref(), Some("terminated"));
        assert_eq!(deltas[0].replaces, ["upn", "email"]);
    }

    #[test]
    fn identity_provider_create_payloads() {
        let mut scim = provider();
        // Okta's documented create request: `groups: []`, a password, no extension.
        let okta = json!({
            "schemas": [USER_URN],
            "userName": "test.user@okta.local",
            "name": {"givenName": "Test", "familyName": "User"},
            "emails": [{"primary": true, "value": "test.user@okta.local", "type": "work"}],
            "displayName": "Test User",
            "locale": "en-US",
            "externalId": "00ujl29u0le5T6Aj10h7",
            "groups": [],
            "password": "1mz050nq",
            "active": true,
        });
        let user = scim
            .create(ResourceKind::User, &okta, "u1", at(0))
            .unwrap()
            .resource
            .unwrap();
        assert!(user.get("password").is_none() && user.get("groups").is_none());
        assert_eq!(user["externalId"], json!("00ujl29u0le5T6Aj10h7"));
        // Entra's documented create request: `meta` sent, string booleans from older tenants.
        let entra = json!({
            "schemas": [USER_URN, ENTERPRISE_URN],
            "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
            "userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1",
            "active": "True",
            "addresses": [{"primary": false, "type": "work", "formatted": "Test Address"}],
            "displayName": "Test_User_5b50642d",
            "emails": [{"primary": true, "type": "work", "value": "Test_User_fd0ea19b@testuser.com"}],
            "meta": {"resourceType": "User"},
            "name": {"formatted": "testFormattedName", "familyName": "testFamilyName", "givenName": "testGivenName"},
            "title": "Test_User_c57e6a5a",
            "roles": [],
            ENTERPRISE_URN: {"employeeNumber": "Test_User_3f0ea2d7", "department": "Test_User_4b8c3e9a"},
        });
        let user = scim
            .create(ResourceKind::User, &entra, "u2", at(0))
            .unwrap()
            .resource
            .unwrap();
        assert_eq!(user["active"], json!(true));
        assert_eq!(user["meta"]["resourceType"], json!("User"));
        assert!(user.get("roles").is_none());
        let found = scim
            .list(
                ResourceKind::User,
                &ListQuery::from_params([(
                    "filter",
                    "externalId eq \"0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef\"",
                )])
                .unwrap(),
            )
            .unwrap();
        assert_eq!(ids(&found), ["u2"]);
        let group = json!({
            "schemas": [GROUP_URN, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
            "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
            "displayName": "displayName",
            "meta": {"resourceType": "Group"},
        });
        let created = scim
            .create(ResourceKind::Group, &group, "g1", at(1))
            .unwrap();
        assert_eq!(created.resource.unwrap()["schemas"], json!([GROUP_URN]));
        let add = patch_body(
            json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": "u2"}]}]),
        );
        let change = scim
            .patch(ResourceKind::Group, "g1", &add, None, at(2))
            .unwrap();
        assert_eq!(change.users_changed, ["u2"]);
        let remove = patch_body(
            json!([{"op": "Remove", "path": "members", "value": [{"$ref": null, "value": "u2"}]}]),
        );
        let change = scim
            .patch(ResourceKind::Group, "g1", &remove, None, at(3))
            .unwrap();
        assert_eq!(change.users_changed, ["u2"]);
        assert!(scim.groups_of("u2").is_empty());
    }

    #[test]
    fn configuration_from_toml() {
        let config: ProviderConfig = toml::from_str(
            r#"
            base_url = "https://seam.example.com/scim/v2"
            max_results = 50
            unique_group_names = true
            [[extensions]]
            urn = "urn:ietf:params:scim:schemas:extension:seam:2.0:User"
            [[extensions.attributes]]
            name = "badgeNumber"
            "#,
        )
        .unwrap();
        let scim = Provider::new(config).unwrap();
        assert_eq!(
            scim.service_provider_config()["filter"]["maxResults"],
            json!(50)
        );
        let user_type = scim.resource_type("User").unwrap();
        assert_eq!(
            user_type["schemaExtensions"][1]["schema"],
            json!("urn:ietf:params:scim:schemas:extension:seam:2.0:User")
        );
        assert_eq!(scim.schemas()["totalResults"], json!(4));
    }

    #[test]
    fn discovery_through_the_provider() {
        let scim = provider();
        assert_eq!(scim.config().base_url, BASE);
        assert_eq!(
            scim.service_provider_config()["filter"]["maxResults"],
            json!(200)
        );
        assert_eq!(scim.resource_types()["totalResults"], json!(2));
        assert_eq!(
            scim.resource_type("User").unwrap()["endpoint"],
            json!("/Users")
        );
        assert_eq!(scim.schemas()["totalResults"], json!(3));
        assert_eq!(scim.schema(GROUP_URN).unwrap()["name"], json!("Group"));
    }

    proptest::proptest! {
        #[test]
        fn failed_patches_change_nothing(
            ops in proptest::collection::vec(
                (
                    proptest::prop_oneof![
                        proptest::strategy::Just("add"),
                        proptest::strategy::Just("replace"),
                        proptest::strategy::Just("remove"),
                    ],
                    proptest::prop_oneof![
                        proptest::strategy::Just(json!("members")),
                        proptest::strategy::Just(json!("members[value eq \"u1\"]")),
                        proptest::strategy::Just(json!("displayName")),
                        proptest::strategy::Just(json!("id")),
                        proptest::strategy::Just(Value::Null),
                    ],
                    proptest::prop_oneof![
                        proptest::strategy::Just(json!([{"value": "u2"}])),
                        proptest::strategy::Just(json!({"value": "u1"})),
                        proptest::strategy::Just(json!("Ops")),
                        proptest::strategy::Just(json!({"displayName": "X", "id": "g1"})),
                        proptest::strategy::Just(json!(7)),
                        proptest::strategy::Just(Value::Null),
                    ],
                ),
                1..4,
            )
        ) {
            let mut scim = provider();
            scim.create(ResourceKind::User, &user_body("ann"), "u1", at(0)).unwrap();
            scim.create(ResourceKind::User, &user_body("bob"), "u2", at(0)).unwrap();
            scim.create(ResourceKind::Group, &group_body("Ops", &["u1"]), "g1", at(0)).unwrap();
            let before: Vec<Value> = ["u1", "u2"].iter().map(|id| scim.get(ResourceKind::User, id).unwrap())
                .chain([scim.get(ResourceKind::Group, "g1").unwrap()]).collect();
            let operations: Vec<Value> = ops.into_iter()
                .map(|(op, path, value)| json!({"op": op, "path": path, "value": value}))
                .collect();
            let result = scim.patch(ResourceKind::Group, "g1", &patch_body(Value::Array(operations)), None, at(1));
            let after: Vec<Value> = ["u1", "u2"].iter().map(|id| scim.get(ResourceKind::User, id).unwrap())
                .chain([scim.get(ResourceKind::Group, "g1").unwrap()]).collect();
            if result.is_err() {
                proptest::prop_assert_eq!(before, after);
            } else {
                // The users' groups agree with the group's members.
                let group = scim.get(ResourceKind::Group, "g1").unwrap();
                for id in ["u1", "u2"] {
                    let member = group["members"].as_array().is_some_and(|m| m.iter().any(|m| m["value"] == json!(id)));
                    let listed = scim.get(ResourceKind::User, id).unwrap()["groups"].as_array().is_some_and(|g| !g.is_empty());
                    proptest::prop_assert_eq!(member, listed);
                }
            }
        }
    }
}
