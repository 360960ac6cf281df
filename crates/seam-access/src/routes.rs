//! The route table: every HTTP route Seam serves, the permission it needs and how the
//! principal's sites limit it. A route the service serves that is missing here is refused by
//! the walk test in seam-serve; a path no rule names is 404 for everyone.

use std::sync::LazyLock;

use crate::permissions::Permission;

/// How a principal limited to some sites is treated on a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SiteScope {
    /// The answer is filtered to the principal's sites ([`crate::Decision::Allow`] carries
    /// them).
    PerSite,
    /// The answer spans every site and cannot be split (the audit log, users, the directory,
    /// dead letters): a principal limited to some sites is refused (403).
    AllSites,
    /// The route reads no site's data (health, one's own account, ingest).
    Unscoped,
}

/// One route: a method, an axum-style path pattern (`{name}` matches one non-empty segment)
/// and what it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteRule {
    pub method: &'static str,
    pub path: &'static str,
    /// `None`: public, answered without credentials.
    pub permission: Option<Permission>,
    pub sites: SiteScope,
    /// What the route does, for the documentation table.
    pub about: &'static str,
}

impl RouteRule {
    /// Whether the answer is filtered to the principal's sites.
    pub const fn site_scoped(&self) -> bool {
        matches!(self.sites, SiteScope::PerSite)
    }
}

const fn rule(
    method: &'static str,
    path: &'static str,
    permission: Option<Permission>,
    sites: SiteScope,
    about: &'static str,
) -> RouteRule {
    RouteRule {
        method,
        path,
        permission,
        sites,
        about,
    }
}

use Permission as P;
use SiteScope::{AllSites, PerSite, Unscoped};

/// Every route. Order does not matter: the most specific pattern wins, as in axum.
pub const ROUTES: &[RouteRule] = &[
    rule("GET", "/healthz", None, Unscoped, "liveness"),
    rule("GET", "/readyz", None, Unscoped, "readiness"),
    rule(
        "POST",
        "/v1/login",
        None,
        Unscoped,
        "sign in with a password; sets the session cookie",
    ),
    rule(
        "GET",
        "/v1/oidc/login",
        None,
        Unscoped,
        "sign in through the identity provider (redirects there)",
    ),
    rule(
        "GET",
        "/v1/oidc/callback",
        None,
        Unscoped,
        "the identity provider's answer; sets the session cookie",
    ),
    rule(
        "POST",
        "/v1/logout",
        Some(P::OwnAccount),
        Unscoped,
        "end the session",
    ),
    rule(
        "GET",
        "/v1/me",
        Some(P::OwnAccount),
        Unscoped,
        "who am I: roles, sites, CSRF token",
    ),
    rule(
        "POST",
        "/v1/ingest/{source}",
        Some(P::IngestEvents),
        Unscoped,
        "push events",
    ),
    rule(
        "GET",
        "/v1/ingest/{source}",
        Some(P::IngestEvents),
        Unscoped,
        "Okta's one-time verification challenge",
    ),
    rule(
        "GET",
        "/v1/findings",
        Some(P::ReadFindings),
        PerSite,
        "query findings",
    ),
    rule(
        "GET",
        "/v1/findings/stream",
        Some(P::StreamFindings),
        PerSite,
        "live findings (server-sent events)",
    ),
    rule(
        "GET",
        "/v1/findings/{uid}",
        Some(P::ReadFindings),
        PerSite,
        "one finding with its triage log, alert and cases",
    ),
    rule(
        "POST",
        "/v1/findings/{uid}/triage",
        Some(P::TriageFindings),
        PerSite,
        "acknowledge, start, close, reopen, assign or comment on a finding",
    ),
    rule(
        "POST",
        "/v1/findings/{uid}/detach",
        Some(P::TriageFindings),
        PerSite,
        "take a finding out of its alert",
    ),
    rule(
        "POST",
        "/v1/triage",
        Some(P::TriageFindings),
        PerSite,
        "one triage act on many findings",
    ),
    rule(
        "GET",
        "/v1/alerts",
        Some(P::ReadFindings),
        PerSite,
        "findings grouped by person, zone or asset",
    ),
    rule(
        "GET",
        "/v1/alerts/{id}",
        Some(P::ReadFindings),
        PerSite,
        "one alert and its findings",
    ),
    rule(
        "POST",
        "/v1/alerts/{id}/split",
        Some(P::TriageFindings),
        PerSite,
        "split findings off an alert",
    ),
    rule(
        "GET",
        "/v1/suppressions",
        Some(P::ReadFindings),
        PerSite,
        "suppression rules, ended ones too",
    ),
    rule(
        "POST",
        "/v1/suppressions",
        Some(P::TriageFindings),
        PerSite,
        "suppress matching findings until an expiry, with a reason",
    ),
    rule(
        "DELETE",
        "/v1/suppressions/{id}",
        Some(P::TriageFindings),
        PerSite,
        "end a suppression",
    ),
    rule(
        "GET",
        "/v1/cases",
        Some(P::ReadCases),
        PerSite,
        "list cases",
    ),
    rule(
        "POST",
        "/v1/cases",
        Some(P::ManageCases),
        PerSite,
        "open a case from findings, alerts or by hand",
    ),
    rule(
        "GET",
        "/v1/cases/{id}",
        Some(P::ReadCases),
        PerSite,
        "one case with its tasks, notes, evidence and chain of custody",
    ),
    rule(
        "PATCH",
        "/v1/cases/{id}",
        Some(P::ManageCases),
        PerSite,
        "change a case at a version",
    ),
    rule(
        "POST",
        "/v1/cases/{id}/merge",
        Some(P::ManageCases),
        PerSite,
        "merge another case into this one",
    ),
    rule(
        "POST",
        "/v1/cases/{id}/split",
        Some(P::ManageCases),
        PerSite,
        "split links off into a new case",
    ),
    rule(
        "POST",
        "/v1/cases/{id}/evidence",
        Some(P::ManageCases),
        PerSite,
        "upload evidence (streamed, digested, size-limited)",
    ),
    rule(
        "GET",
        "/v1/cases/{id}/evidence/{sha256}",
        Some(P::ReadCases),
        PerSite,
        "download evidence, its digest checked",
    ),
    rule(
        "GET",
        "/v1/cases/{id}/timeline",
        Some(P::ReadCases),
        PerSite,
        "a case's events, findings and actions in time order",
    ),
    rule(
        "GET",
        "/v1/cases/{id}/links",
        Some(P::ReadCases),
        PerSite,
        "a case's entities and what connects them",
    ),
    rule(
        "GET",
        "/v1/cases/{id}/export",
        Some(P::ReadCases),
        PerSite,
        "the signed export bundle",
    ),
    rule(
        "GET",
        "/v1/reports",
        Some(P::ReadFindings),
        AllSites,
        "the leadership report for a period (json, csv, html)",
    ),
    rule(
        "GET",
        "/v1/people/{id}/360",
        Some(P::ReadPeople),
        PerSite,
        "one person across both worlds: identifiers, status, presence, timeline, findings, cases",
    ),
    rule(
        "POST",
        "/v1/people/{id}/reveal",
        Some(P::RevealNames),
        PerSite,
        "reveal the name behind a pseudonym for a while, with a reason",
    ),
    rule(
        "GET",
        "/v1/dead-letters",
        Some(P::ReadDeadLetters),
        AllSites,
        "rejected records",
    ),
    rule(
        "GET",
        "/metrics",
        Some(P::ReadMetrics),
        AllSites,
        "Prometheus metrics",
    ),
    rule(
        "GET",
        "/v1/users",
        Some(P::ReadUsers),
        AllSites,
        "list users",
    ),
    rule(
        "POST",
        "/v1/users",
        Some(P::ManageUsers),
        AllSites,
        "add a user",
    ),
    rule(
        "PATCH",
        "/v1/users/{id}",
        Some(P::ManageUsers),
        AllSites,
        "change or disable a user",
    ),
    rule(
        "GET",
        "/v1/tokens",
        Some(P::ReadTokens),
        AllSites,
        "list API tokens",
    ),
    rule(
        "POST",
        "/v1/tokens",
        Some(P::ManageTokens),
        AllSites,
        "create an API token",
    ),
    rule(
        "DELETE",
        "/v1/tokens/{id}",
        Some(P::ManageTokens),
        AllSites,
        "revoke an API token",
    ),
    rule(
        "GET",
        "/v1/audit/verify",
        Some(P::ReadAudit),
        AllSites,
        "verify the audit log",
    ),
    rule(
        "GET",
        "/v1/audit/export",
        Some(P::ExportAudit),
        AllSites,
        "export the audit log",
    ),
    rule(
        "GET",
        "/scim/v2/ServiceProviderConfig",
        Some(P::ProvisionDirectory),
        AllSites,
        "SCIM discovery",
    ),
    rule(
        "GET",
        "/scim/v2/ResourceTypes",
        Some(P::ProvisionDirectory),
        AllSites,
        "SCIM discovery",
    ),
    rule(
        "GET",
        "/scim/v2/ResourceTypes/{name}",
        Some(P::ProvisionDirectory),
        AllSites,
        "SCIM discovery",
    ),
    rule(
        "GET",
        "/scim/v2/Schemas",
        Some(P::ProvisionDirectory),
        AllSites,
        "SCIM discovery",
    ),
    rule(
        "GET",
        "/scim/v2/Schemas/{urn}",
        Some(P::ProvisionDirectory),
        AllSites,
        "SCIM discovery",
    ),
    rule(
        "GET",
        "/scim/v2/{kind}",
        Some(P::ProvisionDirectory),
        AllSites,
        "SCIM list users or groups",
    ),
    rule(
        "POST",
        "/scim/v2/{kind}",
        Some(P::ProvisionDirectory),
        AllSites,
        "SCIM create",
    ),
    rule(
        "GET",
        "/scim/v2/{kind}/{id}",
        Some(P::ProvisionDirectory),
        AllSites,
        "SCIM read",
    ),
    rule(
        "PUT",
        "/scim/v2/{kind}/{id}",
        Some(P::ProvisionDirectory),
        AllSites,
        "SCIM replace",
    ),
    rule(
        "PATCH",
        "/scim/v2/{kind}/{id}",
        Some(P::ProvisionDirectory),
        AllSites,
        "SCIM patch",
    ),
    rule(
        "DELETE",
        "/scim/v2/{kind}/{id}",
        Some(P::ProvisionDirectory),
        AllSites,
        "SCIM delete",
    ),
    // SCIM searches post to `/scim/v2/Users/.search` (and `/scim/v2/.search` to the route above).
    rule(
        "POST",
        "/scim/v2/{kind}/{id}",
        Some(P::ProvisionDirectory),
        AllSites,
        "SCIM search",
    ),
];

/// What a method and path match in [`ROUTES`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteMatch {
    Rule(&'static RouteRule),
    /// The path names a route, but not with this method (405 for everyone).
    MethodNotAllowed {
        allowed: Vec<&'static str>,
    },
    /// No pattern matches the path (404 for everyone).
    NoRoute,
}

/// The most segments a path may have to match a route (a test checks every pattern fits).
const MAX_SEGMENTS: usize = 8;

#[derive(Debug)]
enum Segment {
    Literal(&'static str),
    Capture,
}

/// A pattern split once, at first use, rather than at every request.
#[derive(Debug)]
struct Compiled {
    path: &'static str,
    segments: Vec<Segment>,
}

static COMPILED: LazyLock<Vec<Compiled>> = LazyLock::new(|| {
    let mut compiled: Vec<Compiled> = Vec::new();
    for route in ROUTES {
        if compiled.iter().any(|other| other.path == route.path) {
            continue;
        }
        let segments = route
            .path
            .split('/')
            .map(|segment| {
                if segment.starts_with('{') && segment.ends_with('}') {
                    Segment::Capture
                } else {
                    Segment::Literal(segment)
                }
            })
            .collect();
        compiled.push(Compiled {
            path: route.path,
            segments,
        });
    }
    compiled
});

/// Per segment, whether the pattern is literal there, most significant first; `None` if
/// the pattern does not match the path's segments. Of two matching patterns, the larger
/// number is the more specific (axum prefers a literal segment to a capture, left to right).
fn specificity(pattern: &Compiled, path: &[&str]) -> Option<u64> {
    if pattern.segments.len() != path.len() {
        return None;
    }
    let mut literal_bits = 0u64;
    for (position, (want, have)) in pattern.segments.iter().zip(path).enumerate() {
        match want {
            Segment::Capture if have.is_empty() => return None,
            Segment::Capture => {}
            Segment::Literal(literal) if literal != have => return None,
            Segment::Literal(_) => literal_bits |= 1u64 << (63 - position.min(63)),
        }
    }
    Some(literal_bits)
}

/// Finds the route for a method and a request path (without the query string), the way
/// axum's router does: first the most specific path pattern, then the method; `HEAD` is
/// answered by a `GET` route.
pub fn route_match(method: &str, path: &str) -> RouteMatch {
    let path = path.split_once('?').map_or(path, |(path, _query)| path);
    let mut segments = [""; MAX_SEGMENTS];
    let mut count = 0;
    for segment in path.split('/') {
        match segments.get_mut(count) {
            Some(slot) => *slot = segment,
            None => return RouteMatch::NoRoute,
        }
        count += 1;
    }
    let segments = segments.get(..count).unwrap_or_default();
    let mut best: Option<(u64, &'static str)> = None;
    for pattern in COMPILED.iter() {
        if let Some(score) = specificity(pattern, segments)
            && best.is_none_or(|(best_score, _)| score > best_score)
        {
            best = Some((score, pattern.path));
        }
    }
    let Some((_, pattern)) = best else {
        return RouteMatch::NoRoute;
    };
    let same_path = || ROUTES.iter().filter(move |route| route.path == pattern);
    if let Some(found) = same_path().find(|route| route.method == method) {
        return RouteMatch::Rule(found);
    }
    if method == "HEAD"
        && let Some(found) = same_path().find(|route| route.method == "GET")
    {
        return RouteMatch::Rule(found);
    }
    RouteMatch::MethodNotAllowed {
        allowed: same_path().map(|route| route.method).collect(),
    }
}

/// The rule for a method and path, if one matches.
pub fn rule_for(method: &str, path: &str) -> Option<&'static RouteRule> {
    match route_match(method, path) {
        RouteMatch::Rule(rule) => Some(rule),
        RouteMatch::MethodNotAllowed { .. } | RouteMatch::NoRoute => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A concrete path for a pattern: each capture filled with `fill`.
    pub(crate) fn concrete(pattern: &str, fill: &str) -> String {
        pattern
            .split('/')
            .map(|segment| {
                if segment.starts_with('{') {
                    fill
                } else {
                    segment
                }
            })
            .collect::<Vec<_>>()
            .join("/")
    }

    #[test]
    fn every_pattern_is_found_by_a_concrete_path() {
        for route in ROUTES {
            let path = concrete(route.path, "x1");
            assert_eq!(
                rule_for(route.method, &path),
                Some(route),
                "{} {path}",
                route.method
            );
            let with_query = format!("{path}?limit=5");
            assert_eq!(rule_for(route.method, &with_query), Some(route));
        }
    }

    #[test]
    fn no_rule_is_listed_twice_and_no_two_patterns_are_ambiguous() {
        for (i, a) in ROUTES.iter().enumerate() {
            for b in ROUTES.iter().skip(i + 1) {
                assert!(
                    !(a.method == b.method && a.path == b.path),
                    "{} {}",
                    a.method,
                    a.path
                );
                // Two different patterns of the same shape (literal or capture at the same
                // positions) and the same literals would match the same paths equally well.
                if a.path != b.path {
                    let shape = |pattern: &str| concrete(pattern, "{}");
                    assert_ne!(shape(a.path), shape(b.path), "{} vs {}", a.path, b.path);
                }
            }
            assert!(a.path.starts_with('/'));
            assert!(["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&a.method));
        }
    }

    #[test]
    fn literal_segments_win_over_captures_as_in_axum() {
        let rule = rule_for("GET", "/scim/v2/ResourceTypes/User").unwrap();
        assert_eq!(rule.path, "/scim/v2/ResourceTypes/{name}");
        let rule = rule_for("GET", "/scim/v2/Users/2819c223").unwrap();
        assert_eq!(rule.path, "/scim/v2/{kind}/{id}");
        let rule = rule_for("GET", "/scim/v2/Schemas").unwrap();
        assert_eq!(rule.path, "/scim/v2/Schemas");
        let rule = rule_for("GET", "/v1/findings/stream").unwrap();
        assert_eq!(rule.permission, Some(Permission::StreamFindings));
        // The most specific path decides, then the method: axum answers 405 here rather than
        // falling through to `POST /scim/v2/{kind}/{id}`.
        assert_eq!(
            route_match("POST", "/scim/v2/ResourceTypes/User"),
            RouteMatch::MethodNotAllowed {
                allowed: vec!["GET"]
            }
        );
    }

    #[test]
    fn methods_and_unknown_paths() {
        assert_eq!(
            rule_for("HEAD", "/healthz").map(|rule| rule.path),
            Some("/healthz")
        );
        assert_eq!(
            route_match("DELETE", "/v1/users"),
            RouteMatch::MethodNotAllowed {
                allowed: vec!["GET", "POST"]
            }
        );
        for path in [
            "",
            "/",
            "/v1",
            "/v1/findings/",
            "/v1/ingest/",
            "/v1/ingest//",
            "/v1/ingest/okta/extra",
            "//v1/findings",
            "/V1/findings",
            "/scim/v2/Users/1/2",
            "/v1/users/",
        ] {
            assert_eq!(route_match("GET", path), RouteMatch::NoRoute, "{path:?}");
        }
        assert!(
            rule_for("get", "/healthz").is_none(),
            "methods are case-sensitive"
        );
    }

    #[test]
    fn deep_paths_do_not_overflow() {
        let path = "/a".repeat(200);
        assert_eq!(route_match("GET", &path), RouteMatch::NoRoute);
        let findings = format!("/v1/findings{}", "/".repeat(MAX_SEGMENTS));
        assert_eq!(route_match("GET", &findings), RouteMatch::NoRoute);
        for route in ROUTES {
            assert!(
                route.path.split('/').count() <= MAX_SEGMENTS,
                "{}",
                route.path
            );
        }
    }
}
