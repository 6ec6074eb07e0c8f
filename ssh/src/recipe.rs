//! The two commands of the wire contract (`docs/RECIPES-SSH.md`), built byte for byte, and the
//! tail of a recipe's output kept for error messages.
//!
//! Environment is passed on the command line (`env K='v' … sh recipe.sh`) rather than with SSH
//! `setenv` requests, because a stock sshd drops those unless `AcceptEnv` allows them.

use std::collections::VecDeque;

use crate::Error;

/// Directory (relative to the login user's home) that holds uploaded files.
pub const DIR: &str = ".slipstream";
/// The recipe's file name on the VM.
pub const RECIPE_FILE: &str = "recipe.sh";
/// How many output lines a run keeps for its error message.
pub const TAIL_LINES: usize = 20;
/// Longest line kept in the tail (longer lines are cut, so binary output cannot blow up memory).
const MAX_LINE: usize = 512;

/// `umask 077 && mkdir -p .slipstream && cat > .slipstream/NAME`, for `NAME` matching
/// `[A-Za-z0-9._-]+` (and not `.` or `..`, which name directories).
pub fn upload_command(name: &str) -> Result<String, Error> {
    let ok = !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if !ok {
        return Err(Error::Invalid {
            what: "upload file name",
            value: name.to_string(),
            reason: "must match [A-Za-z0-9._-]+ and not be . or ..",
        });
    }
    Ok(format!("umask 077 && mkdir -p {DIR} && cat > {DIR}/{name}"))
}

/// `cd .slipstream && env K='v'… sh recipe.sh`, the variables in the order given.
///
/// Names must match `[A-Za-z_][A-Za-z0-9_]*`; values are single-quoted POSIX words and may hold
/// anything but a NUL byte (which no environment can carry).
pub fn run_command(env: &[(String, String)]) -> Result<String, Error> {
    let mut cmd = format!("cd {DIR} && env ");
    for (name, value) in env {
        check_env_name(name)?;
        if value.contains('\0') {
            return Err(Error::Invalid {
                what: "environment value of",
                value: name.clone(),
                reason: "contains a NUL byte",
            });
        }
        cmd.push_str(name);
        cmd.push('=');
        cmd.push_str(&shell_quote(value));
        cmd.push(' ');
    }
    cmd.push_str("sh ");
    cmd.push_str(RECIPE_FILE);
    Ok(cmd)
}

/// A POSIX shell single-quoted word: `'…'`, with each `'` written `'\''`.
pub fn shell_quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

fn check_env_name(name: &str) -> Result<(), Error> {
    let mut bytes = name.bytes();
    let ok = matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !ok {
        return Err(Error::Invalid {
            what: "environment variable name",
            value: name.to_string(),
            reason: "must match [A-Za-z_][A-Za-z0-9_]*",
        });
    }
    Ok(())
}

/// The last [`TAIL_LINES`] lines of a recipe's stdout and stderr.
///
/// Each stream has its own unfinished line, so a stderr line arriving in the middle of a stdout
/// line does not splice the two; lines enter the tail in the order they end.
#[derive(Debug, Default)]
pub(crate) struct Tail {
    lines: VecDeque<String>,
    partial: [Vec<u8>; 2],
}

impl Tail {
    /// Adds a chunk of output from stream 0 (stdout) or 1 (stderr).
    pub(crate) fn feed(&mut self, stream: usize, mut data: &[u8]) {
        while let Some(pos) = data.iter().position(|&b| b == b'\n') {
            let (line, rest) = data.split_at(pos);
            let partial = &mut self.partial[stream];
            partial.extend_from_slice(&line[..line.len().min(MAX_LINE + 1)]);
            let done = std::mem::take(partial);
            self.push(&done);
            data = &rest[1..];
        }
        let partial = &mut self.partial[stream];
        let room = (MAX_LINE + 1).saturating_sub(partial.len());
        partial.extend_from_slice(&data[..data.len().min(room)]);
    }

    /// The kept lines, oldest first, with any unfinished lines at the end.
    pub(crate) fn finish(mut self) -> Vec<String> {
        for stream in 0..2 {
            let partial = std::mem::take(&mut self.partial[stream]);
            if !partial.is_empty() {
                self.push(&partial);
            }
        }
        self.lines.into()
    }

    fn push(&mut self, raw: &[u8]) {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let mut line = String::from_utf8_lossy(&raw[..raw.len().min(MAX_LINE)]).into_owned();
        if raw.len() > MAX_LINE {
            line.push('…');
        }
        if self.lines.len() == TAIL_LINES {
            self.lines.pop_front();
        }
        self.lines.push_back(line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn upload_command_is_the_contracts() {
        assert_eq!(
            upload_command("recipe.sh").unwrap(),
            "umask 077 && mkdir -p .slipstream && cat > .slipstream/recipe.sh"
        );
        assert_eq!(
            upload_command("run.json").unwrap(),
            "umask 077 && mkdir -p .slipstream && cat > .slipstream/run.json"
        );
        for bad in ["", ".", "..", "a/b", "a b", "$(x)", "é", "a;b"] {
            assert!(upload_command(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn run_command_is_the_contracts() {
        let e = env(&[
            ("SLIPSTREAM_RUN_ID", "r-1"),
            ("SLIPSTREAM_NODE", "web"),
            ("SLIPSTREAM_INDEX", "0"),
            ("SLIPSTREAM_RUN_JSON", "run.json"),
            ("GREETING", "it's a \"nice\" $day `x`"),
        ]);
        assert_eq!(
            run_command(&e).unwrap(),
            "cd .slipstream && env SLIPSTREAM_RUN_ID='r-1' SLIPSTREAM_NODE='web' \
             SLIPSTREAM_INDEX='0' SLIPSTREAM_RUN_JSON='run.json' \
             GREETING='it'\\''s a \"nice\" $day `x`' sh recipe.sh"
        );
        assert_eq!(
            run_command(&[]).unwrap(),
            "cd .slipstream && env sh recipe.sh"
        );
    }

    #[test]
    fn bad_env_names_and_nul_values_are_refused() {
        for bad in ["", "1A", "A-B", "A B", "A=B", "É"] {
            let err = run_command(&env(&[(bad, "v")])).unwrap_err();
            assert!(err.to_string().contains("[A-Za-z_]"), "{bad:?}: {err}");
        }
        assert!(run_command(&env(&[("_ok9", "v")])).is_ok());
        assert!(run_command(&env(&[("A", "a\0b")])).is_err());
    }

    #[test]
    fn quoting_survives_a_real_shell() {
        let tricky = "a 'b' \"c\" $HOME `id` \\ \n; * ' '' end";
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("printf %s {}", shell_quote(tricky)))
            .output()
            .unwrap();
        assert_eq!(String::from_utf8(out.stdout).unwrap(), tricky);
    }

    #[test]
    fn tail_keeps_the_last_lines_per_stream() {
        let mut t = Tail::default();
        for i in 0..30 {
            t.feed(0, format!("line {i}\n").as_bytes());
        }
        let lines = t.finish();
        assert_eq!(lines.len(), TAIL_LINES);
        assert_eq!(lines[0], "line 10");
        assert_eq!(lines[19], "line 29");

        let mut t = Tail::default();
        t.feed(0, b"out-a");
        t.feed(1, b"err line\r\n");
        t.feed(0, b"out-b\nlast");
        assert_eq!(t.finish(), vec!["err line", "out-aout-b", "last"]);

        let mut t = Tail::default();
        t.feed(0, &vec![b'x'; 10_000]);
        t.feed(0, b"\n");
        let lines = t.finish();
        assert_eq!(lines.len(), 1);
        assert!(lines[0].len() < 600 && lines[0].ends_with('…'));
    }
}
