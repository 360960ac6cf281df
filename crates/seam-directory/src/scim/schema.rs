//! The schemas as data (RFC 7643 §4, §7, §8.7.1): the User and Group core schemas, the
//! Enterprise User extension and a deployment's own extensions, with the `/Schemas` documents
//! rendered from the same data that validates resources.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::error::quote;
use AttrType::{Binary, Boolean, Complex, DateTime, Reference, String as Str};

pub const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE_URN: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const SCHEMA_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// The two resource types this provider serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Default)]
pub enum ResourceKind {
    #[default]
    User,
    Group,
}

impl ResourceKind {
    /// `User` or `Group`: the resource type's id and `meta.resourceType`.
    pub fn name(self) -> &'static str {
        match self {
            ResourceKind::User => "User",
            ResourceKind::Group => "Group",
        }
    }

    /// `/Users` or `/Groups`.
    pub fn endpoint(self) -> &'static str {
        match self {
            ResourceKind::User => "/Users",
            ResourceKind::Group => "/Groups",
        }
    }

    pub fn core_urn(self) -> &'static str {
        match self {
            ResourceKind::User => USER_URN,
            ResourceKind::Group => GROUP_URN,
        }
    }

    /// The kind named by a resource type name (`User`, case-insensitively).
    pub fn from_name(name: &str) -> Option<ResourceKind> {
        [ResourceKind::User, ResourceKind::Group]
            .into_iter()
            .find(|kind| kind.name().eq_ignore_ascii_case(name))
    }
}

/// An attribute's data type (RFC 7643 §2.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AttrType {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Reference,
    Complex,
    Binary,
}

impl AttrType {
    pub fn as_str(self) -> &'static str {
        match self {
            AttrType::String => "string",
            AttrType::Boolean => "boolean",
            AttrType::Decimal => "decimal",
            AttrType::Integer => "integer",
            AttrType::DateTime => "dateTime",
            AttrType::Reference => "reference",
            AttrType::Complex => "complex",
            AttrType::Binary => "binary",
        }
    }

    /// Whether values compare as text (`co`, `sw`, `ew` and ordering by characters).
    pub fn is_textual(self) -> bool {
        matches!(
            self,
            AttrType::String | AttrType::Reference | AttrType::Binary | AttrType::DateTime
        )
    }
}

/// RFC 7643 §7 `mutability`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
    WriteOnly,
}

impl Mutability {
    pub fn as_str(self) -> &'static str {
        match self {
            Mutability::ReadOnly => "readOnly",
            Mutability::ReadWrite => "readWrite",
            Mutability::Immutable => "immutable",
            Mutability::WriteOnly => "writeOnly",
        }
    }
}

/// RFC 7643 §7 `returned`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Returned {
    Always,
    Never,
    Default,
    Request,
}

impl Returned {
    pub fn as_str(self) -> &'static str {
        match self {
            Returned::Always => "always",
            Returned::Never => "never",
            Returned::Default => "default",
            Returned::Request => "request",
        }
    }
}

/// RFC 7643 §7 `uniqueness`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Uniqueness {
    None,
    Server,
    Global,
}

impl Uniqueness {
    pub fn as_str(self) -> &'static str {
        match self {
            Uniqueness::None => "none",
            Uniqueness::Server => "server",
            Uniqueness::Global => "global",
        }
    }
}

/// One attribute definition and its characteristics.
#[derive(Clone, Debug, PartialEq)]
pub struct Attribute {
    pub name: String,
    pub ty: AttrType,
    pub multi_valued: bool,
    pub description: String,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    pub uniqueness: Uniqueness,
    pub canonical_values: Vec<String>,
    pub reference_types: Vec<String>,
    pub sub_attributes: Vec<Attribute>,
}

impl Attribute {
    /// A single-valued, optional, case-insensitive, read-write attribute returned by default.
    pub fn new(name: &str, ty: AttrType, description: &str) -> Attribute {
        Attribute {
            name: name.to_string(),
            ty,
            multi_valued: false,
            description: description.to_string(),
            required: false,
            case_exact: false,
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            uniqueness: Uniqueness::None,
            canonical_values: Vec::new(),
            reference_types: Vec::new(),
            sub_attributes: Vec::new(),
        }
    }

    fn multi(mut self) -> Attribute {
        self.multi_valued = true;
        self
    }

    fn required(mut self) -> Attribute {
        self.required = true;
        self
    }

    fn case_exact(mut self) -> Attribute {
        self.case_exact = true;
        self
    }

    fn mutability(mut self, mutability: Mutability) -> Attribute {
        self.mutability = mutability;
        self
    }

    fn returned(mut self, returned: Returned) -> Attribute {
        self.returned = returned;
        self
    }

    fn unique(mut self) -> Attribute {
        self.uniqueness = Uniqueness::Server;
        self
    }

    fn canonical(mut self, values: &[&str]) -> Attribute {
        self.canonical_values = values.iter().map(|value| value.to_string()).collect();
        self
    }

    fn refs(mut self, types: &[&str]) -> Attribute {
        self.reference_types = types.iter().map(|value| value.to_string()).collect();
        self
    }

    fn subs(mut self, subs: Vec<Attribute>) -> Attribute {
        self.sub_attributes = subs;
        self
    }

    /// A sub-attribute by name, case-insensitively (RFC 7643 §2.1).
    pub fn sub(&self, name: &str) -> Option<&Attribute> {
        self.sub_attributes
            .iter()
            .find(|sub| sub.name.eq_ignore_ascii_case(name))
    }

    /// The attribute as a `/Schemas` document lists it (RFC 7643 §7).
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        out.insert("name".into(), json!(self.name));
        out.insert("type".into(), json!(self.ty.as_str()));
        out.insert("multiValued".into(), json!(self.multi_valued));
        out.insert("description".into(), json!(self.description));
        out.insert("required".into(), json!(self.required));
        out.insert("caseExact".into(), json!(self.case_exact));
        out.insert("mutability".into(), json!(self.mutability.as_str()));
        out.insert("returned".into(), json!(self.returned.as_str()));
        out.insert("uniqueness".into(), json!(self.uniqueness.as_str()));
        if !self.canonical_values.is_empty() {
            out.insert("canonicalValues".into(), json!(self.canonical_values));
        }
        if self.ty == AttrType::Reference {
            out.insert("referenceTypes".into(), json!(self.reference_types));
        }
        if self.ty == AttrType::Complex {
            let subs: Vec<Value> = self.sub_attributes.iter().map(Attribute::to_json).collect();
            out.insert("subAttributes".into(), Value::Array(subs));
        }
        Value::Object(out)
    }
}

/// A schema: an id (its URN), a name, a description and attributes.
#[derive(Clone, Debug, PartialEq)]
pub struct Schema {
    pub id: String,
    pub name: String,
    pub description: String,
    pub attributes: Vec<Attribute>,
}

impl Schema {
    /// An attribute by name, case-insensitively.
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes
            .iter()
            .find(|attribute| attribute.name.eq_ignore_ascii_case(name))
    }

    /// The `/Schemas/<id>` document; `base_url` is the service's root, without a trailing `/`.
    pub fn to_json(&self, base_url: &str) -> Value {
        let attributes: Vec<Value> = self.attributes.iter().map(Attribute::to_json).collect();
        json!({
            "schemas": [SCHEMA_URN],
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "attributes": attributes,
            "meta": {
                "resourceType": "Schema",
                "location": format!("{base_url}/Schemas/{}", self.id),
            },
        })
    }
}

/// A schema extension of a resource type.
#[derive(Clone, Debug, PartialEq)]
pub struct Extension {
    pub schema: Schema,
    pub resource: ResourceKind,
    /// Whether every resource of the type must carry it (`schemaExtensions[].required`).
    pub required: bool,
}

/// A deployment's own extension schema, as configured (TOML or JSON).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtensionConfig {
    /// The schema URN, such as `urn:ietf:params:scim:schemas:extension:seam:2.0:User`.
    pub urn: String,
    /// Defaults to the URN's last segment.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// `User` (the default) or `Group`.
    #[serde(default)]
    pub resource: ResourceKind,
    #[serde(default)]
    pub required: bool,
    pub attributes: Vec<ExtensionAttribute>,
}

/// One attribute of a configured extension.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtensionAttribute {
    pub name: String,
    /// `string` (the default), `boolean`, `integer`, `decimal`, `dateTime` or `reference`.
    #[serde(default = "default_type", rename = "type")]
    pub ty: AttrType,
    #[serde(default)]
    pub multi_valued: bool,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub case_exact: bool,
    #[serde(default)]
    pub description: Option<String>,
}

fn default_type() -> AttrType {
    AttrType::String
}

/// Why a configured extension was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("scim extension {0}")]
pub struct SchemaError(String);

/// Every schema the provider knows: the cores, the extensions and the common attributes
/// (`id`, `externalId`, `meta`), which RFC 7643 §3.1 puts in every resource but no schema
/// document lists.
#[derive(Clone, Debug, PartialEq)]
pub struct SchemaSet {
    user: Schema,
    group: Schema,
    extensions: Vec<Extension>,
    common: Vec<Attribute>,
}

impl Default for SchemaSet {
    fn default() -> SchemaSet {
        SchemaSet {
            user: user_schema(),
            group: group_schema(),
            extensions: vec![Extension {
                schema: enterprise_schema(),
                resource: ResourceKind::User,
                required: false,
            }],
            common: common_attributes(),
        }
    }
}

impl SchemaSet {
    /// The built-in schemas and the configured extensions.
    pub fn new(configured: &[ExtensionConfig]) -> Result<SchemaSet, SchemaError> {
        let mut set = SchemaSet::default();
        for config in configured {
            let extension = extension_from_config(config)?;
            let taken = [USER_URN, GROUP_URN]
                .into_iter()
                .chain(set.extensions.iter().map(|known| known.schema.id.as_str()))
                .any(|urn| urn.eq_ignore_ascii_case(&extension.schema.id));
            if taken {
                return Err(SchemaError(format!(
                    "{} is defined twice",
                    quote(&extension.schema.id)
                )));
            }
            set.extensions.push(extension);
        }
        Ok(set)
    }

    pub fn core(&self, kind: ResourceKind) -> &Schema {
        match kind {
            ResourceKind::User => &self.user,
            ResourceKind::Group => &self.group,
        }
    }

    /// The extensions of a resource type, in configuration order (enterprise first).
    pub fn extensions(&self, kind: ResourceKind) -> impl Iterator<Item = &Extension> {
        self.extensions
            .iter()
            .filter(move |extension| extension.resource == kind)
    }

    /// An extension of `kind` by URN, case-insensitively.
    pub fn extension(&self, kind: ResourceKind, urn: &str) -> Option<&Extension> {
        self.extensions(kind)
            .find(|extension| extension.schema.id.eq_ignore_ascii_case(urn))
    }

    /// `id`, `externalId`, `meta` and the `schemas` pseudo-attribute.
    pub fn common(&self) -> &[Attribute] {
        &self.common
    }

    pub fn common_attribute(&self, name: &str) -> Option<&Attribute> {
        self.common
            .iter()
            .find(|attribute| attribute.name.eq_ignore_ascii_case(name))
    }

    /// Every schema document, cores first.
    pub fn schemas(&self) -> impl Iterator<Item = &Schema> {
        [&self.user, &self.group]
            .into_iter()
            .chain(self.extensions.iter().map(|extension| &extension.schema))
    }

    /// A schema document by id, case-insensitively.
    pub fn schema(&self, urn: &str) -> Option<&Schema> {
        self.schemas()
            .find(|schema| schema.id.eq_ignore_ascii_case(urn))
    }
}

fn extension_from_config(config: &ExtensionConfig) -> Result<Extension, SchemaError> {
    let urn = config.urn.trim();
    let valid_urn = urn.len() > 4
        && urn
            .get(..4)
            .is_some_and(|head| head.eq_ignore_ascii_case("urn:"))
        && !urn.ends_with(':')
        && urn
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ":.-_".contains(c));
    if !valid_urn {
        return Err(SchemaError(format!(
            "{}: a URN such as `urn:ietf:params:scim:schemas:extension:seam:2.0:User` is expected",
            quote(urn)
        )));
    }
    if config.attributes.is_empty() {
        return Err(SchemaError(format!("{} has no attributes", quote(urn))));
    }
    let mut attributes: Vec<Attribute> = Vec::new();
    for attribute in &config.attributes {
        if !is_attr_name(&attribute.name) {
            return Err(SchemaError(format!(
                "{}: attribute name {} must start with a letter and hold only letters, digits, `-` and `_`",
                quote(urn),
                quote(&attribute.name)
            )));
        }
        if matches!(attribute.ty, AttrType::Complex | AttrType::Binary) {
            return Err(SchemaError(format!(
                "{}: attribute {} cannot be of type `{}`",
                quote(urn),
                quote(&attribute.name),
                attribute.ty.as_str()
            )));
        }
        if attributes
            .iter()
            .any(|known| known.name.eq_ignore_ascii_case(&attribute.name))
        {
            return Err(SchemaError(format!(
                "{}: attribute {} is defined twice",
                quote(urn),
                quote(&attribute.name)
            )));
        }
        let description = attribute.description.clone().unwrap_or_default();
        let mut defined = Attribute::new(&attribute.name, attribute.ty, &description);
        defined.multi_valued = attribute.multi_valued;
        defined.required = attribute.required;
        defined.case_exact = attribute.case_exact;
        if attribute.ty == AttrType::Reference {
            defined.reference_types = vec!["external".into()];
        }
        attributes.push(defined);
    }
    let name = config
        .name
        .clone()
        .unwrap_or_else(|| urn.rsplit(':').next().unwrap_or(urn).to_string());
    Ok(Extension {
        schema: Schema {
            id: urn.to_string(),
            name,
            description: config
                .description
                .clone()
                .unwrap_or_else(|| "Deployment extension".to_string()),
            attributes,
        },
        resource: config.resource,
        required: config.required,
    })
}

/// RFC 7643 §2.1 ATTRNAME: `ALPHA *(nameChar)`, plus `$ref`.
pub(crate) fn is_attr_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some('$') => name == "$ref",
        Some(first) if first.is_ascii_alphabetic() => {
            chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        }
        _ => false,
    }
}

fn plural(name: &str, description: &str, value: Attribute, types: &[&str]) -> Attribute {
    Attribute::new(name, Complex, description)
        .multi()
        .subs(vec![
            value,
            Attribute::new(
                "display",
                Str,
                "A human-readable name, primarily used for display.",
            ),
            Attribute::new("type", Str, "A label indicating the attribute's function.")
                .canonical(types),
            Attribute::new(
                "primary",
                Boolean,
                "Whether this is the primary value; `true` at most once.",
            ),
        ])
}

fn user_schema() -> Schema {
    let name =
        Attribute::new("name", Complex, "The components of the user's real name.").subs(vec![
            Attribute::new("formatted", Str, "The full name, formatted for display."),
            Attribute::new("familyName", Str, "The family name."),
            Attribute::new("givenName", Str, "The given name."),
            Attribute::new("middleName", Str, "The middle name(s)."),
            Attribute::new(
                "honorificPrefix",
                Str,
                "The honorific prefix(es), or title.",
            ),
            Attribute::new("honorificSuffix", Str, "The honorific suffix(es)."),
        ]);
    let addresses = Attribute::new("addresses", Complex, "A physical mailing address.")
        .multi()
        .subs(vec![
            Attribute::new(
                "formatted",
                Str,
                "The full mailing address, formatted for display.",
            ),
            Attribute::new("streetAddress", Str, "The full street address."),
            Attribute::new("locality", Str, "The city or locality."),
            Attribute::new("region", Str, "The state or region."),
            Attribute::new("postalCode", Str, "The zip code or postal code."),
            Attribute::new("country", Str, "The country name, ISO 3166-1 alpha-2."),
            Attribute::new("type", Str, "A label indicating the address's function.")
                .canonical(&["work", "home", "other"]),
            Attribute::new("primary", Boolean, "Whether this is the primary address."),
        ]);
    let read_only = |attribute: Attribute| attribute.mutability(Mutability::ReadOnly);
    let groups = read_only(
        Attribute::new(
            "groups",
            Complex,
            "The groups the user belongs to, set by the service provider from group membership.",
        )
        .multi()
        .subs(vec![
            read_only(Attribute::new("value", Str, "The group's id.")),
            read_only(
                Attribute::new("$ref", Reference, "The group's URI.").refs(&["User", "Group"]),
            ),
            read_only(Attribute::new("display", Str, "The group's display name.")),
            read_only(
                Attribute::new("type", Str, "Direct or indirect membership.")
                    .canonical(&["direct", "indirect"]),
            ),
        ]),
    );
    let value = |description: &str| Attribute::new("value", Str, description);
    Schema {
        id: USER_URN.to_string(),
        name: "User".to_string(),
        description: "User Account".to_string(),
        attributes: vec![
            Attribute::new(
                "userName",
                Str,
                "Unique identifier for the user, used to sign in; unique among users, case-insensitively.",
            )
            .required()
            .unique(),
            name,
            Attribute::new("displayName", Str, "The name of the user, suitable for display."),
            Attribute::new("nickName", Str, "The casual way to address the user."),
            Attribute::new("profileUrl", Reference, "A URI of the user's online profile.")
                .refs(&["external"]),
            Attribute::new("title", Str, "The user's title, such as \"Vice President\"."),
            Attribute::new("userType", Str, "The relationship between the organization and the user, such as Employee or Contractor."),
            Attribute::new("preferredLanguage", Str, "The user's preferred written or spoken language, as an HTTP Accept-Language value."),
            Attribute::new("locale", Str, "The user's default location for localization, such as en-US."),
            Attribute::new("timezone", Str, "The user's time zone, in IANA Time Zone database format."),
            Attribute::new("active", Boolean, "The user's administrative status."),
            Attribute::new("password", Str, "The user's cleartext password; accepted, never stored or returned.")
                .mutability(Mutability::WriteOnly)
                .returned(Returned::Never),
            plural("emails", "Email addresses for the user.", value("An email address."), &["work", "home", "other"]),
            plural("phoneNumbers", "Phone numbers for the user.", value("A phone number."), &["work", "home", "mobile", "fax", "pager", "other"]),
            plural("ims", "Instant messaging addresses for the user.", value("An instant messaging address."), &["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"]),
            plural("photos", "URLs of photos of the user.", Attribute::new("value", Reference, "The URL of a photo.").refs(&["external"]), &["photo", "thumbnail"]),
            addresses,
            groups,
            plural("entitlements", "A list of entitlements for the user.", value("The value of an entitlement."), &[]),
            plural("roles", "A list of roles for the user.", value("The value of a role."), &[]),
            plural("x509Certificates", "A list of certificates issued to the user.", Attribute::new("value", Binary, "The value of an X.509 certificate, base64."), &[]),
        ],
    }
}

fn enterprise_schema() -> Schema {
    Schema {
        id: ENTERPRISE_URN.to_string(),
        name: "EnterpriseUser".to_string(),
        description: "Enterprise User".to_string(),
        attributes: vec![
            Attribute::new(
                "employeeNumber",
                Str,
                "Numeric or alphanumeric identifier assigned to a person by the organization.",
            ),
            Attribute::new("costCenter", Str, "Identifies the name of a cost center."),
            Attribute::new(
                "organization",
                Str,
                "Identifies the name of an organization.",
            ),
            Attribute::new("division", Str, "Identifies the name of a division."),
            Attribute::new("department", Str, "Identifies the name of a department."),
            Attribute::new("manager", Complex, "The user's manager.").subs(vec![
                Attribute::new("value", Str, "The id of the manager's User resource."),
                Attribute::new("$ref", Reference, "The URI of the manager's User resource.")
                    .refs(&["User"]),
                Attribute::new("displayName", Str, "The manager's display name.")
                    .mutability(Mutability::ReadOnly),
            ]),
        ],
    }
}

fn group_schema() -> Schema {
    let immutable = |attribute: Attribute| attribute.mutability(Mutability::Immutable);
    Schema {
        id: GROUP_URN.to_string(),
        name: "Group".to_string(),
        description: "Group".to_string(),
        attributes: vec![
            Attribute::new("displayName", Str, "A human-readable name for the group.").required(),
            Attribute::new("members", Complex, "A list of members of the group.")
                .multi()
                .subs(vec![
                    immutable(Attribute::new(
                        "value",
                        Str,
                        "The id of the member resource.",
                    )),
                    immutable(
                        Attribute::new("$ref", Reference, "The URI of the member resource.")
                            .refs(&["User", "Group"]),
                    ),
                    Attribute::new(
                        "display",
                        Str,
                        "The member's display name, set by the service provider.",
                    )
                    .mutability(Mutability::ReadOnly),
                    immutable(
                        Attribute::new("type", Str, "The type of the member resource.")
                            .canonical(&["User", "Group"]),
                    ),
                ]),
        ],
    }
}

fn common_attributes() -> Vec<Attribute> {
    let read_only = |attribute: Attribute| attribute.mutability(Mutability::ReadOnly);
    vec![
        read_only(
            Attribute::new(
                "id",
                Str,
                "The service provider's unique identifier of the resource.",
            )
            .case_exact()
            .returned(Returned::Always)
            .unique(),
        ),
        Attribute::new(
            "externalId",
            Str,
            "The provisioning client's identifier of the resource.",
        )
        .case_exact(),
        read_only(
            Attribute::new("meta", Complex, "Resource metadata.").subs(vec![
                read_only(Attribute::new("resourceType", Str, "The resource type.").case_exact()),
                read_only(Attribute::new(
                    "created",
                    DateTime,
                    "When the resource was added.",
                )),
                read_only(Attribute::new(
                    "lastModified",
                    DateTime,
                    "When the resource was last changed.",
                )),
                read_only(
                    Attribute::new("location", Reference, "The URI of the resource.")
                        .refs(&["uri"]),
                ),
                read_only(
                    Attribute::new("version", Str, "The version of the resource.").case_exact(),
                ),
            ]),
        ),
        // Not an attribute of any schema, but filters and projections name it (RFC 7644
        // §3.4.2.2 filters on `schemas eq "…"`).
        read_only(
            Attribute::new("schemas", Reference, "The schemas of the resource.")
                .multi()
                .returned(Returned::Always),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_user_schema_holds_the_rfc_characteristics() {
        let set = SchemaSet::default();
        let user = set.core(ResourceKind::User);
        let user_name = user.attribute("USERNAME").unwrap();
        assert_eq!(user_name.name, "userName");
        assert!(user_name.required && !user_name.case_exact);
        assert_eq!(user_name.uniqueness, Uniqueness::Server);
        let password = user.attribute("password").unwrap();
        assert_eq!(password.mutability, Mutability::WriteOnly);
        assert_eq!(password.returned, Returned::Never);
        assert_eq!(
            user.attribute("groups").unwrap().mutability,
            Mutability::ReadOnly
        );
        let emails = user.attribute("emails").unwrap();
        assert!(emails.multi_valued);
        assert_eq!(
            emails.sub("type").unwrap().canonical_values,
            vec!["work", "home", "other"]
        );
        assert!(set.common_attribute("id").unwrap().case_exact);
        assert!(set.common_attribute("externalId").unwrap().case_exact);
    }

    #[test]
    fn renders_schema_documents() {
        let set = SchemaSet::default();
        let doc = set
            .schema(ENTERPRISE_URN)
            .unwrap()
            .to_json("https://seam.test/scim/v2");
        assert_eq!(doc["id"], ENTERPRISE_URN);
        assert_eq!(doc["meta"]["resourceType"], "Schema");
        assert_eq!(
            doc["meta"]["location"],
            format!("https://seam.test/scim/v2/Schemas/{ENTERPRISE_URN}")
        );
        let manager = doc["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == "manager")
            .unwrap();
        assert_eq!(manager["type"], "complex");
        assert_eq!(manager["subAttributes"][1]["name"], "$ref");
        assert_eq!(
            manager["subAttributes"][1]["referenceTypes"],
            json!(["User"])
        );
        for attribute in doc["attributes"].as_array().unwrap() {
            for key in [
                "name",
                "type",
                "multiValued",
                "description",
                "required",
                "caseExact",
                "mutability",
                "returned",
                "uniqueness",
            ] {
                assert!(attribute.get(key).is_some(), "{key} in {attribute}");
            }
        }
    }

    #[test]
    fn configured_extensions_join_the_set() {
        let config: ExtensionConfig = toml::from_str(
            r#"
            urn = "urn:ietf:params:scim:schemas:extension:seam:2.0:User"
            [[attributes]]
            name = "badgeNumber"
            [[attributes]]
            name = "contractor"
            type = "boolean"
            "#,
        )
        .unwrap();
        let set = SchemaSet::new(std::slice::from_ref(&config)).unwrap();
        let extension = set
            .extension(
                ResourceKind::User,
                "URN:ietf:params:scim:schemas:extension:seam:2.0:User",
            )
            .unwrap();
        assert_eq!(extension.schema.name, "User");
        assert_eq!(
            extension.schema.attribute("contractor").unwrap().ty,
            AttrType::Boolean
        );
        assert_eq!(set.extensions(ResourceKind::User).count(), 2);
        assert_eq!(set.extensions(ResourceKind::Group).count(), 0);
        let twice = SchemaSet::new(&[config.clone(), config]).unwrap_err();
        assert!(twice.to_string().contains("defined twice"), "{twice}");
    }

    #[test]
    fn refuses_bad_extensions() {
        let bad = |urn: &str, name: &str| ExtensionConfig {
            urn: urn.into(),
            name: None,
            description: None,
            resource: ResourceKind::User,
            required: false,
            attributes: vec![ExtensionAttribute {
                name: name.into(),
                ty: AttrType::String,
                multi_valued: false,
                required: false,
                case_exact: false,
                description: None,
            }],
        };
        assert!(SchemaSet::new(&[bad("seam", "badge")]).is_err());
        assert!(SchemaSet::new(&[bad("urn:x:y", "1badge")]).is_err());
        assert!(SchemaSet::new(&[bad(ENTERPRISE_URN, "badge")]).is_err());
        assert!(SchemaSet::new(&[bad("urn:x:y", "badge")]).is_ok());
    }

    #[test]
    fn attribute_names_follow_the_grammar() {
        assert!(is_attr_name("userName"));
        assert!(is_attr_name("$ref"));
        assert!(is_attr_name("x509Certificates"));
        assert!(!is_attr_name("$foo"));
        assert!(!is_attr_name("9a"));
        assert!(!is_attr_name(""));
        assert!(!is_attr_name("a.b"));
    }
}
