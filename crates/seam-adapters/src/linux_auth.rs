//! Linux authentication logs over syslog (`auth.log`, `secure`, the journal forwarded): sshd
//! sign-ins, PAM sessions and sudo.
//!
//! ```text
//! <38>Mar  2 22:14:05 db01 sshd[4121]: Accepted publickey for alice from 192.0.2.44 port 51234 ssh2: ED25519 SHA256:…
//! <38>Mar  2 22:14:09 db01 sshd[4122]: Failed password for invalid user admin from 203.0.113.9 port 40022 ssh2
//! <38>Mar  2 22:14:10 db01 sshd[4123]: Invalid user oracle from 203.0.113.9 port 40023
//! <86>Mar  2 22:14:05 db01 sshd[4121]: pam_unix(sshd:session): session opened for user alice(uid=1001) by (uid=0)
//! <85>Mar  2 22:15:30 db01 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/systemctl restart postgresql
//! <38>Mar  2 22:40:00 db01 sshd[4121]: Disconnected from user alice 192.0.2.44 port 51234
//! ```
//!
//! Every event names the server it happened on (`asset` ← the syslog host) and the service
//! (`app` ← `sshd`, `sudo`, `pam:<service>`). Other messages of these programs (key exchange,
//! connection resets before authentication) are skipped with their reason.

use std::net::IpAddr;

use seam_model::{Activity, EventClass, Outcome};

use crate::common::{self, Read, RecordResult};
use crate::{Batch, ParseContext, syslog};

const NAME: &str = "linux-auth";

pub(crate) fn parse(input: &[u8], ctx: &ParseContext) -> Batch {
    common::parse_lines(input, ctx, |line, raw| parse_line(line, raw, ctx))
}

/// What a message says happened.
struct Sign {
    activity: Activity,
    outcome: Outcome,
    user: Option<String>,
    from: Option<IpAddr>,
    reason: Option<String>,
    /// The method of an sshd sign-in (`password`, `publickey`, …).
    method: Option<String>,
}

impl Sign {
    fn new(activity: Activity, outcome: Outcome) -> Sign {
        Sign {
            activity,
            outcome,
            user: None,
            from: None,
            reason: None,
            method: None,
        }
    }
}

fn parse_line(line: &str, raw: &[u8], ctx: &ParseContext) -> RecordResult {
    let header = syslog::header(line).ok_or("not a syslog line")?;
    let time = header.time(ctx)?;
    // `host program[pid]: message` (RFC 3164) or `HOST APP PROCID MSGID SD MSG` (RFC 5424).
    let (host, rest) = syslog::next_token(header.rest);
    let (program, message) = if header.rfc5424 {
        let (app, rest) = syslog::next_token(rest);
        let (_procid, rest) = syslog::next_token(rest);
        let (_msgid, rest) = syslog::next_token(rest);
        let (_sd, rest) = syslog::next_token(rest);
        (app, rest)
    } else {
        let (tag, message) = rest
            .split_once(": ")
            .ok_or("no `program: message` after the syslog host")?;
        (tag.split('[').next().unwrap_or(tag), message)
    };
    let message = message.trim();
    let sign = if let Some(pam) = message.strip_prefix("pam_unix(") {
        pam_unix(pam)
    } else {
        match program {
            "sshd" => sshd(message),
            "sudo" => sudo(message),
            // The console program's own notes repeat what its PAM session lines record.
            "login" => {
                Err("the login program's note of a console sign-in (its PAM lines record it)")
            }
            _ => return Err(format!("`{program}` is not sshd, sudo or PAM")),
        }
    };
    let sign = match sign {
        Ok(sign) => sign,
        Err(skip) => return Ok(Read::Skip(skip)),
    };
    let uid = common::digest_uid(NAME, &[raw]);
    let mut event = common::new_event(ctx, uid, time, EventClass::Authentication, sign.activity);
    event.outcome = sign.outcome;
    event.subject.user = sign.user;
    event.src.ip = sign.from;
    event.reason = sign.reason;
    event.asset = common::clean(Some(host)).filter(|h| *h != "-");
    // A command run as another user through sudo, or a sign-in as root, is privileged.
    event.privileged = event.outcome == Outcome::Success
        && (program == "sudo" || event.subject.user.as_deref() == Some("root"));
    event.app = Some(match (program, message.starts_with("pam_unix(")) {
        (_, true) => format!(
            "pam:{}",
            message
                .trim_start_matches("pam_unix(")
                .split([':', ')'])
                .next()
                .unwrap_or("?")
        ),
        ("sshd", false) => match &sign.method {
            Some(method) => format!("sshd:{method}"),
            None => "sshd".to_string(),
        },
        (program, false) => program.to_string(),
    });
    event.raw = Some(serde_json::Value::String(line.to_string()));
    Ok(Read::Event(event))
}

/// The word after `marker`, up to the next space.
fn word_after<'a>(text: &'a str, marker: &str) -> Option<&'a str> {
    let at = text.find(marker)?;
    text.get(at + marker.len()..)?.split_whitespace().next()
}

fn address_after(text: &str, marker: &str) -> Option<IpAddr> {
    word_after(text, marker).and_then(|word| word.parse().ok())
}

fn sshd(message: &str) -> Result<Sign, &'static str> {
    if let Some(rest) = message.strip_prefix("Accepted ") {
        let mut sign = Sign::new(Activity::Logon, Outcome::Success);
        sign.method = rest.split_whitespace().next().map(str::to_string);
        sign.user = word_after(rest, " for ").map(str::to_string);
        sign.from = address_after(rest, " from ");
        return Ok(sign);
    }
    if let Some(rest) = message.strip_prefix("Failed ") {
        let mut sign = Sign::new(Activity::Logon, Outcome::Failure);
        sign.method = rest.split_whitespace().next().map(str::to_string);
        let invalid = rest.contains(" for invalid user ");
        sign.user = if invalid {
            word_after(rest, " for invalid user ")
        } else {
            word_after(rest, " for ")
        }
        .map(str::to_string);
        sign.from = address_after(rest, " from ");
        sign.reason = Some(if invalid {
            "invalid user".to_string()
        } else {
            format!(
                "failed {}",
                sign.method.as_deref().unwrap_or("authentication")
            )
        });
        return Ok(sign);
    }
    if let Some(rest) = message.strip_prefix("Invalid user ") {
        let mut sign = Sign::new(Activity::Logon, Outcome::Failure);
        sign.user = rest.split_whitespace().next().map(str::to_string);
        sign.from = address_after(rest, " from ");
        sign.reason = Some("invalid user".to_string());
        return Ok(sign);
    }
    if let Some(rest) = message.strip_prefix("Disconnected from user ") {
        let mut sign = Sign::new(Activity::Logoff, Outcome::Unknown);
        let mut words = rest.split_whitespace();
        sign.user = words.next().map(str::to_string);
        sign.from = words.next().and_then(|word| word.parse().ok());
        return Ok(sign);
    }
    if message.starts_with("error: maximum authentication attempts exceeded") {
        let mut sign = Sign::new(Activity::Logon, Outcome::Failure);
        sign.user = word_after(message, " for invalid user ")
            .or_else(|| word_after(message, " for "))
            .map(str::to_string);
        sign.from = address_after(message, " from ");
        sign.reason = Some("maximum authentication attempts exceeded".to_string());
        return Ok(sign);
    }
    Err("an sshd message that is not a sign-in, a failure or a sign-out")
}

/// PAM services through which a person signs in at the machine itself (a text console, a
/// graphical greeter): their session is the sign-in, no other line records it.
const CONSOLE_SERVICES: &[&str] = &[
    "login",
    "gdm-password",
    "gdm-fingerprint",
    "gdm-smartcard",
    "lightdm",
    "sddm",
    "xdm",
    "kdm",
];

/// `pam_unix(SERVICE:TYPE): …`.
fn pam_unix(rest: &str) -> Result<Sign, &'static str> {
    let (service, message) = rest
        .split_once("): ")
        .ok_or("a pam_unix message without its text")?;
    let service = service.split(':').next().unwrap_or(service);
    if let Some(after) = message.strip_prefix("session opened for user ") {
        let console = CONSOLE_SERVICES.contains(&service);
        let activity = if console {
            Activity::Logon
        } else {
            Activity::AuthOther
        };
        let mut sign = Sign::new(activity, Outcome::Success);
        sign.user = after
            .split(['(', ' '])
            .next()
            .filter(|u| !u.is_empty())
            .map(str::to_string);
        sign.reason = Some(if console {
            "console session opened".to_string()
        } else {
            "session opened".to_string()
        });
        return Ok(sign);
    }
    if let Some(after) = message.strip_prefix("session closed for user ") {
        let mut sign = Sign::new(Activity::Logoff, Outcome::Unknown);
        sign.user = after
            .split(['(', ' '])
            .next()
            .filter(|u| !u.is_empty())
            .map(str::to_string);
        return Ok(sign);
    }
    if message.starts_with("authentication failure;") {
        let mut sign = Sign::new(Activity::Logon, Outcome::Failure);
        // `… ruser=alice rhost=192.0.2.9  user=alice`
        sign.user = word_after(message, " user=")
            .or_else(|| word_after(message, "ruser="))
            .map(str::to_string);
        sign.from = address_after(message, "rhost=");
        sign.reason = Some("authentication failure".to_string());
        return Ok(sign);
    }
    Err("a pam_unix message other than a session or an authentication failure")
}

/// `USER : TTY=… ; PWD=… ; USER=root ; COMMAND=…`, or `USER : N incorrect password attempts ; …`.
fn sudo(message: &str) -> Result<Sign, &'static str> {
    let (user, rest) = message
        .split_once(" : ")
        .ok_or("a sudo message without `user : …`")?;
    let user = user.trim();
    if user.is_empty() || user.contains(' ') {
        return Err("a sudo message without `user : …`");
    }
    let failed = rest.contains("incorrect password attempt") || rest.contains("NOT in sudoers");
    let command = rest
        .split(" ; ")
        .find_map(|part| part.trim().strip_prefix("COMMAND="))
        .map(str::trim);
    let target = rest
        .split(" ; ")
        .find_map(|part| part.trim().strip_prefix("USER="))
        .map(str::trim);
    if command.is_none() && !failed {
        return Err("a sudo message that runs no command");
    }
    let mut sign = Sign::new(
        Activity::AuthOther,
        if failed {
            Outcome::Failure
        } else {
            Outcome::Success
        },
    );
    sign.user = Some(user.to_string());
    let head = rest.split(" ; ").next().unwrap_or_default().trim();
    sign.reason = Some(match (failed, target, command) {
        (true, _, _) => head.to_string(),
        (false, Some(target), Some(command)) => format!("as {target}: {command}"),
        (false, None, Some(command)) => command.to_string(),
        (false, _, None) => head.to_string(),
    });
    Ok(sign)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> seam_model::Event {
        let ctx = ParseContext::new("linux-auth", seam_model::Ts(1_772_500_000_000));
        let batch = parse(line.as_bytes(), &ctx);
        assert_eq!(batch.rejected, [], "{line}");
        assert_eq!(batch.events.len(), 1, "{line}: {batch:?}");
        batch
            .events
            .into_iter()
            .next()
            .unwrap_or_else(|| unreachable!())
    }

    #[test]
    fn sshd_sign_ins_failures_and_sign_outs() {
        let event = one(
            "<38>Mar  2 22:14:05 db01 sshd[4121]: Accepted publickey for alice from 192.0.2.44 port 51234 ssh2: ED25519 SHA256:abc",
        );
        assert_eq!(
            (event.activity, event.outcome),
            (Activity::Logon, Outcome::Success)
        );
        assert_eq!(event.subject.user.as_deref(), Some("alice"));
        assert_eq!(event.asset.as_deref(), Some("db01"));
        assert_eq!(event.app.as_deref(), Some("sshd:publickey"));
        assert_eq!(event.src.ip, "192.0.2.44".parse().ok());
        let event = one(
            "<38>Mar  2 22:14:09 db01 sshd[4122]: Failed password for invalid user admin from 203.0.113.9 port 40022 ssh2",
        );
        assert_eq!(
            (event.activity, event.outcome),
            (Activity::Logon, Outcome::Failure)
        );
        assert_eq!(event.subject.user.as_deref(), Some("admin"));
        assert_eq!(event.reason.as_deref(), Some("invalid user"));
        let event = one(
            "<38>Mar  2 22:14:10 db01 sshd[4123]: Invalid user oracle from 203.0.113.9 port 40023",
        );
        assert_eq!(event.subject.user.as_deref(), Some("oracle"));
        let event = one(
            "<38>Mar  2 22:40:00 db01 sshd[4121]: Disconnected from user alice 192.0.2.44 port 51234",
        );
        assert_eq!(event.activity, Activity::Logoff);
    }

    #[test]
    fn pam_sessions_and_sudo() {
        let event = one(
            "<86>Mar  2 22:14:05 db01 sshd[4121]: pam_unix(sshd:session): session opened for user alice(uid=1001) by (uid=0)",
        );
        assert_eq!(event.activity, Activity::AuthOther);
        assert_eq!(event.app.as_deref(), Some("pam:sshd"));
        assert_eq!(event.subject.user.as_deref(), Some("alice"));
        let event = one(
            "<85>Mar  2 22:15:30 db01 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/systemctl restart postgresql",
        );
        assert_eq!(
            (event.activity, event.outcome),
            (Activity::AuthOther, Outcome::Success)
        );
        assert_eq!(event.app.as_deref(), Some("sudo"));
        assert_eq!(
            event.reason.as_deref(),
            Some("as root: /usr/bin/systemctl restart postgresql")
        );
        let event = one(
            "<85>Mar  2 22:16:00 db01 sudo:    bob : 3 incorrect password attempts ; TTY=pts/1 ; PWD=/home/bob ; USER=root ; COMMAND=/bin/bash",
        );
        assert_eq!(event.outcome, Outcome::Failure);
        assert_eq!(
            event.reason.as_deref(),
            Some("3 incorrect password attempts")
        );
    }

    #[test]
    fn a_console_session_is_a_sign_in_and_the_login_programs_notes_are_skipped() {
        let event = one(
            "<86>Mar  2 23:10:00 hq-db1 login[812]: pam_unix(login:session): session opened for user root(uid=0) by LOGIN(uid=0)",
        );
        assert_eq!(
            (event.activity, event.outcome),
            (Activity::Logon, Outcome::Success)
        );
        assert_eq!(event.app.as_deref(), Some("pam:login"));
        assert_eq!(event.src.ip, None);
        let ctx = ParseContext::new("linux-auth", seam_model::Ts(1_772_500_000_000));
        let batch = parse(
            b"<86>Mar  2 23:10:00 hq-db1 login[812]: ROOT LOGIN  on '/dev/tty1'\n",
            &ctx,
        );
        assert_eq!((batch.events.len(), batch.skipped), (0, 1));
    }

    #[test]
    fn other_messages_are_skipped_with_a_reason_and_other_programs_rejected() {
        let ctx = ParseContext::new("linux-auth", seam_model::Ts(1_772_500_000_000));
        let batch = parse(
            b"<38>Mar  2 22:14:05 db01 sshd[4121]: Connection closed by 203.0.113.9 port 40022 [preauth]\n<38>Mar  2 22:14:05 db01 cron[77]: (root) CMD (run-parts)\n",
            &ctx,
        );
        assert_eq!(batch.skipped, 1);
        assert_eq!(batch.rejected.len(), 1);
        assert_eq!(batch.rejected[0].index, 2);
    }
}
