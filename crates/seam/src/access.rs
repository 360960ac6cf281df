//! `seam user add|list|disable|passwd` and `seam token create|list|revoke`: the local users
//! and API tokens of `seam-access`, kept as documents in a data directory's store (run with
//! the service stopped: it reads them at start). The first admin is made here, with a
//! password read from standard input, never a default. Every change is in the audit log.

use std::io::{BufRead, Write};
use std::path::Path;
use std::process::ExitCode;

use seam_access::{
    NewToken, NewUser, OsRandom, PasswordParams, Role, TOKENS_COLLECTION, Tokens, USERS_COLLECTION,
    Users,
};
use seam_store::{DocumentWrite, Store};

use crate::error::CliError;

use crate::wall_clock as now;

fn failed(e: impl std::fmt::Display) -> CliError {
    CliError::Failed(e.to_string())
}

/// The store holding users and tokens: `--store URL`, else the data directory's own. The
/// audit log is the data directory's either way.
fn open(data_dir: &Path, store_url: Option<&str>) -> Result<Box<dyn Store>, CliError> {
    crate::stores::StoreLocation::from_args(
        Some(data_dir.to_path_buf()),
        store_url.map(str::to_string),
    )?
    .ok_or_else(|| CliError::Failed("no store".into()))?
    .open()
}

fn users_of(store: &dyn Store) -> Result<Users, CliError> {
    let documents = store
        .documents(USERS_COLLECTION)
        .map_err(|e| CliError::Store(e.to_string()))?;
    Users::load(PasswordParams::PRODUCTION, documents).map_err(failed)
}

fn tokens_of(store: &dyn Store) -> Result<Tokens, CliError> {
    let documents = store
        .documents(TOKENS_COLLECTION)
        .map_err(|e| CliError::Store(e.to_string()))?;
    Tokens::load(documents).map_err(failed)
}

fn save(
    store: &mut dyn Store,
    collection: &str,
    id: &str,
    json: Result<String, serde_json::Error>,
) -> Result<(), CliError> {
    let json = json.map_err(failed)?;
    store
        .write_documents(&[DocumentWrite {
            collection: collection.to_string(),
            id: id.to_string(),
            json: Some(json),
        }])
        .and_then(|()| store.commit())
        .map_err(|e| CliError::Store(e.to_string()))
}

/// Keeps one document, then records the act in the audit log (the service must be stopped:
/// the log has one writer).
fn save_and_audit(
    store: &mut dyn Store,
    (data_dir, store_url): (&Path, Option<&str>),
    (collection, id, json): (&str, &str, Result<String, serde_json::Error>),
    action: seam_audit::AuditAction,
    subject: &str,
    detail: serde_json::Value,
) -> Result<(), CliError> {
    save(store, collection, id, json)?;
    let entry = seam_audit::AuditEntry::new("cli", action)
        .subject(subject)
        .detail(detail);
    crate::stores::record(data_dir, store_url, entry)
}

fn roles(names: &[String]) -> Result<Vec<Role>, CliError> {
    names
        .iter()
        .flat_map(|n| n.split(','))
        .map(|n| n.trim().parse::<Role>().map_err(failed))
        .collect()
}

fn sites(names: &[String]) -> Option<Vec<String>> {
    let sites: Vec<String> = names
        .iter()
        .flat_map(|n| n.split(','))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    (!sites.is_empty()).then_some(sites)
}

/// The password from the first line of standard input (typed, or piped by a script).
fn read_password() -> Result<String, CliError> {
    let mut line = String::new();
    if std::io::stderr().lock().write_all(b"password: ").is_ok() {
        let _ = std::io::stderr().flush();
    }
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(CliError::Output)?;
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    if password.is_empty() {
        return Err(CliError::Failed(
            "no password on standard input: type one, or pipe it in".into(),
        ));
    }
    Ok(password)
}

pub fn user_add(
    data_dir: &Path,
    store_url: Option<&str>,
    name: &str,
    display_name: Option<&str>,
    role: &[String],
    site: &[String],
) -> Result<ExitCode, CliError> {
    let mut store = open(data_dir, store_url)?;
    let mut users = users_of(&*store)?;
    let roles = roles(role)?;
    if roles.is_empty() {
        return Err(CliError::Failed("give at least one --role".into()));
    }
    let sites = sites(site);
    let password = read_password()?;
    let user = users
        .add(
            NewUser {
                name,
                display_name: display_name.unwrap_or(name),
                roles: &roles,
                sites: sites.as_deref(),
                password: Some(&password),
                oidc_subject: None,
            },
            now(),
            &mut OsRandom,
        )
        .map_err(failed)?
        .clone();
    save_and_audit(
        &mut *store,
        (data_dir, store_url),
        (USERS_COLLECTION, &user.id, user.to_document()),
        seam_audit::AuditAction::UserCreated,
        &user.id,
        serde_json::json!({"roles": user.roles, "sites": user.sites}),
    )?;
    say!("user {} ({}) added", user.name, user.id);
    Ok(ExitCode::SUCCESS)
}

pub fn user_list(
    data_dir: &Path,
    store_url: Option<&str>,
    json: bool,
) -> Result<ExitCode, CliError> {
    let store = open(data_dir, store_url)?;
    let users = users_of(&*store)?;
    for user in users.iter() {
        if json {
            // Never the password hash.
            say!(
                "{}",
                serde_json::json!({
                    "id": user.id, "name": user.name, "display_name": user.display_name,
                    "roles": user.roles, "sites": user.sites, "disabled": user.disabled,
                    "created": user.created, "password_changed": user.password_changed,
                })
            );
        } else {
            let roles: Vec<String> = user.roles.iter().map(ToString::to_string).collect();
            say!(
                "{}  {:<20} {:<30} {}{}",
                user.id,
                user.name,
                roles.join(","),
                user.sites
                    .as_ref()
                    .map_or_else(|| "all sites".to_string(), |s| s.join(",")),
                if user.disabled { "  (disabled)" } else { "" }
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn user_disable(
    data_dir: &Path,
    store_url: Option<&str>,
    name: &str,
) -> Result<ExitCode, CliError> {
    let mut store = open(data_dir, store_url)?;
    let mut users = users_of(&*store)?;
    let id = users
        .by_name(name)
        .map(|u| u.id.clone())
        .ok_or_else(|| CliError::Failed(format!("no user `{name}`")))?;
    let user = users.disable(&id).map_err(failed)?.clone();
    save_and_audit(
        &mut *store,
        (data_dir, store_url),
        (USERS_COLLECTION, &user.id, user.to_document()),
        seam_audit::AuditAction::UserDisabled,
        &user.id,
        serde_json::json!({}),
    )?;
    say!("user {name} disabled; the service ends their sessions at its next start");
    Ok(ExitCode::SUCCESS)
}

pub fn user_passwd(
    data_dir: &Path,
    store_url: Option<&str>,
    name: &str,
) -> Result<ExitCode, CliError> {
    let mut store = open(data_dir, store_url)?;
    let mut users = users_of(&*store)?;
    let id = users
        .by_name(name)
        .map(|u| u.id.clone())
        .ok_or_else(|| CliError::Failed(format!("no user `{name}`")))?;
    let password = read_password()?;
    let user = users
        .set_password(&id, &password, now(), &mut OsRandom)
        .map_err(failed)?
        .clone();
    save_and_audit(
        &mut *store,
        (data_dir, store_url),
        (USERS_COLLECTION, &user.id, user.to_document()),
        seam_audit::AuditAction::UserChanged,
        &user.id,
        serde_json::json!({"password": "changed"}),
    )?;
    say!("password of {name} changed");
    Ok(ExitCode::SUCCESS)
}

pub fn token_create(
    data_dir: &Path,
    store_url: Option<&str>,
    name: &str,
    role: &[String],
    site: &[String],
    expires: Option<&str>,
) -> Result<ExitCode, CliError> {
    let mut store = open(data_dir, store_url)?;
    let mut tokens = tokens_of(&*store)?;
    let roles = roles(role)?;
    if roles.is_empty() {
        return Err(CliError::Failed("give at least one --role".into()));
    }
    let sites = sites(site);
    let expires = expires
        .map(|text| {
            seam_model::Ts::parse(text).map_err(|e| CliError::Failed(format!("--expires: {e}")))
        })
        .transpose()?;
    let (record, secret) = tokens
        .create(
            NewToken {
                name,
                roles: &roles,
                sites: sites.as_deref(),
                expires,
            },
            now(),
            &mut OsRandom,
        )
        .map_err(failed)?;
    let record = record.clone();
    save_and_audit(
        &mut *store,
        (data_dir, store_url),
        (TOKENS_COLLECTION, &record.id, record.to_document()),
        seam_audit::AuditAction::TokenCreated,
        &format!("t-{}", record.id),
        serde_json::json!({"name": record.name, "roles": record.roles, "sites": record.sites, "expires": record.expires}),
    )?;
    eprintln!("token {} created; it is shown once, here:", record.id);
    say!("{}", secret.expose());
    Ok(ExitCode::SUCCESS)
}

pub fn token_list(
    data_dir: &Path,
    store_url: Option<&str>,
    json: bool,
) -> Result<ExitCode, CliError> {
    let store = open(data_dir, store_url)?;
    let tokens = tokens_of(&*store)?;
    let at = now();
    for token in tokens.iter() {
        if json {
            // The digest stays in the store.
            say!(
                "{}",
                serde_json::json!({
                    "id": token.id, "name": token.name, "roles": token.roles, "sites": token.sites,
                    "created": token.created, "expires": token.expires, "revoked": token.revoked,
                    "last_used": token.last_used, "live": token.is_live(at),
                })
            );
        } else {
            let roles: Vec<String> = token.roles.iter().map(ToString::to_string).collect();
            say!(
                "{}  {:<30} {:<24} {}",
                token.id,
                token.name,
                roles.join(","),
                if token.is_live(at) {
                    "live"
                } else {
                    "revoked or expired"
                }
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn token_revoke(
    data_dir: &Path,
    store_url: Option<&str>,
    id: &str,
) -> Result<ExitCode, CliError> {
    let mut store = open(data_dir, store_url)?;
    let mut tokens = tokens_of(&*store)?;
    let record = tokens.revoke(id, now()).map_err(failed)?.clone();
    save_and_audit(
        &mut *store,
        (data_dir, store_url),
        (TOKENS_COLLECTION, &record.id, record.to_document()),
        seam_audit::AuditAction::TokenRevoked,
        &format!("t-{}", record.id),
        serde_json::json!({}),
    )?;
    say!("token {id} revoked");
    Ok(ExitCode::SUCCESS)
}
