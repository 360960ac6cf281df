//! SCIM error responses (RFC 7644 §3.12): an HTTP status, an optional `scimType` and a detail.

use serde_json::{Map, Value};

/// The error message schema.
pub const ERROR_URN: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// The `scimType` detail error keywords of RFC 7644 §3.12, table 9.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScimType {
    InvalidFilter,
    TooMany,
    Uniqueness,
    Mutability,
    InvalidSyntax,
    InvalidPath,
    NoTarget,
    InvalidValue,
    InvalidVers,
    Sensitive,
}

impl ScimType {
    /// The keyword as the protocol spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidVers => "invalidVers",
            ScimType::Sensitive => "sensitive",
        }
    }
}

/// A failed SCIM request, ready to be sent as the response body of [`ScimError::to_json`]
/// with the HTTP status [`ScimError::status`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct ScimError {
    status: u16,
    scim_type: Option<ScimType>,
    detail: String,
}

impl ScimError {
    pub fn new(status: u16, scim_type: Option<ScimType>, detail: impl Into<String>) -> ScimError {
        ScimError {
            status,
            scim_type,
            detail: detail.into(),
        }
    }

    /// 400 with a `scimType`.
    pub fn bad_request(scim_type: ScimType, detail: impl Into<String>) -> ScimError {
        ScimError::new(400, Some(scim_type), detail)
    }

    pub fn invalid_value(detail: impl Into<String>) -> ScimError {
        ScimError::bad_request(ScimType::InvalidValue, detail)
    }

    pub fn invalid_syntax(detail: impl Into<String>) -> ScimError {
        ScimError::bad_request(ScimType::InvalidSyntax, detail)
    }

    pub fn invalid_filter(detail: impl Into<String>) -> ScimError {
        ScimError::bad_request(ScimType::InvalidFilter, detail)
    }

    pub fn invalid_path(detail: impl Into<String>) -> ScimError {
        ScimError::bad_request(ScimType::InvalidPath, detail)
    }

    pub fn no_target(detail: impl Into<String>) -> ScimError {
        ScimError::bad_request(ScimType::NoTarget, detail)
    }

    pub fn mutability(detail: impl Into<String>) -> ScimError {
        ScimError::bad_request(ScimType::Mutability, detail)
    }

    /// 404: the resource does not exist.
    pub fn not_found(detail: impl Into<String>) -> ScimError {
        ScimError::new(404, None, detail)
    }

    /// 409 with `uniqueness`: another resource holds a unique value.
    pub fn uniqueness(detail: impl Into<String>) -> ScimError {
        ScimError::new(409, Some(ScimType::Uniqueness), detail)
    }

    /// 412: the resource's version is not one the client named in `If-Match`.
    pub fn precondition_failed(detail: impl Into<String>) -> ScimError {
        ScimError::new(412, None, detail)
    }

    pub fn status(&self) -> u16 {
        self.status
    }

    pub fn scim_type(&self) -> Option<ScimType> {
        self.scim_type
    }

    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The response body; `status` is a string, as RFC 7644 §3.12 shows it.
    pub fn to_json(&self) -> Value {
        let mut body = Map::new();
        body.insert("schemas".into(), Value::from(vec![ERROR_URN]));
        body.insert("status".into(), Value::from(self.status.to_string()));
        if let Some(scim_type) = self.scim_type {
            body.insert("scimType".into(), Value::from(scim_type.as_str()));
        }
        body.insert("detail".into(), Value::from(self.detail.clone()));
        Value::Object(body)
    }
}

/// User input for a message: in backticks, cut to 100 characters so that a huge input is
/// never echoed back whole.
pub(crate) fn quote(text: &str) -> String {
    const LIMIT: usize = 100;
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(LIMIT).collect();
    if chars.next().is_some() {
        format!("`{head}…`")
    } else {
        format!("`{head}`")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_the_rfc_error_body() {
        let error = ScimError::uniqueness("userName `bjensen` is already taken");
        assert_eq!(error.status(), 409);
        assert_eq!(
            error.to_json(),
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                "status": "409",
                "scimType": "uniqueness",
                "detail": "userName `bjensen` is already taken",
            })
        );
        let missing = ScimError::not_found("user `x` not found").to_json();
        assert_eq!(missing.get("status"), Some(&json!("404")));
        assert!(missing.get("scimType").is_none());
    }

    #[test]
    fn quotes_cut_long_input() {
        assert_eq!(quote("abc"), "`abc`");
        let long = "x".repeat(5000);
        let quoted = quote(&long);
        assert_eq!(quoted.chars().count(), 103);
        assert!(quoted.ends_with("…`"));
    }

    #[test]
    fn every_scim_type_has_its_keyword() {
        let all = [
            (ScimType::InvalidFilter, "invalidFilter"),
            (ScimType::TooMany, "tooMany"),
            (ScimType::Uniqueness, "uniqueness"),
            (ScimType::Mutability, "mutability"),
            (ScimType::InvalidSyntax, "invalidSyntax"),
            (ScimType::InvalidPath, "invalidPath"),
            (ScimType::NoTarget, "noTarget"),
            (ScimType::InvalidValue, "invalidValue"),
            (ScimType::InvalidVers, "invalidVers"),
            (ScimType::Sensitive, "sensitive"),
        ];
        for (scim_type, keyword) in all {
            assert_eq!(scim_type.as_str(), keyword);
        }
    }
}
