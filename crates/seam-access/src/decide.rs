//! Who is asking, and whether they may: the one decision every route goes through.

use serde::Serialize;

use crate::permissions::{Permission, allows};
use crate::roles::Role;
use crate::routes::{RouteMatch, SiteScope, route_match};
use crate::tokens::TokenRecord;
use crate::users::User;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PrincipalKind {
    User,
    Token,
}

/// An authenticated caller: a user (by password or session) or an API token, with the roles
/// and sites it holds now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    pub kind: PrincipalKind,
    /// The user's id (`u-…`) or the token's id (16 hex digits).
    pub id: String,
    /// The login or the token's name, for people.
    pub name: String,
    pub roles: Vec<Role>,
    /// `None`: every site.
    pub sites: Option<Vec<String>>,
}

impl Principal {
    pub fn from_user(user: &User) -> Principal {
        Principal {
            kind: PrincipalKind::User,
            id: user.id.clone(),
            name: user.name.clone(),
            roles: user.roles.clone(),
            sites: user.sites.clone(),
        }
    }

    pub fn from_token(token: &TokenRecord) -> Principal {
        Principal {
            kind: PrincipalKind::Token,
            id: token.id.clone(),
            name: token.name.clone(),
            roles: token.roles.clone(),
            sites: token.sites.clone(),
        }
    }

    pub fn allows(&self, permission: Permission) -> bool {
        allows(&self.roles, permission)
    }

    /// How the audit log names this principal: the user id, or `t-` and the token id.
    pub fn actor(&self) -> String {
        match self.kind {
            PrincipalKind::User => self.id.clone(),
            PrincipalKind::Token => format!("t-{}", self.id),
        }
    }

    /// Whether this principal may see data of `site`.
    pub fn sees_site(&self, site: &str) -> bool {
        self.sites
            .as_ref()
            .is_none_or(|sites| sites.iter().any(|own| own == site))
    }
}

/// The answer to a request before its handler runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead; filter the answer to `site_scope` when it is `Some` (a route whose data is
    /// per site, and a principal limited to some sites).
    Allow { site_scope: Option<Vec<String>> },
    /// 401: the route needs credentials and none were presented.
    Unauthenticated,
    /// 403: the principal's roles or sites do not allow the route.
    Forbidden,
    /// 404: no route has this path, for anyone; nothing is revealed by saying so.
    NoRoute,
    /// 405: the path is a route, but not with this method, for anyone.
    MethodNotAllowed { allowed: Vec<&'static str> },
}

impl Decision {
    pub fn status(&self) -> u16 {
        match self {
            Decision::Allow { .. } => 200,
            Decision::Unauthenticated => 401,
            Decision::Forbidden => 403,
            Decision::NoRoute => 404,
            Decision::MethodNotAllowed { .. } => 405,
        }
    }
}

/// Decides a request from the route table alone: public routes for anyone, others for a
/// principal whose roles allow the route's permission and whose sites fit its scope.
///
/// `principal` is `None` when the request presented no credential; a credential that was
/// presented and refused is the caller's 401 before this is reached. 404 and 405 depend only
/// on the path and method, never on who asks, so they reveal nothing that exists.
pub fn decide(principal: Option<&Principal>, method: &str, path: &str) -> Decision {
    let rule = match route_match(method, path) {
        RouteMatch::Rule(rule) => rule,
        RouteMatch::MethodNotAllowed { allowed } => return Decision::MethodNotAllowed { allowed },
        RouteMatch::NoRoute => return Decision::NoRoute,
    };
    let Some(permission) = rule.permission else {
        return Decision::Allow { site_scope: None };
    };
    let Some(principal) = principal else {
        return Decision::Unauthenticated;
    };
    if !principal.allows(permission) {
        return Decision::Forbidden;
    }
    match (rule.sites, &principal.sites) {
        (SiteScope::AllSites, Some(_)) => Decision::Forbidden,
        (SiteScope::PerSite, sites) => Decision::Allow {
            site_scope: sites.clone(),
        },
        (SiteScope::AllSites | SiteScope::Unscoped, _) => Decision::Allow { site_scope: None },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::permissions::permissions_of;
    use crate::routes::{ROUTES, RouteRule};

    fn principal(roles: &[Role], sites: Option<&[&str]>) -> Principal {
        Principal {
            kind: PrincipalKind::User,
            id: "u-1".into(),
            name: "someone".into(),
            roles: roles.to_vec(),
            sites: sites.map(|sites| sites.iter().map(|site| site.to_string()).collect()),
        }
    }

    fn concrete(rule: &RouteRule) -> String {
        rule.path
            .split('/')
            .map(|segment| {
                if segment.starts_with('{') {
                    "Users"
                } else {
                    segment
                }
            })
            .collect::<Vec<_>>()
            .join("/")
    }

    /// The decision the table gives, written out independently of `decide`.
    fn expected(rule: &RouteRule, principal: Option<&Principal>) -> Decision {
        match (rule.permission, principal) {
            (None, _) => Decision::Allow { site_scope: None },
            (Some(_), None) => Decision::Unauthenticated,
            (Some(permission), Some(principal)) => {
                let held = principal
                    .roles
                    .iter()
                    .any(|&role| permissions_of(role).contains(&permission));
                let limited_on_all_sites =
                    rule.sites == SiteScope::AllSites && principal.sites.is_some();
                if !held || limited_on_all_sites {
                    Decision::Forbidden
                } else if rule.sites == SiteScope::PerSite {
                    Decision::Allow {
                        site_scope: principal.sites.clone(),
                    }
                } else {
                    Decision::Allow { site_scope: None }
                }
            }
        }
    }

    #[test]
    fn every_role_on_every_route_gets_what_the_table_says() {
        let mut principals: Vec<Option<Principal>> = vec![None];
        for role in Role::ALL {
            principals.push(Some(principal(&[role], None)));
            principals.push(Some(principal(&[role], Some(&["hq"]))));
        }
        principals.push(Some(principal(&[], None)));
        for rule in ROUTES {
            let path = concrete(rule);
            for principal in &principals {
                let got = decide(principal.as_ref(), rule.method, &path);
                assert_eq!(
                    got,
                    expected(rule, principal.as_ref()),
                    "{} {} as {:?}",
                    rule.method,
                    rule.path,
                    principal
                );
                // Never a 404 for a route that exists.
                assert_ne!(got.status(), 404);
            }
        }
    }

    #[test]
    fn spot_checks() {
        let analyst = principal(&[Role::SocAnalyst], None);
        let guard = principal(&[Role::GsocOperator], Some(&["hq"]));
        let auditor = principal(&[Role::Auditor], None);
        let hook = principal(&[Role::Integration], None);
        let admin = principal(&[Role::Admin], None);

        assert_eq!(
            decide(None, "GET", "/healthz"),
            Decision::Allow { site_scope: None }
        );
        assert_eq!(
            decide(None, "POST", "/v1/login"),
            Decision::Allow { site_scope: None }
        );
        assert_eq!(
            decide(None, "GET", "/v1/findings"),
            Decision::Unauthenticated
        );
        assert_eq!(
            decide(Some(&guard), "GET", "/v1/findings"),
            Decision::Allow {
                site_scope: Some(vec!["hq".into()])
            }
        );
        assert_eq!(
            decide(Some(&analyst), "GET", "/v1/findings?severity=high"),
            Decision::Allow { site_scope: None }
        );
        assert_eq!(
            decide(Some(&guard), "GET", "/v1/dead-letters"),
            Decision::Forbidden
        );
        assert_eq!(
            decide(Some(&analyst), "GET", "/v1/dead-letters").status(),
            200
        );
        assert_eq!(decide(Some(&hook), "POST", "/v1/ingest/okta").status(), 200);
        assert_eq!(
            decide(Some(&hook), "GET", "/v1/findings"),
            Decision::Forbidden
        );
        assert_eq!(
            decide(Some(&hook), "PATCH", "/scim/v2/Users/42").status(),
            200
        );
        assert_eq!(
            decide(Some(&auditor), "GET", "/v1/audit/export").status(),
            200
        );
        assert_eq!(
            decide(Some(&auditor), "POST", "/v1/tokens"),
            Decision::Forbidden
        );
        assert_eq!(
            decide(Some(&analyst), "GET", "/v1/audit/verify"),
            Decision::Forbidden
        );
        assert_eq!(
            decide(Some(&admin), "DELETE", "/v1/tokens/0123").status(),
            200
        );
        assert_eq!(decide(Some(&guard), "GET", "/v1/me").status(), 200);
        // A site-limited admin cannot manage users: it could grant every site.
        let local_admin = principal(&[Role::Admin], Some(&["hq"]));
        assert_eq!(
            decide(Some(&local_admin), "POST", "/v1/users"),
            Decision::Forbidden
        );
        // Same answer for everyone where the path is unknown or the method wrong.
        for who in [None, Some(&admin), Some(&hook)] {
            assert_eq!(
                decide(who, "GET", "/v1/secret-admin-thing"),
                Decision::NoRoute
            );
            assert_eq!(
                decide(who, "PUT", "/v1/findings"),
                Decision::MethodNotAllowed {
                    allowed: vec!["GET"]
                }
            );
        }
    }

    #[test]
    fn principals() {
        let token = TokenRecord {
            id: "0123456789abcdef".into(),
            name: "okta hook".into(),
            roles: vec![Role::Integration],
            sites: Some(vec!["hq".into()]),
            created: seam_model::Ts(0),
            expires: None,
            revoked: None,
            last_used: None,
            digest: "00".repeat(32),
        };
        let principal = Principal::from_token(&token);
        assert_eq!(principal.actor(), "t-0123456789abcdef");
        assert!(principal.sees_site("hq") && !principal.sees_site("depot"));
        assert!(principal.allows(Permission::IngestEvents));
        assert!(!principal.allows(Permission::ReadFindings));
        let json = serde_json::to_string(&principal).unwrap();
        assert_eq!(
            json,
            r#"{"kind":"token","id":"0123456789abcdef","name":"okta hook","roles":["integration"],"sites":["hq"]}"#
        );
    }
}
