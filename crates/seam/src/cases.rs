//! `seam findings` and `seam case`: triage and cases for people who script, against a running
//! service (`--url URL --token TOKEN`, its API with the token's roles) or a store
//! (`--data-dir DIR`, or `--store URL`, with the service stopped; acts are audited as the
//! local operator). `--json` prints what the API answers; without it, one line per item.

use std::collections::BTreeMap;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};

use seam_cases::case::{CaseDraft, Links};
use seam_cases::{Case, CaseChange, Disposition, Procedures, Team, TriageAction};
use seam_store::workspace::{CaseQuery, FindingQuery, WorkspaceStore};

use crate::error::CliError;
use crate::stores::StoreLocation;

/// Where the command acts.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct TargetArgs {
    /// A running service's API (`http://127.0.0.1:8081`).
    #[arg(long, global = true)]
    pub url: Option<String>,
    /// An API token (`seam_…`), or `-` to read it from the `SEAM_TOKEN` environment variable.
    #[arg(long, global = true)]
    pub token: Option<String>,
    /// The data directory (with the service stopped).
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    /// A PostgreSQL store (`postgres://…`), with the data directory for the audit log.
    #[arg(long, global = true)]
    pub store: Option<String>,
    /// Print JSON.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, clap::Subcommand)]
pub(crate) enum FindingsCommand {
    /// Findings with their triage, newest first.
    List {
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        rule: Option<String>,
        /// At least this severity: low, medium, high, critical.
        #[arg(long)]
        severity: Option<String>,
        #[arg(long)]
        site: Option<String>,
        #[arg(long)]
        zone: Option<String>,
        #[arg(long)]
        person: Option<String>,
        #[arg(long)]
        alert: Option<String>,
        /// Words to find in the title, message, rule or places.
        #[arg(long)]
        q: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Continue from the `next` cursor a previous page gave.
        #[arg(long)]
        cursor: Option<String>,
    },
    /// Acknowledge findings.
    Ack { uids: Vec<String> },
    /// Assign findings to a user and/or a team.
    Assign {
        uids: Vec<String>,
        #[arg(long)]
        to: Option<String>,
        /// physical or cyber.
        #[arg(long)]
        team: Option<String>,
    },
    /// Close findings with a disposition: true_positive, benign_true_positive, false_positive.
    Close {
        uids: Vec<String>,
        #[arg(long)]
        disposition: String,
        #[arg(long)]
        reason: Option<String>,
    },
}

#[derive(Debug, clap::Subcommand)]
pub(crate) enum CaseCommand {
    /// Open a case from findings (its type from their rules unless `--kind`).
    Create {
        #[arg(long)]
        title: String,
        #[arg(long = "finding")]
        findings: Vec<String>,
        #[arg(long)]
        kind: Option<String>,
        #[arg(long)]
        severity: Option<String>,
        #[arg(long)]
        owner: Option<String>,
    },
    /// Link findings, people, zones or assets to a case.
    Add {
        id: String,
        #[arg(long = "finding")]
        findings: Vec<String>,
        #[arg(long = "person")]
        people: Vec<String>,
        #[arg(long = "zone")]
        zones: Vec<String>,
        #[arg(long = "asset")]
        assets: Vec<String>,
    },
    /// Cases, most recently changed first.
    List {
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// One case: tasks, notes, evidence.
    Show { id: String },
    /// The signed export bundle, written to a directory.
    Export {
        id: String,
        #[arg(long)]
        out: PathBuf,
    },
}

/// A service or a store.
enum Target {
    Service {
        client: seam_serve::client::HttpClient,
        token: String,
    },
    Local {
        store: Box<dyn WorkspaceStore>,
        data_dir: PathBuf,
        url: Option<String>,
    },
}

/// The value at a JSON pointer, or null: printing what the API sent never panics.
fn at<'a>(value: &'a serde_json::Value, pointer: &str) -> &'a serde_json::Value {
    static NULL: serde_json::Value = serde_json::Value::Null;
    value.pointer(pointer).unwrap_or(&NULL)
}

fn failed(message: impl Into<String>) -> CliError {
    CliError::Failed(message.into())
}

/// The operator acting locally, as the audit log names them.
fn local_actor() -> String {
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    format!("cli:{}", user.chars().take(64).collect::<String>())
}

impl Target {
    fn open(args: &TargetArgs) -> Result<Target, CliError> {
        match (
            &args.url,
            StoreLocation::from_args(args.data_dir.clone(), args.store.clone())?,
        ) {
            (Some(url), None) => {
                let token = match args.token.as_deref() {
                    Some("-") | None => std::env::var("SEAM_TOKEN").map_err(|_| {
                        failed("--url needs --token TOKEN (or `--token -` with SEAM_TOKEN set)")
                    })?,
                    Some(token) => token.to_string(),
                };
                Ok(Target::Service {
                    client: seam_serve::client::HttpClient::new(address_of(url)?),
                    token,
                })
            }
            (None, Some(location)) => {
                let data_dir = args.data_dir.clone().ok_or_else(|| {
                    failed("--store needs --data-dir too: it keeps the audit log")
                })?;
                let store = open_workspace(&location)?;
                Ok(Target::Local {
                    store,
                    data_dir,
                    url: args.store.clone(),
                })
            }
            (Some(_), Some(_)) => Err(failed(
                "give either --url (a running service) or --data-dir/--store, not both",
            )),
            (None, None) => Err(failed(
                "name a service (--url URL --token TOKEN) or a store (--data-dir DIR)",
            )),
        }
    }

    /// One API call; a refusal becomes an error with the service's reason.
    fn call(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<serde_json::Value, CliError> {
        let Target::Service { client, token } = self else {
            return Err(failed("not a service"));
        };
        let bearer = format!("Bearer {token}");
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let mut headers = vec![("authorization", bearer.as_str())];
        if !body.is_empty() {
            headers.push(("content-type", "application/json"));
        }
        let response = client
            .request(method, path, &headers, body.as_bytes())
            .map_err(|e| failed(format!("the service did not answer: {e}")))?;
        let value = response.json();
        if !(200..300).contains(&response.status) {
            let reason = at(&value, "/error").as_str().unwrap_or("no reason given");
            return Err(failed(format!(
                "{method} {path}: {} {reason}",
                response.status
            )));
        }
        Ok(value)
    }

    fn audit(
        &self,
        action: seam_audit::AuditAction,
        detail: serde_json::Value,
    ) -> Result<(), CliError> {
        if let Target::Local { data_dir, url, .. } = self {
            crate::stores::record(
                data_dir,
                url.as_deref(),
                seam_audit::AuditEntry::new(local_actor(), action).detail(detail),
            )?;
        }
        Ok(())
    }
}

pub(crate) fn open_workspace(
    location: &StoreLocation,
) -> Result<Box<dyn WorkspaceStore>, CliError> {
    let error = |e: seam_store::StoreError| CliError::Store(e.to_string());
    Ok(match location {
        StoreLocation::Directory(dir) => {
            Box::new(seam_store::EmbeddedStore::open(dir).map_err(error)?)
        }
        StoreLocation::Postgres(url) => {
            Box::new(seam_postgres::PostgresStore::open(url).map_err(error)?)
        }
    })
}

/// `http://host:port` (plain HTTP: the loopback API listener).
fn address_of(url: &str) -> Result<SocketAddr, CliError> {
    let rest = url.strip_prefix("http://").ok_or_else(|| {
        failed("--url: give the API's http:// address (the loopback API listener)")
    })?;
    let authority = rest.split('/').next().unwrap_or_default();
    authority
        .to_socket_addrs()
        .ok()
        .and_then(|mut addresses| addresses.next())
        .ok_or_else(|| failed(format!("--url: `{authority}` is not host:port")))
}

fn store_error(error: seam_store::StoreError) -> CliError {
    match error {
        seam_store::StoreError::NotFound { what } => failed(format!("{what} not found")),
        seam_store::StoreError::Conflict { reason }
        | seam_store::StoreError::Refused { reason } => failed(reason),
        other => CliError::Store(other.to_string()),
    }
}

fn commit(store: &mut dyn WorkspaceStore) -> Result<(), CliError> {
    store.commit().map_err(store_error)
}

fn print_json(value: &serde_json::Value) {
    say!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}

pub(crate) fn findings(args: &TargetArgs, command: FindingsCommand) -> Result<(), CliError> {
    let mut target = Target::open(args)?;
    match command {
        FindingsCommand::List {
            status,
            rule,
            severity,
            site,
            zone,
            person,
            alert,
            q,
            limit,
            cursor,
        } => {
            let mut params = BTreeMap::new();
            for (name, value) in [
                ("status", status),
                ("rule", rule),
                ("severity", severity),
                ("site", site),
                ("zone", zone),
                ("person", person),
                ("alert", alert),
                ("q", q),
                ("cursor", cursor),
            ] {
                if let Some(value) = value {
                    params.insert(name.to_string(), value);
                }
            }
            params.insert("limit".into(), limit.to_string());
            let listed = match &mut target {
                Target::Service { .. } => {
                    let query: Vec<String> = params
                        .iter()
                        .map(|(k, v)| format!("{k}={}", percent(v)))
                        .collect();
                    target.call("GET", &format!("/v1/findings?{}", query.join("&")), None)?
                }
                Target::Local { store, .. } => {
                    let query = local_query(&params)?;
                    let page = store.list_findings(&query).map_err(store_error)?;
                    let findings: Vec<serde_json::Value> = page
                        .findings
                        .iter()
                        .map(|f| {
                            let mut value: serde_json::Value =
                                serde_json::from_str(&f.json).unwrap_or_default();
                            if let Some(object) = value.as_object_mut() {
                                object.insert(
                                    "triage".into(),
                                    serde_json::json!({
                                        "status": f.triage.status, "version": f.triage.version,
                                        "disposition": f.triage.disposition,
                                        "assignee": f.triage.assignee, "team": f.triage.team,
                                        "alert": f.alert, "site": f.site,
                                        "suppressed_by": f.suppressed_by,
                                    }),
                                );
                            }
                            value
                        })
                        .collect();
                    serde_json::json!({"count": findings.len(), "findings": findings,
                                       "next": page.next.map(|c| c.encode())})
                }
            };
            if args.json {
                print_json(&listed);
            } else {
                for finding in at(&listed, "/findings").as_array().into_iter().flatten() {
                    say!(
                        "{}  {}  {:<13} {:<9} {}  {}",
                        at(finding, "/time_dt").as_str().unwrap_or_default(),
                        at(finding, "/finding_info/uid")
                            .as_str()
                            .unwrap_or_default(),
                        at(finding, "/triage/status").as_str().unwrap_or_default(),
                        at(finding, "/severity").as_str().unwrap_or_default(),
                        at(finding, "/finding_info/analytic/uid")
                            .as_str()
                            .unwrap_or_default(),
                        at(finding, "/message").as_str().unwrap_or_default(),
                    );
                }
                if let Some(next) = at(&listed, "/next").as_str() {
                    say!("more: --cursor {next}");
                }
            }
            Ok(())
        }
        FindingsCommand::Ack { uids } => {
            triage(&mut target, args, &uids, TriageAction::Acknowledge)
        }
        FindingsCommand::Assign { uids, to, team } => {
            let team = team
                .as_deref()
                .map(Team::parse)
                .transpose()
                .map_err(failed)?;
            if to.is_none() && team.is_none() {
                return Err(failed("assign --to USER, --team physical|cyber, or both"));
            }
            triage(
                &mut target,
                args,
                &uids,
                TriageAction::Assign { assignee: to, team },
            )
        }
        FindingsCommand::Close {
            uids,
            disposition,
            reason,
        } => {
            let disposition = Disposition::parse(&disposition).map_err(failed)?;
            triage(
                &mut target,
                args,
                &uids,
                TriageAction::Close {
                    disposition,
                    reason,
                },
            )
        }
    }
}

fn local_query(params: &BTreeMap<String, String>) -> Result<FindingQuery, CliError> {
    let mut query = FindingQuery {
        limit: 50,
        ..FindingQuery::default()
    };
    for (name, value) in params {
        match name.as_str() {
            "status" => {
                query.status = Some(seam_cases::TriageStatus::parse(value).map_err(failed)?)
            }
            "rule" => query.rule = Some(value.clone()),
            "site" => query.sites = Some(vec![value.clone()]),
            "zone" => query.zone = Some(value.clone()),
            "person" => query.person = Some(value.clone()),
            "alert" => query.alert = Some(value.clone()),
            "q" => query.text = Some(value.clone()),
            "cursor" => {
                query.after = Some(seam_store::workspace::Cursor::decode(value).map_err(failed)?);
            }
            "limit" => query.limit = value.parse().unwrap_or(50).min(10_000),
            "severity" => {
                query.min_severity = Some(match value.as_str() {
                    "low" => 2,
                    "medium" => 3,
                    "high" => 4,
                    "critical" => 5,
                    other => {
                        return Err(failed(format!(
                            "--severity `{other}`: low, medium, high or critical"
                        )));
                    }
                });
            }
            _ => {}
        }
    }
    Ok(query)
}

fn percent(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn triage(
    target: &mut Target,
    args: &TargetArgs,
    uids: &[String],
    action: TriageAction,
) -> Result<(), CliError> {
    if uids.is_empty() {
        return Err(failed("name at least one finding"));
    }
    let mut results = Vec::new();
    let mut refused = 0usize;
    for uid in uids {
        let result = match target {
            Target::Service { .. } => {
                let body = serde_json::to_value(&action).unwrap_or_default();
                target.call(
                    "POST",
                    &format!("/v1/findings/{}/triage", percent(uid)),
                    Some(&body),
                )
            }
            Target::Local { store, .. } => {
                let state = store
                    .triage(
                        uid,
                        &action,
                        &local_actor(),
                        crate::wall_clock().millis(),
                        None,
                    )
                    .map_err(store_error);
                match state {
                    Ok(state) => {
                        commit(store.as_mut())?;
                        target.audit(
                            seam_audit::AuditAction::FindingChanged,
                            serde_json::json!({"finding": uid, "action": action.name(),
                                               "status": state.status}),
                        )?;
                        Ok(serde_json::json!({"uid": uid, "triage": state}))
                    }
                    Err(e) => Err(e),
                }
            }
        };
        match result {
            Ok(value) => {
                if !args.json {
                    say!(
                        "{uid}: {}",
                        at(&value, "/triage/status").as_str().unwrap_or("done")
                    );
                }
                results.push(value);
            }
            Err(error) => {
                refused += 1;
                eprintln!("{uid}: {error}");
                results.push(serde_json::json!({"uid": uid, "error": error.to_string()}));
            }
        }
    }
    if args.json {
        print_json(&serde_json::Value::Array(results));
    }
    if refused > 0 {
        return Err(failed(format!("{refused} of {} refused", uids.len())));
    }
    Ok(())
}

pub(crate) fn case(
    args: &TargetArgs,
    procedures: &Procedures,
    command: CaseCommand,
) -> Result<(), CliError> {
    let mut target = Target::open(args)?;
    match command {
        CaseCommand::Create {
            title,
            findings,
            kind,
            severity,
            owner,
        } => {
            let severity = severity
                .as_deref()
                .map(seam_cases::CaseSeverity::parse)
                .transpose()
                .map_err(failed)?;
            let links = Links {
                findings: findings.into_iter().collect(),
                ..Links::default()
            };
            let case = match &mut target {
                Target::Service { .. } => target.call(
                    "POST",
                    "/v1/cases",
                    Some(
                        &serde_json::json!({"title": title, "kind": kind, "severity": severity,
                                             "owner": owner, "links": links}),
                    ),
                )?,
                Target::Local { store, .. } => {
                    let kind = seam_store::workspace::case_type_for(
                        &**store as &dyn seam_store::Workspace,
                        procedures,
                        kind.as_deref(),
                        &links.findings,
                    )
                    .map_err(store_error)?;
                    let now = crate::wall_clock().millis();
                    let draft = CaseDraft {
                        title,
                        kind: kind.as_ref().map(|k| k.id.clone()),
                        severity,
                        owner,
                        links,
                    };
                    let tasks = kind.as_ref().map(|k| k.tasks(now)).unwrap_or_default();
                    let mut probe = Case::open(
                        "C-0".into(),
                        draft.clone(),
                        tasks.clone(),
                        &local_actor(),
                        now,
                    )
                    .map_err(|e| failed(e.to_string()))?;
                    seam_store::workspace::place_case(
                        &**store as &dyn seam_store::Workspace,
                        &mut probe,
                    )
                    .map_err(store_error)?;
                    let case = store
                        .create_case(&mut |id| {
                            let mut case =
                                Case::open(id, draft.clone(), tasks.clone(), &local_actor(), now)?;
                            case.sites = probe.sites.clone();
                            case.links = probe.links.clone();
                            case.span = probe.span;
                            Ok(case)
                        })
                        .map_err(store_error)?;
                    commit(store.as_mut())?;
                    target.audit(
                        seam_audit::AuditAction::CaseChanged,
                        serde_json::json!({"case": case.id, "action": "open", "kind": case.kind}),
                    )?;
                    serde_json::to_value(&case).unwrap_or_default()
                }
            };
            if args.json {
                print_json(&case);
            } else {
                say!(
                    "{}  {}  ({} tasks)",
                    at(&case, "/id").as_str().unwrap_or_default(),
                    at(&case, "/kind").as_str().unwrap_or("no type"),
                    at(&case, "/tasks").as_array().map_or(0, Vec::len)
                );
            }
            Ok(())
        }
        CaseCommand::Add {
            id,
            findings,
            people,
            zones,
            assets,
        } => {
            let links = Links {
                findings: findings.into_iter().collect(),
                people: people.into_iter().collect(),
                zones: zones.into_iter().collect(),
                assets: assets.into_iter().collect(),
                events: Default::default(),
            };
            let case = match &mut target {
                Target::Service { .. } => {
                    let path = format!("/v1/cases/{}", percent(&id));
                    let current = target.call("GET", &path, None)?;
                    let version = at(&current, "/version").as_u64().unwrap_or(0);
                    target.call(
                        "PATCH",
                        &path,
                        Some(&serde_json::json!({"version": version,
                                                 "changes": [{"change": "link", "links": links}]})),
                    )?
                }
                Target::Local { store, .. } => {
                    let current = store
                        .case(&id)
                        .map_err(store_error)?
                        .ok_or_else(|| failed(format!("case `{id}` not found")))?;
                    let mut after = current
                        .apply(
                            &CaseChange::Link { links },
                            &local_actor(),
                            crate::wall_clock().millis(),
                        )
                        .map_err(|e| failed(e.to_string()))?;
                    seam_store::workspace::place_case(
                        &**store as &dyn seam_store::Workspace,
                        &mut after,
                    )
                    .map_err(store_error)?;
                    store
                        .save_cases(std::slice::from_ref(&after))
                        .map_err(store_error)?;
                    commit(store.as_mut())?;
                    target.audit(
                        seam_audit::AuditAction::CaseChanged,
                        serde_json::json!({"case": id, "action": "change", "changes": ["link"]}),
                    )?;
                    serde_json::to_value(&after).unwrap_or_default()
                }
            };
            if args.json {
                print_json(&case);
            } else {
                say!("{}  version {}", id, at(&case, "/version"));
            }
            Ok(())
        }
        CaseCommand::List { status, limit } => {
            let listed = match &mut target {
                Target::Service { .. } => {
                    let mut path = format!("/v1/cases?limit={limit}");
                    if let Some(status) = &status {
                        path.push_str(&format!("&status={}", percent(status)));
                    }
                    target.call("GET", &path, None)?
                }
                Target::Local { store, .. } => {
                    let status = status
                        .as_deref()
                        .map(seam_cases::CaseStatus::parse)
                        .transpose()
                        .map_err(failed)?;
                    let cases = store
                        .list_cases(&CaseQuery {
                            status,
                            limit,
                            ..CaseQuery::default()
                        })
                        .map_err(store_error)?;
                    serde_json::json!({"count": cases.len(), "cases": cases})
                }
            };
            if args.json {
                print_json(&listed);
            } else {
                for case in at(&listed, "/cases").as_array().into_iter().flatten() {
                    say!(
                        "{:<8} {:<13} {:<8} {}",
                        at(case, "/id").as_str().unwrap_or_default(),
                        at(case, "/status").as_str().unwrap_or_default(),
                        at(case, "/severity").as_str().unwrap_or_default(),
                        at(case, "/title").as_str().unwrap_or_default()
                    );
                }
            }
            Ok(())
        }
        CaseCommand::Show { id } => {
            let case = match &mut target {
                Target::Service { .. } => {
                    target.call("GET", &format!("/v1/cases/{}", percent(&id)), None)?
                }
                Target::Local { store, .. } => {
                    let case = store
                        .case(&id)
                        .map_err(store_error)?
                        .ok_or_else(|| failed(format!("case `{id}` not found")))?;
                    let custody = store.custody(&id).map_err(store_error)?;
                    let mut value = serde_json::to_value(&case).unwrap_or_default();
                    if let Some(object) = value.as_object_mut() {
                        object.insert(
                            "custody".into(),
                            custody
                                .iter()
                                .map(|c| {
                                    serde_json::json!({"sha256": c.sha256, "at": c.at,
                                                            "by": c.actor, "action": c.action})
                                })
                                .collect(),
                        );
                    }
                    target.audit(
                        seam_audit::AuditAction::PersonRead,
                        serde_json::json!({"what": "case", "case": id}),
                    )?;
                    value
                }
            };
            if args.json {
                print_json(&case);
            } else {
                show(&case);
            }
            Ok(())
        }
        CaseCommand::Export { id, out } => {
            let files = match &mut target {
                Target::Service { .. } => {
                    let bundle =
                        target.call("GET", &format!("/v1/cases/{}/export", percent(&id)), None)?;
                    let mut files = Vec::new();
                    for file in at(&bundle, "/files").as_array().into_iter().flatten() {
                        files.push(seam_cases::bundle::BundleFile {
                            path: at(file, "/path").as_str().unwrap_or_default().to_string(),
                            bytes: seam_cases::bundle::base64_decode(
                                file["base64"].as_str().unwrap_or_default(),
                            )
                            .map_err(failed)?,
                        });
                    }
                    files
                }
                Target::Local {
                    store, data_dir, ..
                } => {
                    let case = store
                        .case(&id)
                        .map_err(store_error)?
                        .ok_or_else(|| failed(format!("case `{id}` not found")))?;
                    let key = seam_serve::export_key(data_dir).map_err(failed)?;
                    let files = local_bundle(&**store, data_dir, &case, &key)?;
                    for piece in &case.evidence {
                        store
                            .record_custody(&seam_store::workspace::CustodyEntry {
                                case_id: id.clone(),
                                sha256: piece.sha256.clone(),
                                at: crate::wall_clock().millis(),
                                actor: local_actor(),
                                action: "exported".into(),
                            })
                            .map_err(store_error)?;
                    }
                    commit(store.as_mut())?;
                    target.audit(
                        seam_audit::AuditAction::EvidenceAccessed,
                        serde_json::json!({"case": id, "action": "export"}),
                    )?;
                    files
                }
            };
            // What arrives is checked before it is written: a bundle that does not verify is
            // not left on disk as if it did.
            let verified = seam_cases::bundle::verify(&files, None)
                .map_err(|e| failed(format!("the bundle does not verify: {e}")))?;
            write_bundle(&out, &files)?;
            if args.json {
                print_json(&serde_json::json!({"case": verified.case_id, "out": out,
                                               "files": files.len(),
                                               "public_key": verified.public_key}));
            } else {
                say!(
                    "{}: {} files in {} (signed by {})",
                    verified.case_id,
                    files.len(),
                    out.display(),
                    verified.public_key
                );
            }
            Ok(())
        }
    }
}

fn show(case: &serde_json::Value) {
    say!(
        "{}  {}  [{} · {}]",
        at(case, "/id").as_str().unwrap_or_default(),
        at(case, "/title").as_str().unwrap_or_default(),
        at(case, "/status").as_str().unwrap_or_default(),
        at(case, "/severity").as_str().unwrap_or_default()
    );
    for task in at(case, "/tasks").as_array().into_iter().flatten() {
        say!(
            "  task {} [{}] {}: {}",
            at(task, "/id"),
            at(task, "/status").as_str().unwrap_or_default(),
            at(task, "/team").as_str().unwrap_or_default(),
            at(task, "/title").as_str().unwrap_or_default()
        );
    }
    for piece in at(case, "/evidence").as_array().into_iter().flatten() {
        say!(
            "  evidence {} ({} bytes) sha256 {}",
            at(piece, "/name").as_str().unwrap_or_default(),
            at(piece, "/bytes"),
            piece["sha256"].as_str().unwrap_or_default()
        );
    }
    for note in at(case, "/notes").as_array().into_iter().flatten() {
        say!(
            "  note by {}: {}",
            at(note, "/by").as_str().unwrap_or_default(),
            at(note, "/text").as_str().unwrap_or_default()
        );
    }
}

/// The bundle of a case read from a local store: the case, its timeline, findings, report
/// and evidence (each piece's digest checked), sealed with the installation's export key.
fn local_bundle(
    store: &dyn WorkspaceStore,
    data_dir: &Path,
    case: &Case,
    key: &ed25519_dalek::SigningKey,
) -> Result<Vec<seam_cases::bundle::BundleFile>, CliError> {
    let mut findings = Vec::new();
    for uid in &case.links.findings {
        if let Some(found) = store.triaged(uid).map_err(store_error)? {
            findings.push(serde_json::from_str(&found.json).unwrap_or_default());
        }
    }
    let mut events = Vec::new();
    if let Some((first, last)) = case.span {
        let margin = 2 * 3_600_000;
        let (found, _) = store
            .case_events(
                case,
                seam_model::Ts(first - margin),
                seam_model::Ts(last + margin),
                5_000,
            )
            .map_err(store_error)?;
        events = found
            .into_iter()
            .filter_map(|(person, json)| seam_cases::timeline::event_entry(person, &json))
            .collect();
    }
    let finding_entries = findings
        .iter()
        .filter_map(seam_cases::timeline::finding_entry)
        .collect();
    let timeline = seam_cases::timeline::merge(case, events, finding_entries);
    let store_of_evidence = seam_store::evidence::EvidenceStore::open(&data_dir.join("evidence"))
        .map_err(|e| failed(e.to_string()))?;
    let mut evidence = Vec::new();
    for piece in &case.evidence {
        let bytes = store_of_evidence
            .read_checked(&piece.sha256, u64::MAX)
            .map_err(|e| failed(format!("evidence {}: {e}", piece.sha256)))?;
        evidence.push((piece.sha256.clone(), bytes));
    }
    let case_value = serde_json::to_value(case).unwrap_or_default();
    let files = seam_cases::bundle::case_files(&case_value, &timeline, &findings, evidence);
    seam_cases::bundle::seal(files, &case.id, crate::wall_clock().millis(), key)
        .map_err(|e| failed(e.to_string()))
}

fn write_bundle(out: &Path, files: &[seam_cases::bundle::BundleFile]) -> Result<(), CliError> {
    if out.exists()
        && std::fs::read_dir(out)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        return Err(failed(format!("{} exists and is not empty", out.display())));
    }
    for file in files {
        // Paths were checked by `verify`: relative, no `..`.
        let target = out.join(&file.path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| failed(format!("{}: {e}", parent.display())))?;
        }
        std::fs::write(&target, &file.bytes)
            .map_err(|e| failed(format!("{}: {e}", target.display())))?;
    }
    Ok(())
}
