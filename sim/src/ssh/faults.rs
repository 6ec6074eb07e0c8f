//! Recipe fault rules (`POST /_sim/recipe-faults`): a recipe on a VM whose name matches
//! exits with a chosen code, or hangs until the client gives up.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// One rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecipeFault {
    /// VM name pattern: a glob (`*`, `?`) matched against the whole name when it has
    /// one of those, else a substring, like the failed-build names.
    pub name_pattern: String,
    /// The recipe exits with this code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<u8>,
    /// The recipe never exits.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hang: bool,
}

impl RecipeFault {
    /// Exactly one of `exit_code` and `hang`, and a pattern.
    pub fn check(&self) -> Result<(), String> {
        if self.name_pattern.is_empty() {
            return Err("name_pattern must not be empty".into());
        }
        match (self.exit_code, self.hang) {
            (Some(_), true) => Err("give exit_code or hang, not both".into()),
            (None, false) => Err("give exit_code (0-255) or \"hang\": true".into()),
            _ => Ok(()),
        }
    }
}

/// What a recipe on a VM does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exits with this code.
    Exit(u8),
    /// Never exits.
    Hang,
}

/// Settings of the SSH emulation (runtime, not persisted).
#[derive(Debug, Clone, Default)]
pub struct SshSettings {
    /// How long a VM is ACTIVE before its sshd answers.
    pub boot_time: Duration,
    /// How long a recipe run takes.
    pub recipe_time: Duration,
    /// Fault rules, in the order they were added.
    pub faults: Vec<RecipeFault>,
}

impl SshSettings {
    /// The outcome for a VM name: the last matching rule's, else exit 0.
    pub fn outcome(&self, vm_name: &str) -> (Outcome, Option<&RecipeFault>) {
        match self
            .faults
            .iter()
            .rev()
            .find(|f| name_matches(&f.name_pattern, vm_name))
        {
            Some(f) if f.hang => (Outcome::Hang, Some(f)),
            Some(f) => (Outcome::Exit(f.exit_code.unwrap_or(0)), Some(f)),
            None => (Outcome::Exit(0), None),
        }
    }
}

/// A name pattern: a whole-name glob when it has `*` or `?`, else a substring (the
/// failed-build names' rule). An empty pattern matches nothing.
pub fn name_matches(pattern: &str, name: &str) -> bool {
    if pattern.is_empty() {
        return false;
    }
    if !pattern.contains(['*', '?']) {
        return name.contains(pattern);
    }
    glob(pattern.as_bytes(), name.as_bytes())
}

fn glob(p: &[u8], s: &[u8]) -> bool {
    // Iterative wildcard matching with backtracking to the last `*`.
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == s[si]) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, si));
            pi += 1;
        } else if let Some((sp, ss)) = star {
            pi = sp + 1;
            si = ss + 1;
            star = Some((sp, ss + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_whole_names_and_plain_patterns_substrings() {
        assert!(name_matches("web-*", "web-1"));
        assert!(!name_matches("web-*", "run-web-1"));
        assert!(name_matches("*web*", "run-web-1"));
        assert!(name_matches("web-?", "web-2"));
        assert!(!name_matches("web-?", "web-10"));
        assert!(name_matches("web", "run-web-1"));
        assert!(!name_matches("db", "run-web-1"));
        assert!(!name_matches("", "x"));
        assert!(name_matches("*", ""));
        assert!(name_matches("a*b*c", "axxbyyc"));
        assert!(!name_matches("a*b*c", "axxbyy"));
    }

    #[test]
    fn the_last_matching_rule_wins() {
        let mut s = SshSettings::default();
        assert_eq!(s.outcome("web-1").0, Outcome::Exit(0));
        s.faults.push(RecipeFault {
            name_pattern: "web-*".into(),
            exit_code: Some(3),
            hang: false,
        });
        s.faults.push(RecipeFault {
            name_pattern: "web-2".into(),
            exit_code: None,
            hang: true,
        });
        assert_eq!(s.outcome("web-1").0, Outcome::Exit(3));
        assert_eq!(s.outcome("web-2").0, Outcome::Hang);
        assert_eq!(s.outcome("db-1").0, Outcome::Exit(0));
    }

    #[test]
    fn a_rule_says_exactly_one_thing() {
        let parse = |s: &str| serde_json::from_str::<RecipeFault>(s).unwrap().check();
        assert!(parse(r#"{"name_pattern": "web-*", "exit_code": 3}"#).is_ok());
        assert!(parse(r#"{"name_pattern": "web-*", "hang": true}"#).is_ok());
        assert!(parse(r#"{"name_pattern": "web-*"}"#).is_err());
        assert!(parse(r#"{"name_pattern": "", "hang": true}"#).is_err());
        assert!(parse(r#"{"name_pattern": "w", "hang": true, "exit_code": 1}"#).is_err());
        assert!(
            serde_json::from_str::<RecipeFault>(r#"{"name_pattern": "w", "exit_code": 300}"#)
                .is_err()
        );
    }
}
