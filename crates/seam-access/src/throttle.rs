//! Sign-in throttling, per account and per address, in bounded memory.
//!
//! - Per account: the first [`ThrottlePolicy::account_free_failures`] failures cost nothing;
//!   the one that reaches it locks the account for a minute, and each further failure doubles
//!   the lock up to an hour. Failures are forgotten after a quiet window (15 minutes with no
//!   failure and no lock), or at once by a success. An unknown login is throttled exactly like
//!   a known one, so that throttling tells nothing about which logins exist.
//! - Per address: a bucket of [`ThrottlePolicy::address_failures`] failures refilled evenly
//!   over [`ThrottlePolicy::address_window_ms`] (generic cell rate: one timestamp per
//!   address). A success does not refill it: one valid account must not let an address try
//!   others without limit.
//!
//! A throttled attempt is refused before the password is checked, and does not count.

use std::collections::HashMap;
use std::net::IpAddr;

use seam_model::Ts;

use crate::error::AuthError;

const MINUTE_MS: i64 = 60_000;

/// How many failures are tolerated and for how long they are remembered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures an account may have before it is locked.
    pub account_free_failures: u32,
    /// An account's failures are forgotten after this long without a failure or lock.
    pub account_window_ms: i64,
    /// The first lock; each further failure doubles it.
    pub lockout_first_ms: i64,
    pub lockout_max_ms: i64,
    /// Failures an address may have within [`ThrottlePolicy::address_window_ms`].
    pub address_failures: u32,
    pub address_window_ms: i64,
    /// The most accounts and the most addresses remembered (each).
    pub max_keys: usize,
}

impl Default for ThrottlePolicy {
    fn default() -> ThrottlePolicy {
        ThrottlePolicy {
            account_free_failures: 5,
            account_window_ms: 15 * MINUTE_MS,
            lockout_first_ms: MINUTE_MS,
            lockout_max_ms: 60 * MINUTE_MS,
            address_failures: 20,
            address_window_ms: 15 * MINUTE_MS,
            max_keys: 10_000,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Account {
    failures: u32,
    last_failure: Ts,
    locked_until: Ts,
}

/// The throttle's memory. Pure: every call takes `now`.
#[derive(Debug, Clone)]
pub struct Throttle {
    policy: ThrottlePolicy,
    accounts: HashMap<String, Account>,
    /// Per address, the time at which its bucket is full again ("theoretical arrival time").
    addresses: HashMap<String, Ts>,
}

/// The key an address is throttled under: an IPv4 address whole, an IPv6 address by its /64,
/// since one host usually holds a whole /64.
pub fn address_key(address: IpAddr) -> String {
    match address {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let [a, b, c, d, ..] = v6.segments();
                format!("{a:x}:{b:x}:{c:x}:{d:x}::/64")
            }
        },
    }
}

/// Accounts are throttled by their login ignoring ASCII case, at most 256 bytes of it.
fn account_key(login: &str) -> String {
    bounded(login, 256).to_ascii_lowercase()
}

fn bounded(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end = end.saturating_sub(1);
    }
    text.get(..end).unwrap_or_default()
}

fn secs_until(now: Ts, until: Ts) -> u64 {
    let millis = until.millis().saturating_sub(now.millis()).max(0);
    u64::try_from(millis.saturating_add(999) / 1000).unwrap_or(u64::MAX)
}

impl Throttle {
    pub fn new(policy: ThrottlePolicy) -> Throttle {
        Throttle {
            policy,
            accounts: HashMap::new(),
            addresses: HashMap::new(),
        }
    }

    pub fn policy(&self) -> &ThrottlePolicy {
        &self.policy
    }

    /// The gap the address bucket refills one failure in.
    fn emission_ms(&self) -> i64 {
        self.policy.address_window_ms / i64::from(self.policy.address_failures.max(1))
    }

    /// Whether a sign-in to `login` from `address` may be tried now.
    pub fn check(&self, login: &str, address: &str, now: Ts) -> Result<(), AuthError> {
        let mut until = Ts::MIN;
        if let Some(account) = self.accounts.get(&account_key(login)) {
            until = until.max(account.locked_until);
        }
        if let Some(&full_at) = self.addresses.get(bounded(address, 64)) {
            // Refused when one more failure would overflow the bucket.
            let free_at = full_at.minus_millis(self.policy.address_window_ms - self.emission_ms());
            until = until.max(free_at);
        }
        if now < until {
            Err(AuthError::Throttled {
                retry_after_secs: secs_until(now, until).max(1),
            })
        } else {
            Ok(())
        }
    }

    /// Records a failed sign-in.
    pub fn failure(&mut self, login: &str, address: &str, now: Ts) {
        let policy = self.policy;
        let key = account_key(login);
        if !self.accounts.contains_key(&key) {
            self.make_room_for_account(now);
        }
        let account = self.accounts.entry(key).or_insert(Account {
            failures: 0,
            last_failure: now,
            locked_until: Ts::MIN,
        });
        let quiet_since = account.last_failure.max(account.locked_until);
        if now >= quiet_since.plus_millis(policy.account_window_ms) {
            account.failures = 0;
        }
        account.failures = account.failures.saturating_add(1);
        account.last_failure = now;
        if account.failures >= policy.account_free_failures {
            let doublings = account.failures - policy.account_free_failures;
            let lock = if doublings >= 32 {
                policy.lockout_max_ms
            } else {
                policy
                    .lockout_first_ms
                    .saturating_mul(1i64 << doublings)
                    .min(policy.lockout_max_ms)
            };
            account.locked_until = now.plus_millis(lock);
        }

        let address = bounded(address, 64);
        if !self.addresses.contains_key(address) {
            self.make_room_for_address(now);
        }
        let emission = self.emission_ms();
        let full_at = self.addresses.entry(address.to_string()).or_insert(now);
        *full_at = (*full_at).max(now).plus_millis(emission);
    }

    /// Records a successful sign-in: the account's failures are forgotten.
    pub fn success(&mut self, login: &str) {
        self.accounts.remove(&account_key(login));
    }

    /// Forgets everything that no longer throttles; the caller may call it now and then.
    pub fn purge(&mut self, now: Ts) {
        let window = self.policy.account_window_ms;
        self.accounts.retain(|_, account| {
            now < account
                .last_failure
                .max(account.locked_until)
                .plus_millis(window)
        });
        self.addresses.retain(|_, full_at| now < *full_at);
    }

    /// Accounts and addresses remembered.
    pub fn len(&self) -> (usize, usize) {
        (self.accounts.len(), self.addresses.len())
    }

    // When full, first forget what no longer throttles; if that is not enough, the account
    // whose last failure is oldest. A flood of new keys can therefore evict a lock, but only
    // after `max_keys` newer ones, which the address throttle makes slow to come by.
    fn make_room_for_account(&mut self, now: Ts) {
        if self.accounts.len() < self.policy.max_keys {
            return;
        }
        self.purge(now);
        while self.accounts.len() >= self.policy.max_keys.max(1) {
            let oldest = self
                .accounts
                .iter()
                .min_by_key(|(_, account)| account.last_failure)
                .map(|(key, _)| key.clone());
            match oldest {
                Some(key) => self.accounts.remove(&key),
                None => break,
            };
        }
    }

    fn make_room_for_address(&mut self, now: Ts) {
        if self.addresses.len() < self.policy.max_keys {
            return;
        }
        self.purge(now);
        while self.addresses.len() >= self.policy.max_keys.max(1) {
            let oldest = self
                .addresses
                .iter()
                .min_by_key(|(_, full_at)| **full_at)
                .map(|(key, _)| key.clone());
            match oldest {
                Some(key) => self.addresses.remove(&key),
                None => break,
            };
        }
    }
}

impl Default for Throttle {
    fn default() -> Throttle {
        Throttle::new(ThrottlePolicy::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Ts = Ts::from_secs(1_770_000_000);

    fn at(secs: i64) -> Ts {
        T0.plus_millis(secs * 1000)
    }

    fn retry(throttle: &Throttle, login: &str, address: &str, now: Ts) -> Option<u64> {
        match throttle.check(login, address, now) {
            Ok(()) => None,
            Err(AuthError::Throttled { retry_after_secs }) => Some(retry_after_secs),
            Err(other) => panic!("{other:?}"),
        }
    }

    #[test]
    fn account_back_off_timeline() {
        let mut throttle = Throttle::default();
        // Each failure from a new address, so only the account throttle speaks.
        let mut n = 0;
        let mut fail = |throttle: &mut Throttle, secs: i64| {
            n += 1;
            assert_eq!(
                retry(throttle, "alice", &format!("10.0.0.{n}"), at(secs)),
                None
            );
            throttle.failure("alice", &format!("10.0.0.{n}"), at(secs));
        };
        for secs in 0..4 {
            fail(&mut throttle, secs);
            assert_eq!(retry(&throttle, "alice", "10.9.9.9", at(secs)), None);
        }
        // The fifth locks for a minute.
        fail(&mut throttle, 4);
        assert_eq!(retry(&throttle, "alice", "10.9.9.9", at(4)), Some(60));
        assert_eq!(retry(&throttle, "ALICE", "10.9.9.9", at(34)), Some(30));
        assert_eq!(retry(&throttle, "alice", "10.9.9.9", at(64)), None);
        // Then 2, 4, 8, 16, 32 minutes, then an hour at most.
        let mut now = 64;
        for minutes in [2, 4, 8, 16, 32, 60, 60] {
            fail(&mut throttle, now);
            assert_eq!(
                retry(&throttle, "alice", "10.9.9.9", at(now)),
                Some(minutes * 60)
            );
            now += minutes as i64 * 60;
        }
        // Other accounts are untouched.
        assert_eq!(retry(&throttle, "bob", "10.9.9.9", at(100)), None);
    }

    #[test]
    fn a_success_resets_and_a_quiet_window_forgets() {
        let mut throttle = Throttle::default();
        for secs in 0..4 {
            throttle.failure("alice", "10.0.0.1", at(secs));
        }
        throttle.success("alice");
        for secs in 10..14 {
            throttle.failure("alice", "10.0.0.1", at(secs));
        }
        assert_eq!(retry(&throttle, "alice", "10.0.0.1", at(14)), None);
        // Four more after 15 quiet minutes start from zero again.
        for secs in 913..917 {
            throttle.failure("alice", "10.0.0.1", at(secs));
        }
        assert_eq!(retry(&throttle, "alice", "10.0.0.1", at(917)), None);
        throttle.failure("alice", "10.0.0.1", at(918));
        assert_eq!(retry(&throttle, "alice", "10.0.0.1", at(918)), Some(60));
    }

    #[test]
    fn the_count_outlives_a_long_lock() {
        // The quiet window runs from the end of a lock, not from the last failure: after an
        // hour-long lock, a failure within 15 minutes locks for an hour again.
        let mut throttle = Throttle::default();
        let mut now = 0;
        for lock in [0, 0, 0, 0, 60, 120, 240, 480, 960, 1920, 3600] {
            throttle.failure("alice", "10.0.0.1", at(now));
            assert_eq!(
                retry(&throttle, "alice", "10.0.0.2", at(now)),
                (lock > 0).then_some(lock)
            );
            now += lock as i64;
        }
        now += 14 * 60;
        throttle.failure("alice", "10.0.0.1", at(now));
        assert_eq!(retry(&throttle, "alice", "10.0.0.2", at(now)), Some(3600));
        // Fifteen quiet minutes after the lock ends, the count starts again.
        now += 3600 + 15 * 60;
        throttle.failure("alice", "10.0.0.1", at(now));
        assert_eq!(retry(&throttle, "alice", "10.0.0.2", at(now)), None);
    }

    #[test]
    fn address_bucket() {
        let mut throttle = Throttle::default();
        for i in 0..19 {
            throttle.failure(&format!("user{i}"), "203.0.113.7", at(0));
            assert_eq!(retry(&throttle, "new", "203.0.113.7", at(0)), None, "{i}");
        }
        throttle.failure("user19", "203.0.113.7", at(0));
        // Twenty failures at once: one more is allowed 45 s later (15 min / 20).
        assert_eq!(retry(&throttle, "new", "203.0.113.7", at(0)), Some(45));
        assert_eq!(retry(&throttle, "new", "203.0.113.8", at(0)), None);
        assert_eq!(retry(&throttle, "new", "203.0.113.7", at(45)), None);
        throttle.failure("user20", "203.0.113.7", at(45));
        assert_eq!(retry(&throttle, "new", "203.0.113.7", at(45)), Some(45));
        // A success does not refill the bucket.
        throttle.success("user20");
        assert_eq!(retry(&throttle, "new", "203.0.113.7", at(46)), Some(44));
        // Fifteen quiet minutes empty it.
        assert_eq!(retry(&throttle, "new", "203.0.113.7", at(45 + 900)), None);
        throttle.purge(at(45 + 900));
        assert_eq!(throttle.len().1, 0);
    }

    #[test]
    fn memory_is_bounded_and_expired_entries_go_first() {
        let mut throttle = Throttle::new(ThrottlePolicy {
            max_keys: 100,
            ..ThrottlePolicy::default()
        });
        // A locked account, then a flood of distinct logins and addresses.
        for secs in 0..5 {
            throttle.failure("alice", "10.0.0.1", at(secs));
        }
        for i in 0..99 {
            throttle.failure(
                &format!("u{i}"),
                &format!("10.1.{}.{}", i / 250, i % 250),
                at(10),
            );
        }
        assert!(throttle.len().0 <= 100 && throttle.len().1 <= 100);
        assert_eq!(retry(&throttle, "alice", "10.9.9.9", at(10)), Some(54));
        // Once the flood is old it is forgotten first.
        for i in 0..500 {
            throttle.failure(
                &format!("v{i}"),
                &format!("10.2.{}.{}", i / 250, i % 250),
                at(2000 + i),
            );
            assert!(throttle.len().0 <= 100 && throttle.len().1 <= 100);
        }
        let mut tiny = Throttle::new(ThrottlePolicy {
            max_keys: 0,
            ..ThrottlePolicy::default()
        });
        tiny.failure("a", "b", at(0));
        assert!(tiny.len().0 <= 1);
    }

    #[test]
    fn keys() {
        assert_eq!(address_key("192.0.2.1".parse().unwrap()), "192.0.2.1");
        assert_eq!(
            address_key("::ffff:192.0.2.1".parse().unwrap()),
            "192.0.2.1"
        );
        assert_eq!(
            address_key("2001:db8:1:2:3:4:5:6".parse().unwrap()),
            "2001:db8:1:2::/64"
        );
        assert_eq!(account_key("Alice@Example.COM"), "alice@example.com");
        assert_eq!(account_key(&"é".repeat(200)).len(), 256);
        assert_eq!(bounded("aé", 2), "a");
    }
}
