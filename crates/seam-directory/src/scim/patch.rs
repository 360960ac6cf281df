//! PATCH (RFC 7644 §3.5.2): the request read into operations, and the operations applied to
//! a copy of a resource. The provider checks the result against the schemas afterwards and
//! keeps it only if every operation and that check succeed, so a request is all or nothing.
//!
//! Shapes the identity providers send are read as they send them: capitalized `op`s and
//! `Operations` in any case (Microsoft Entra ID), a path-less `replace` whose value keys are
//! themselves paths (`{"name.givenName": "x"}`), `attr[type eq "work"].sub` creating the
//! value when none matches (Entra), `remove` of `members` with a value list (Entra), and the
//! group's own `id` echoed in a path-less `replace` (Okta).

use serde_json::{Map, Value};

use super::error::{ScimError, quote};
use super::filter::{CompareOp, Compiled, Filter, Literal, Scope};
use super::path::{PatchPath, get_ci, resolve};
use super::resource::{check_primary, normalize_value};
use super::schema::{AttrType, Attribute, Extension, Mutability, ResourceKind, SchemaSet};

/// The PATCH request message schema.
pub const PATCH_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// The most operations one request may carry unless configured otherwise.
pub const MAX_OPERATIONS: usize = 1000;

/// `add`, `remove` or `replace`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchOpKind {
    Add,
    Remove,
    Replace,
}

/// One operation of a PATCH request.
#[derive(Clone, Debug, PartialEq)]
pub struct PatchOperation {
    pub op: PatchOpKind,
    pub path: Option<PatchPath>,
    /// `None` when the operation has no `value` member.
    pub value: Option<Value>,
}

/// A PATCH request body, read.
#[derive(Clone, Debug, PartialEq)]
pub struct PatchRequest {
    pub operations: Vec<PatchOperation>,
}

impl PatchRequest {
    /// Reads a request body: `schemas` must list the PatchOp URN, `Operations` (any case)
    /// must hold one to `max_operations` operations (more: `invalidValue`).
    pub fn parse(body: &Value, max_operations: usize) -> Result<PatchRequest, ScimError> {
        let Value::Object(members) = body else {
            return Err(ScimError::invalid_syntax(
                "a PATCH body must be a JSON object",
            ));
        };
        let listed = get_ci(members, "schemas")
            .and_then(Value::as_array)
            .is_some_and(|schemas| {
                schemas
                    .iter()
                    .filter_map(Value::as_str)
                    .any(|urn| urn.eq_ignore_ascii_case(PATCH_URN))
            });
        if !listed {
            return Err(ScimError::invalid_syntax(format!(
                "`schemas` must list {}",
                quote(PATCH_URN)
            )));
        }
        let Some(Value::Array(operations)) = get_ci(members, "Operations") else {
            return Err(ScimError::invalid_syntax(
                "`Operations` must be an array of operations",
            ));
        };
        if operations.is_empty() {
            return Err(ScimError::invalid_syntax("`Operations` is empty"));
        }
        if operations.len() > max_operations {
            return Err(ScimError::invalid_value(format!(
                "{} operations in one request: at most {max_operations} are accepted",
                operations.len()
            )));
        }
        let mut read = Vec::with_capacity(operations.len());
        for (index, operation) in operations.iter().enumerate() {
            let number = index + 1;
            let in_operation = |error: ScimError| numbered(number, error);
            let Value::Object(operation) = operation else {
                return Err(in_operation(ScimError::invalid_syntax("not an object")));
            };
            let op = match get_ci(operation, "op").and_then(Value::as_str) {
                Some(op) if op.eq_ignore_ascii_case("add") => PatchOpKind::Add,
                Some(op) if op.eq_ignore_ascii_case("remove") => PatchOpKind::Remove,
                Some(op) if op.eq_ignore_ascii_case("replace") => PatchOpKind::Replace,
                Some(op) => {
                    return Err(in_operation(ScimError::invalid_syntax(format!(
                        "unknown op {}: expected add, remove or replace",
                        quote(op)
                    ))));
                }
                None => {
                    return Err(in_operation(ScimError::invalid_syntax(
                        "`op` is required: add, remove or replace",
                    )));
                }
            };
            let path = match get_ci(operation, "path") {
                None | Some(Value::Null) => None,
                Some(Value::String(text)) if text.trim().is_empty() => None,
                Some(Value::String(text)) => Some(PatchPath::parse(text).map_err(in_operation)?),
                Some(_) => {
                    return Err(in_operation(ScimError::invalid_path(
                        "`path` must be a string",
                    )));
                }
            };
            let value = get_ci(operation, "value").cloned();
            if op != PatchOpKind::Remove && value.is_none() {
                return Err(in_operation(ScimError::invalid_syntax(format!(
                    "`{}` needs a `value`",
                    if op == PatchOpKind::Add {
                        "add"
                    } else {
                        "replace"
                    }
                ))));
            }
            read.push(PatchOperation { op, path, value });
        }
        Ok(PatchRequest { operations: read })
    }
}

fn numbered(number: usize, error: ScimError) -> ScimError {
    ScimError::new(
        error.status(),
        error.scim_type(),
        format!("operation {number}: {}", error.detail()),
    )
}

/// What the operations apply to.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Context<'s> {
    pub set: &'s SchemaSet,
    pub kind: ResourceKind,
    /// The resource's id: a path-less `replace` may echo it (Okta), never change it.
    pub id: &'s str,
}

/// Applies every operation in order to `doc` (a resource without `id`, `meta` and
/// `schemas`). On error `doc` is left part-way: apply to a copy.
pub(crate) fn apply(
    request: &PatchRequest,
    doc: &mut Map<String, Value>,
    context: &Context<'_>,
) -> Result<(), ScimError> {
    for (index, operation) in request.operations.iter().enumerate() {
        apply_operation(operation, doc, context).map_err(|error| numbered(index + 1, error))?;
    }
    Ok(())
}

fn apply_operation(
    operation: &PatchOperation,
    doc: &mut Map<String, Value>,
    context: &Context<'_>,
) -> Result<(), ScimError> {
    match &operation.path {
        Some(path) => {
            let location = locate(path, context)?;
            apply_at(
                operation.op,
                &location,
                operation.value.as_ref(),
                doc,
                context,
            )
        }
        None if operation.op == PatchOpKind::Remove => Err(ScimError::no_target(
            "`remove` needs a `path` naming what to remove",
        )),
        None => {
            let Some(Value::Object(members)) = &operation.value else {
                return Err(ScimError::invalid_value(
                    "without a `path`, `value` must be an object of attributes",
                ));
            };
            for (key, value) in members {
                if key.eq_ignore_ascii_case("schemas") {
                    continue;
                }
                // Keys are attribute paths (Entra sends `name.givenName` and URN-qualified
                // names), or an extension's URN holding its attributes.
                let location = match context.set.extension(context.kind, key) {
                    Some(extension) => Location::Extension(extension),
                    None => locate(&PatchPath::parse(key)?, context)?,
                };
                apply_at(operation.op, &location, Some(value), doc, context)?;
            }
            Ok(())
        }
    }
}

/// Where an operation applies.
#[derive(Debug)]
enum Location<'s> {
    /// A whole extension (`path` is its URN).
    Extension(&'s Extension),
    Attr(Target<'s>),
}

#[derive(Debug)]
struct Target<'s> {
    urn: Option<&'s str>,
    attr: &'s Attribute,
    filter: Option<Selection>,
    sub: Option<&'s Attribute>,
    /// The path as written, for messages.
    text: String,
}

/// `attr[filter]`: the compiled filter and, when it is a conjunction of `eq` comparisons,
/// the sub-attribute values a new value gets when none matches.
#[derive(Debug)]
struct Selection {
    filter: Compiled,
    creates: Option<Vec<(String, Value)>>,
}

fn locate<'s>(path: &PatchPath, context: &Context<'s>) -> Result<Location<'s>, ScimError> {
    if path.filter.is_none()
        && path.sub.is_none()
        && let Some(extension) = context.set.extension(context.kind, &path.text)
    {
        return Ok(Location::Extension(extension));
    }
    let text = path.text.clone();
    let resolved = resolve(context.set, context.kind, &path.attr).ok_or_else(|| {
        ScimError::invalid_path(format!(
            "{} names no attribute of a {}",
            quote(&text),
            context.kind.name()
        ))
    })?;
    let attr = resolved.attr;
    let sub = match &path.sub {
        Some(name) => Some(attr.sub(name).ok_or_else(|| {
            ScimError::invalid_path(format!(
                "{}: {} has no sub-attribute {}",
                quote(&text),
                quote(&attr.name),
                quote(name)
            ))
        })?),
        None => None,
    };
    let filter = match &path.filter {
        None => None,
        Some(filter) => {
            if !(attr.multi_valued && attr.ty == AttrType::Complex) {
                return Err(ScimError::invalid_path(format!(
                    "{}: `[…]` selects values of a multi-valued complex attribute",
                    quote(&text)
                )));
            }
            let compiled = Compiled::new(filter, Scope::Element(attr)).map_err(|error| {
                ScimError::invalid_path(format!("{}: {}", quote(&text), error.detail()))
            })?;
            let mut creates = Vec::new();
            let creates = equalities(filter, attr, &mut creates).then_some(creates);
            Some(Selection {
                filter: compiled,
                creates,
            })
        }
    };
    Ok(Location::Attr(Target {
        urn: resolved.urn,
        attr,
        filter,
        sub,
        text,
    }))
}

/// Collects `sub eq value` terms joined by `and`; false for any other shape.
fn equalities(filter: &Filter, attr: &Attribute, out: &mut Vec<(String, Value)>) -> bool {
    match filter {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value,
        } if path.urn.is_none() && path.sub.is_none() => {
            let Some(sub) = attr.sub(&path.name) else {
                return false;
            };
            let value = match value {
                Literal::String(text) => Value::from(text.clone()),
                Literal::Bool(flag) => Value::Bool(*flag),
                Literal::Number(number) => Value::Number(number.clone()),
                Literal::Null => return false,
            };
            out.push((sub.name.clone(), value));
            true
        }
        Filter::And(left, right) => equalities(left, attr, out) && equalities(right, attr, out),
        _ => false,
    }
}

fn apply_at(
    op: PatchOpKind,
    location: &Location<'_>,
    value: Option<&Value>,
    doc: &mut Map<String, Value>,
    context: &Context<'_>,
) -> Result<(), ScimError> {
    let target = match location {
        Location::Extension(extension) => {
            let urn = extension.schema.id.as_str();
            return match (op, value) {
                (PatchOpKind::Remove, _) | (PatchOpKind::Replace, Some(Value::Null)) => {
                    take_ci(doc, urn);
                    Ok(())
                }
                (_, None | Some(Value::Null)) => Ok(()),
                (_, Some(Value::Object(members))) => {
                    // Some clients echo the resource's `schemas` inside an extension's value.
                    for (name, value) in members
                        .iter()
                        .filter(|(name, _)| !name.eq_ignore_ascii_case("schemas"))
                    {
                        let attr = extension.schema.attribute(name).ok_or_else(|| {
                            ScimError::invalid_path(format!(
                                "unknown attribute {} in {}",
                                quote(name),
                                quote(urn)
                            ))
                        })?;
                        let target = Location::Attr(Target {
                            urn: Some(urn),
                            attr,
                            filter: None,
                            sub: None,
                            text: format!("{urn}:{}", attr.name),
                        });
                        apply_at(op, &target, Some(value), doc, context)?;
                    }
                    Ok(())
                }
                (_, Some(_)) => Err(ScimError::invalid_value(format!(
                    "{} takes an object of the extension's attributes",
                    quote(urn)
                ))),
            };
        }
        Location::Attr(target) => target,
    };
    if !allowed(op, target, value, context)? {
        return Ok(());
    }
    let container = match target.urn {
        Some(urn) => {
            let key = doc
                .keys()
                .find(|key| key.eq_ignore_ascii_case(urn))
                .cloned()
                .unwrap_or_else(|| urn.to_string());
            let slot = doc.entry(key).or_insert_with(|| Value::Object(Map::new()));
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            match slot {
                Value::Object(container) => container,
                _ => return Ok(()),
            }
        }
        None => doc,
    };
    let current = take_ci(container, &target.attr.name);
    if let Some(new) = compute(op, target, value, current)? {
        container.insert(target.attr.name.clone(), new);
    }
    Ok(())
}

/// Mutability (RFC 7644 §3.5.2): `id`, `meta` and other read-only attributes cannot be
/// changed, and a required attribute cannot be removed (§3.5.2.2); `false` when the
/// operation is a no-op (the resource's own `id` echoed).
fn allowed(
    op: PatchOpKind,
    target: &Target<'_>,
    value: Option<&Value>,
    context: &Context<'_>,
) -> Result<bool, ScimError> {
    let attr = target.attr;
    if target.urn.is_none() && attr.name == "id" {
        let echoed = op != PatchOpKind::Remove
            && target.sub.is_none()
            && target.filter.is_none()
            && value.and_then(Value::as_str) == Some(context.id);
        if echoed {
            return Ok(false);
        }
        return Err(ScimError::mutability("`id` is set by the service provider"));
    }
    if attr.mutability == Mutability::ReadOnly {
        return Err(ScimError::mutability(format!(
            "{} is read-only",
            quote(&attr.name)
        )));
    }
    if target
        .sub
        .is_some_and(|sub| sub.mutability == Mutability::ReadOnly)
    {
        return Err(ScimError::mutability(format!(
            "{} is read-only",
            quote(&target.text)
        )));
    }
    let unassigns = op == PatchOpKind::Remove
        || (op == PatchOpKind::Replace && value.is_none_or(Value::is_null));
    let required = match (&target.filter, target.sub) {
        (None, None) => attr.required,
        (None, Some(sub)) => sub.required,
        (Some(_), _) => false,
    };
    if unassigns && required {
        return Err(ScimError::mutability(format!(
            "{} is required: it can be replaced, not removed",
            quote(&target.text)
        )));
    }
    Ok(true)
}

fn compute(
    op: PatchOpKind,
    target: &Target<'_>,
    value: Option<&Value>,
    current: Option<Value>,
) -> Result<Option<Value>, ScimError> {
    let attr = target.attr;
    match (&target.filter, target.sub) {
        (None, None) => whole(op, target, value, current),
        (None, Some(sub)) if attr.multi_valued => {
            let mut items = into_items(current);
            let new = sub_value(op, sub, value, &target.text)?;
            if items.is_empty() && op != PatchOpKind::Remove {
                if let Some(new) = new {
                    let mut item = Map::new();
                    item.insert(sub.name.clone(), new);
                    items.push(Value::Object(item));
                }
            } else {
                let flags = vec![true; items.len()];
                set_sub(op, sub, new.as_ref(), &mut items, &flags, &target.text)?;
            }
            finish(attr, items, &target.text)
        }
        (None, Some(sub)) => {
            let mut items = into_items(current);
            if items.is_empty() {
                items.push(Value::Object(Map::new()));
            }
            let new = sub_value(op, sub, value, &target.text)?;
            set_sub(op, sub, new.as_ref(), &mut items, &[true], &target.text)?;
            Ok(items.into_iter().next().filter(|item| !is_empty(item)))
        }
        (Some(selection), sub) => filtered(op, target, selection, sub, value, current),
    }
}

/// add, replace or remove of a whole attribute.
fn whole(
    op: PatchOpKind,
    target: &Target<'_>,
    value: Option<&Value>,
    current: Option<Value>,
) -> Result<Option<Value>, ScimError> {
    let attr = target.attr;
    let name = target.text.as_str();
    let value = match (op, value) {
        (PatchOpKind::Remove, Some(listed)) if attr.multi_valued && !listed.is_null() => {
            // Entra removes members by listing them: `{"op":"Remove","path":"members",
            // "value":[{"value":"id"}]}`.
            let listed = normalize_value(attr, &as_array(listed), name)?;
            let listed = into_items(listed);
            let mut items = into_items(current);
            items.retain(|item| !listed.iter().any(|gone| same_value(attr, item, gone)));
            return finish(attr, items, name);
        }
        (PatchOpKind::Remove, _) | (PatchOpKind::Replace, None | Some(Value::Null)) => {
            return Ok(None);
        }
        (PatchOpKind::Add, None | Some(Value::Null)) => return Ok(current),
        (_, Some(value)) => value,
    };
    if attr.multi_valued {
        let incoming = into_items(normalize_value(attr, &as_array(value), name)?);
        if op == PatchOpKind::Replace {
            return finish(attr, incoming, name);
        }
        let mut items = into_items(current);
        for item in incoming {
            if items.iter().any(|known| same_value(attr, known, &item)) {
                continue;
            }
            if is_primary(&item) {
                clear_primary(&mut items);
            }
            items.push(item);
        }
        return finish(attr, items, name);
    }
    let incoming = normalize_value(attr, value, name)?;
    if attr.ty != AttrType::Complex {
        return Ok(incoming.or(if op == PatchOpKind::Add {
            current
        } else {
            None
        }));
    }
    // RFC 7644 §3.5.2.1, §3.5.2.3: sub-attributes not given are left as they were. A new
    // `value` names another resource, though (a new manager): then nothing of the old stays.
    let Some(Value::Object(incoming)) = incoming else {
        return Ok(current);
    };
    let mut object = match current {
        Some(Value::Object(object)) => object,
        _ => Map::new(),
    };
    if let (Some(old), Some(new)) = (object.get("value"), incoming.get("value"))
        && old != new
    {
        object.clear();
    }
    object.extend(incoming);
    Ok(Some(Value::Object(object)))
}

/// `attr[filter]` and `attr[filter].sub`.
fn filtered(
    op: PatchOpKind,
    target: &Target<'_>,
    selection: &Selection,
    sub: Option<&Attribute>,
    value: Option<&Value>,
    current: Option<Value>,
) -> Result<Option<Value>, ScimError> {
    let attr = target.attr;
    let name = target.text.as_str();
    let mut items = into_items(current);
    let flags: Vec<bool> = items
        .iter()
        .map(|item| {
            item.as_object()
                .is_some_and(|item| selection.filter.matches(item))
        })
        .collect();
    let matched = flags.iter().any(|flag| *flag);
    let no_target = || ScimError::no_target(format!("{} matches no value", quote(name)));
    match (op, sub) {
        (PatchOpKind::Remove, None) => {
            // Removing what is not there leaves the resource as asked: a success, so that a
            // retried request or a member already gone does not fail.
            let mut flags = flags.iter();
            items.retain(|_| !flags.next().copied().unwrap_or(false));
        }
        (PatchOpKind::Remove, Some(sub)) => {
            set_sub(op, sub, None, &mut items, &flags, name)?;
        }
        (_, None) => {
            let Some(value) = value.filter(|value| !value.is_null()) else {
                return Err(ScimError::invalid_value(format!(
                    "{} needs a value",
                    quote(name)
                )));
            };
            let element = match value {
                Value::Array(items) if items.len() == 1 => {
                    items.first().cloned().unwrap_or_default()
                }
                other => other.clone(),
            };
            let incoming = into_items(normalize_value(attr, &as_array(&element), name)?);
            let Some(Value::Object(incoming)) = incoming.into_iter().next() else {
                return Ok(finish_items(items));
            };
            if matched {
                for (item, _) in items.iter_mut().zip(&flags).filter(|(_, hit)| **hit) {
                    if op == PatchOpKind::Replace {
                        *item = Value::Object(incoming.clone());
                    } else if let Value::Object(object) = item {
                        object.extend(incoming.clone());
                    }
                }
            } else if op == PatchOpKind::Add {
                let mut created = created_from(selection).ok_or_else(no_target)?;
                created.extend(incoming);
                if is_primary(&Value::Object(created.clone())) {
                    clear_primary(&mut items);
                }
                items.push(Value::Object(created));
            } else {
                return Err(no_target());
            }
        }
        (_, Some(sub)) => {
            let new = sub_value(op, sub, value, name)?;
            if matched {
                set_sub(op, sub, new.as_ref(), &mut items, &flags, name)?;
            } else if let Some(new) = new.clone() {
                // Entra sets `emails[type eq "work"].value` on a user with no work address
                // and expects one to be made.
                let mut created = created_from(selection).ok_or_else(no_target)?;
                created.insert(sub.name.clone(), new);
                items.push(Value::Object(created));
            }
            if sub.name == "primary" && new == Some(Value::Bool(true)) {
                // The values not selected (a value just created comes after the flags) stop
                // being primary.
                for (index, item) in items.iter_mut().enumerate() {
                    let selected = flags.get(index).copied().unwrap_or(true);
                    if let (false, Value::Object(object)) = (selected, item) {
                        object.remove("primary");
                    }
                }
            }
        }
    }
    finish(attr, items, name)
}

fn created_from(selection: &Selection) -> Option<Map<String, Value>> {
    Some(selection.creates.as_ref()?.iter().cloned().collect())
}

fn sub_value(
    op: PatchOpKind,
    sub: &Attribute,
    value: Option<&Value>,
    name: &str,
) -> Result<Option<Value>, ScimError> {
    match (op, value) {
        (PatchOpKind::Remove, _) | (_, None) => Ok(None),
        (_, Some(value)) => normalize_value(sub, value, name),
    }
}

/// Sets (or, given `None` by `replace` or `remove`, clears) `sub` in the flagged values.
fn set_sub(
    op: PatchOpKind,
    sub: &Attribute,
    new: Option<&Value>,
    items: &mut [Value],
    flags: &[bool],
    name: &str,
) -> Result<(), ScimError> {
    for (item, _) in items.iter_mut().zip(flags).filter(|(_, hit)| **hit) {
        let Value::Object(object) = item else {
            continue;
        };
        let old = object.get(&sub.name);
        if sub.mutability == Mutability::Immutable && old.is_some() && old != new {
            return Err(ScimError::mutability(format!(
                "{} is immutable",
                quote(name)
            )));
        }
        match new {
            Some(new) => {
                object.insert(sub.name.clone(), new.clone());
            }
            None if op != PatchOpKind::Add => {
                object.remove(&sub.name);
            }
            None => {}
        }
    }
    Ok(())
}

/// Whether two values of a multi-valued attribute are the same: group members by their
/// `value` (the member's id, immutable), other values when equal.
fn same_value(attr: &Attribute, left: &Value, right: &Value) -> bool {
    let by_id = attr
        .sub("value")
        .is_some_and(|value| value.mutability == Mutability::Immutable);
    match (by_id, left.get("value"), right.get("value")) {
        (true, Some(left), Some(right)) => left == right,
        _ => left == right,
    }
}

fn is_primary(item: &Value) -> bool {
    item.get("primary") == Some(&Value::Bool(true))
}

/// RFC 7644 §3.5.2: a value added as primary makes every other value not primary.
fn clear_primary(items: &mut [Value]) {
    for item in items {
        if let Value::Object(object) = item {
            object.remove("primary");
        }
    }
}

fn finish(attr: &Attribute, items: Vec<Value>, name: &str) -> Result<Option<Value>, ScimError> {
    let items: Vec<Value> = items.into_iter().filter(|item| !is_empty(item)).collect();
    check_primary(attr, &items, name)?;
    Ok(finish_items(items))
}

fn finish_items(items: Vec<Value>) -> Option<Value> {
    (!items.is_empty()).then_some(Value::Array(items))
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Object(members) => members.values().all(Value::is_null),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

fn as_array(value: &Value) -> Value {
    match value {
        Value::Array(_) => value.clone(),
        other => Value::Array(vec![other.clone()]),
    }
}

fn into_items(value: Option<Value>) -> Vec<Value> {
    match value {
        Some(Value::Array(items)) => items,
        Some(Value::Null) | None => Vec::new(),
        Some(other) => vec![other],
    }
}

/// Removes a member by key, ignoring ASCII case, and returns its value.
fn take_ci(object: &mut Map<String, Value>, key: &str) -> Option<Value> {
    let actual = object
        .keys()
        .find(|name| name.eq_ignore_ascii_case(key))
        .cloned()?;
    object.remove(&actual)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::ScimType;
    use crate::scim::resource::{Mode, normalize};
    use crate::scim::schema::{ENTERPRISE_URN, GROUP_URN, USER_URN};
    use proptest::prelude::*;
    use serde_json::json;

    fn base_user() -> Value {
        json!({
            "schemas": [USER_URN],
            "userName": "bjensen",
            "active": true,
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [
                {"value": "bjensen@example.com", "type": "work", "primary": true},
                {"value": "babs@jensen.org", "type": "home"},
            ],
        })
    }

    fn patch(kind: ResourceKind, doc: &Value, body: Value) -> Result<Value, ScimError> {
        let set = SchemaSet::default();
        let request = PatchRequest::parse(&body, MAX_OPERATIONS)?;
        let mut doc = normalize(&set, kind, doc, Mode::Write)?;
        doc.remove("schemas");
        let context = Context {
            set: &set,
            kind,
            id: "self-id",
        };
        apply(&request, &mut doc, &context)?;
        normalize(&set, kind, &Value::Object(doc), Mode::Patched).map(Value::Object)
    }

    fn ops(operations: Value) -> Value {
        json!({"schemas": [PATCH_URN], "Operations": operations})
    }

    fn patch_user(operations: Value) -> Result<Value, ScimError> {
        patch(ResourceKind::User, &base_user(), ops(operations))
    }

    #[test]
    fn okta_deactivates_with_a_pathless_replace() {
        let out = patch_user(json!([{"op": "replace", "value": {"active": false}}])).unwrap();
        assert_eq!(out["active"], json!(false));
        assert_eq!(out["userName"], json!("bjensen"));
    }

    #[test]
    fn okta_password_change_is_accepted_and_dropped() {
        let out = patch_user(json!([{"op": "replace", "value": {"password": "n3w!"}}])).unwrap();
        assert!(out.get("password").is_none());
    }

    #[test]
    fn entra_capitalized_ops_and_string_booleans() {
        let body = json!({
            "schemas": [PATCH_URN],
            "operations": [
                {"op": "Replace", "path": "active", "value": "False"},
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "new@example.com"},
                {"op": "Replace", "path": "name.familyName", "value": "Jensen-Smith"},
                {"op": "Add", "path": "title", "value": "Guide"},
            ],
        });
        let out = patch(ResourceKind::User, &base_user(), body).unwrap();
        assert_eq!(out["active"], json!(false));
        assert_eq!(out["emails"][0]["value"], json!("new@example.com"));
        assert_eq!(out["emails"][0]["type"], json!("work"));
        assert_eq!(out["emails"][1]["value"], json!("babs@jensen.org"));
        assert_eq!(
            out["name"],
            json!({"givenName": "Barbara", "familyName": "Jensen-Smith"})
        );
        assert_eq!(out["title"], json!("Guide"));
    }

    #[test]
    fn entra_creates_the_value_a_type_filter_names() {
        let out = patch_user(json!([
            {"op": "Add", "path": "addresses[type eq \"work\"].streetAddress", "value": "1 Main St"},
            {"op": "Replace", "path": "addresses[type eq \"work\"].locality", "value": "Springfield"},
            {"op": "Replace", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0100"},
        ]))
        .unwrap();
        assert_eq!(
            out["addresses"],
            json!([{"type": "work", "streetAddress": "1 Main St", "locality": "Springfield"}])
        );
        assert_eq!(
            out["phoneNumbers"],
            json!([{"type": "mobile", "value": "+1 555 0100"}])
        );
        // Without a filter that says what to create, no match is `noTarget` (RFC 7644 §3.5.2.3).
        let error = patch_user(json!([
            {"op": "replace", "path": "emails[value co \"nowhere\"].type", "value": "other"}
        ]))
        .unwrap_err();
        assert_eq!(error.scim_type(), Some(ScimType::NoTarget));
        let error = patch_user(json!([
            {"op": "replace", "path": "emails[type eq \"other\"]", "value": {"value": "x"}}
        ]))
        .unwrap_err();
        assert_eq!(error.scim_type(), Some(ScimType::NoTarget));
    }

    #[test]
    fn entra_pathless_keys_are_paths() {
        let out = patch_user(json!([{"op": "Replace", "value": {
            "name.givenName": "Babs",
            "emails[type eq \"work\"].value": "b@example.com",
            format!("{ENTERPRISE_URN}:employeeNumber"): "701984",
            ENTERPRISE_URN: {"department": "Tours"},
        }}]))
        .unwrap();
        assert_eq!(out["name"]["givenName"], json!("Babs"));
        assert_eq!(out["name"]["familyName"], json!("Jensen"));
        assert_eq!(out["emails"][0]["value"], json!("b@example.com"));
        assert_eq!(
            out[ENTERPRISE_URN],
            json!({"employeeNumber": "701984", "department": "Tours"})
        );
        assert_eq!(out["schemas"], json!([USER_URN, ENTERPRISE_URN]));
    }

    #[test]
    fn entra_manager_as_id_or_object_then_removed() {
        let path = format!("{ENTERPRISE_URN}:manager");
        let out = patch_user(json!([{"op": "Add", "path": path, "value": "26118915"}])).unwrap();
        assert_eq!(out[ENTERPRISE_URN]["manager"], json!({"value": "26118915"}));
        let out = patch_user(json!([
            {"op": "Add", "path": path, "value": "26118915"},
            {"op": "Replace", "path": path, "value": {"value": "11111111"}},
        ]))
        .unwrap();
        assert_eq!(out[ENTERPRISE_URN]["manager"], json!({"value": "11111111"}));
        let out = patch_user(json!([
            {"op": "Add", "path": path, "value": "26118915"},
            {"op": "Remove", "path": path},
        ]))
        .unwrap();
        assert!(out.get(ENTERPRISE_URN).is_none());
        assert_eq!(out["schemas"], json!([USER_URN]));
    }

    #[test]
    fn add_appends_and_dedupes_and_moves_primary() {
        let out = patch_user(json!([{"op": "add", "path": "emails", "value": [
            {"value": "babs@jensen.org", "type": "home"},
            {"value": "b@new.org", "type": "other", "primary": true},
        ]}]))
        .unwrap();
        let emails = out["emails"].as_array().unwrap();
        assert_eq!(emails.len(), 3);
        assert_eq!(
            emails
                .iter()
                .filter(|e| e["primary"] == json!(true))
                .count(),
            1
        );
        assert_eq!(emails[2]["primary"], json!(true));
        // A single value (not an array) is accepted too.
        let out = patch_user(
            json!([{"op": "add", "path": "roles", "value": {"value": "admin", "primary": "True"}}]),
        )
        .unwrap();
        assert_eq!(out["roles"], json!([{"value": "admin", "primary": true}]));
    }

    #[test]
    fn replace_without_filter_replaces_all_values() {
        let out = patch_user(
            json!([{"op": "replace", "path": "emails", "value": [{"value": "only@x.org"}]}]),
        )
        .unwrap();
        assert_eq!(out["emails"], json!([{"value": "only@x.org"}]));
    }

    #[test]
    fn removals() {
        let out =
            patch_user(json!([{"op": "remove", "path": "emails[type eq \"home\"]"}])).unwrap();
        assert_eq!(out["emails"].as_array().unwrap().len(), 1);
        let out = patch_user(json!([{"op": "remove", "path": "emails[type eq \"fax\"]"}])).unwrap();
        assert_eq!(out["emails"].as_array().unwrap().len(), 2);
        let out = patch_user(json!([{"op": "remove", "path": "emails"}])).unwrap();
        assert!(out.get("emails").is_none());
        let out = patch_user(json!([{"op": "remove", "path": "nickName"}])).unwrap();
        assert!(out.get("nickName").is_none());
        let out = patch_user(
            json!([{"op": "replace", "path": "emails[type eq \"home\"].primary", "value": true}]),
        )
        .unwrap();
        assert_eq!(out["emails"][1]["primary"], json!(true));
        assert!(out["emails"][0].get("primary").is_none());
        let out = patch_user(json!([{"op": "remove", "path": "emails[type eq \"work\"].primary"}]))
            .unwrap();
        assert!(out["emails"][0].get("primary").is_none());
        let out = patch_user(json!([{"op": "remove", "path": "name.givenName"}])).unwrap();
        assert_eq!(out["name"], json!({"familyName": "Jensen"}));
        let error = patch_user(json!([{"op": "remove"}])).unwrap_err();
        assert_eq!(error.scim_type(), Some(ScimType::NoTarget));
        let error = patch_user(json!([{"op": "remove", "path": "userName"}])).unwrap_err();
        assert_eq!(error.scim_type(), Some(ScimType::Mutability));
        let error =
            patch_user(json!([{"op": "replace", "value": {"userName": null}}])).unwrap_err();
        assert_eq!(error.scim_type(), Some(ScimType::Mutability));
        let error =
            patch_user(json!([{"op": "replace", "path": "userName", "value": " "}])).unwrap_err();
        assert_eq!(error.scim_type(), Some(ScimType::InvalidValue));
    }

    #[test]
    fn mutability() {
        for (operation, scim_type) in [
            (
                json!({"op": "replace", "path": "id", "value": "other"}),
                ScimType::Mutability,
            ),
            (json!({"op": "remove", "path": "id"}), ScimType::Mutability),
            (
                json!({"op": "replace", "path": "meta.created", "value": "2020-01-01T00:00:00Z"}),
                ScimType::Mutability,
            ),
            (
                json!({"op": "add", "path": "groups", "value": [{"value": "g"}]}),
                ScimType::Mutability,
            ),
            (
                json!({"op": "replace", "value": {"id": "other"}}),
                ScimType::Mutability,
            ),
            (
                json!({"op": "replace", "path": "nope", "value": 1}),
                ScimType::InvalidPath,
            ),
            (
                json!({"op": "replace", "path": "name.nope", "value": 1}),
                ScimType::InvalidPath,
            ),
            (
                json!({"op": "replace", "path": "name[givenName eq \"x\"]", "value": 1}),
                ScimType::InvalidPath,
            ),
            (
                json!({"op": "replace", "path": "emails[nope eq \"x\"].value", "value": 1}),
                ScimType::InvalidPath,
            ),
            (
                json!({"op": "replace", "path": "active", "value": "maybe"}),
                ScimType::InvalidValue,
            ),
            (
                json!({"op": "replace", "value": "x"}),
                ScimType::InvalidValue,
            ),
            (
                json!({"op": "add", "path": "title"}),
                ScimType::InvalidSyntax,
            ),
            (
                json!({"op": "move", "path": "title"}),
                ScimType::InvalidSyntax,
            ),
        ] {
            let error = patch_user(json!([operation.clone()])).unwrap_err();
            assert_eq!(error.scim_type(), Some(scim_type), "{operation}: {error}");
            assert!(error.detail().starts_with("operation 1: "), "{error}");
        }
        // Okta's group rename echoes the id: accepted.
        let out = patch_user(json!([{"op": "replace", "value": {"id": "self-id", "title": "x"}}]))
            .unwrap();
        assert_eq!(out["title"], json!("x"));
    }

    fn group() -> Value {
        json!({
            "schemas": [GROUP_URN],
            "displayName": "SOC Analysts",
            "members": [{"value": "u1", "type": "User"}, {"value": "u2", "type": "User"}],
        })
    }

    #[test]
    fn okta_and_entra_group_membership() {
        let members = |out: &Value| -> Vec<String> {
            out["members"].as_array().map_or(Vec::new(), |items| {
                items
                    .iter()
                    .map(|m| m["value"].as_str().unwrap().to_string())
                    .collect()
            })
        };
        let add = ops(json!([{"op": "add", "path": "members", "value": [
            {"value": "u3", "display": "test.user@okta.local"},
            {"value": "u1", "display": "dupe"},
        ]}]));
        let out = patch(ResourceKind::Group, &group(), add).unwrap();
        assert_eq!(members(&out), ["u1", "u2", "u3"]);
        let okta_remove = ops(json!([{"op": "remove", "path": "members[value eq \"u2\"]"}]));
        assert_eq!(
            members(&patch(ResourceKind::Group, &group(), okta_remove).unwrap()),
            ["u1"]
        );
        let entra_remove = ops(
            json!([{"op": "Remove", "path": "members", "value": [{"$ref": null, "value": "u1"}]}]),
        );
        assert_eq!(
            members(&patch(ResourceKind::Group, &group(), entra_remove).unwrap()),
            ["u2"]
        );
        let entra_add = ops(
            json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": "u9"}]}]),
        );
        assert_eq!(
            members(&patch(ResourceKind::Group, &group(), entra_add).unwrap()),
            ["u1", "u2", "u9"]
        );
        let replace =
            ops(json!([{"op": "replace", "path": "members", "value": [{"value": "u7"}]}]));
        assert_eq!(
            members(&patch(ResourceKind::Group, &group(), replace).unwrap()),
            ["u7"]
        );
        let okta_rename = ops(
            json!([{"op": "replace", "value": {"id": "self-id", "displayName": "SOC Tier 1"}}]),
        );
        let out = patch(ResourceKind::Group, &group(), okta_rename).unwrap();
        assert_eq!(out["displayName"], json!("SOC Tier 1"));
        assert_eq!(members(&out), ["u1", "u2"]);
        let entra_rename =
            ops(json!([{"op": "Replace", "path": "displayName", "value": "Renamed"}]));
        assert_eq!(
            patch(ResourceKind::Group, &group(), entra_rename).unwrap()["displayName"],
            json!("Renamed")
        );
        let all_gone = ops(json!([{"op": "remove", "path": "members"}]));
        assert!(
            patch(ResourceKind::Group, &group(), all_gone)
                .unwrap()
                .get("members")
                .is_none()
        );
        let immutable = ops(
            json!([{"op": "replace", "path": "members[value eq \"u1\"].value", "value": "u5"}]),
        );
        assert_eq!(
            patch(ResourceKind::Group, &group(), immutable)
                .unwrap_err()
                .scim_type(),
            Some(ScimType::Mutability)
        );
    }

    #[test]
    fn request_envelope() {
        let request = |body: Value| PatchRequest::parse(&body, 3);
        assert!(request(json!({"Operations": [{"op": "add", "value": {}}]})).is_err());
        assert!(request(json!({"schemas": [PATCH_URN], "Operations": []})).is_err());
        assert!(request(json!({"schemas": [PATCH_URN], "Operations": {}})).is_err());
        let many = json!({"schemas": [PATCH_URN], "Operations": vec![json!({"op": "remove", "path": "title"}); 4]});
        let error = request(many).unwrap_err();
        assert_eq!(error.scim_type(), Some(ScimType::InvalidValue));
        assert!(error.detail().contains("at most 3"));
        let bad_path = request(
            json!({"schemas": [PATCH_URN], "Operations": [{"op": "remove", "path": "emails[type"}]}),
        );
        assert_eq!(
            bad_path.unwrap_err().scim_type(),
            Some(ScimType::InvalidPath)
        );
        let ok = request(
            json!({"schemas": [PATCH_URN], "OPERATIONS": [{"OP": "Remove", "Path": "title"}]}),
        )
        .unwrap();
        assert_eq!(ok.operations[0].op, PatchOpKind::Remove);
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i32>().prop_map(Value::from),
            prop_oneof![
                Just("work".to_string()),
                Just("True".to_string()),
                Just("2026-03-02T09:15:00Z".to_string()),
                "[a-z@.]{0,8}",
            ]
            .prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            let keys = prop_oneof![
                Just("value".to_string()),
                Just("type".to_string()),
                Just("primary".to_string()),
                Just("givenName".to_string()),
                Just("emails".to_string()),
                Just("active".to_string()),
                Just("name".to_string()),
                Just("id".to_string()),
                "[a-zA-Z.]{1,6}",
            ];
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map(keys, inner, 0..4)
                    .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }

    fn arb_path() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            Just(json!("emails")),
            Just(json!("emails[type eq \"work\"].value")),
            Just(json!("emails[type eq \"work\"]")),
            Just(json!("emails.value")),
            Just(json!("name")),
            Just(json!("name.givenName")),
            Just(json!("active")),
            Just(json!("id")),
            Just(json!(format!("{ENTERPRISE_URN}:manager"))),
            Just(json!(ENTERPRISE_URN)),
            "[a-z\\[\\]\" .]{0,12}".prop_map(Value::String),
            any::<i32>().prop_map(Value::from),
        ]
    }

    proptest! {
        #[test]
        fn patch_never_panics(
            operations in proptest::collection::vec(
                (prop_oneof![Just("add"), Just("Replace"), Just("remove"), Just("x")], arb_path(), arb_json()),
                1..5,
            )
        ) {
            let operations: Vec<Value> = operations
                .into_iter()
                .map(|(op, path, value)| json!({"op": op, "path": path, "value": value}))
                .collect();
            let _ = patch_user(Value::Array(operations));
        }

        #[test]
        fn envelope_never_panics(body in arb_json()) {
            let _ = PatchRequest::parse(&body, MAX_OPERATIONS);
        }
    }
}
