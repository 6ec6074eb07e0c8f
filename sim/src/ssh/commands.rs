//! The only two commands the emulated sshd understands (docs/RECIPES-SSH.md), parsed
//! byte for byte. Nothing is ever handed to a shell: anything else is "not emulated".

/// The upload command, up to the file name.
pub const UPLOAD_PREFIX: &str = "umask 077 && mkdir -p .slipstream && cat > .slipstream/";
/// The run command, up to its environment words.
pub const RUN_PREFIX: &str = "cd .slipstream && env ";
/// The environment variables every run command starts with, in this order.
pub const RUN_ENV: [&str; 4] = [
    "SLIPSTREAM_RUN_ID",
    "SLIPSTREAM_NODE",
    "SLIPSTREAM_INDEX",
    "SLIPSTREAM_RUN_JSON",
];

/// A parsed `exec` command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Store the channel's data as `.slipstream/NAME`.
    Upload {
        /// File name.
        name: String,
    },
    /// Run `.slipstream/SCRIPT` with an environment.
    Run {
        /// Script name.
        script: String,
        /// Variables and values, in order (values are never recorded).
        env: Vec<(String, String)>,
    },
    /// Anything else: exit 127.
    NotEmulated,
}

/// `[A-Za-z0-9._-]+`, and not `.` or `..`.
pub fn is_file_name(s: &str) -> bool {
    !s.is_empty()
        && s != "."
        && s != ".."
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn is_var_name(s: &str) -> bool {
    let mut b = s.bytes();
    b.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// Parses an `exec` request's command.
pub fn parse(command: &[u8]) -> Command {
    let Ok(cmd) = std::str::from_utf8(command) else {
        return Command::NotEmulated;
    };
    if let Some(name) = cmd.strip_prefix(UPLOAD_PREFIX) {
        return match is_file_name(name) {
            true => Command::Upload { name: name.into() },
            false => Command::NotEmulated,
        };
    }
    if let Some(rest) = cmd.strip_prefix(RUN_PREFIX)
        && let Some((env, script)) = parse_env_words(rest)
        && env.len() >= RUN_ENV.len()
        && env.iter().zip(RUN_ENV).all(|((k, _), want)| k == want)
    {
        return Command::Run { script, env };
    }
    Command::NotEmulated
}

/// `K='v' K='v' … sh NAME`: each value a single-quoted POSIX word (a `'` in it written
/// `'\''`), words separated by one space.
fn parse_env_words(mut rest: &str) -> Option<(Vec<(String, String)>, String)> {
    let mut env = Vec::new();
    loop {
        if let Some(script) = rest.strip_prefix("sh ") {
            return is_file_name(script).then(|| (env, script.to_string()));
        }
        let (key, after) = rest.split_once('=')?;
        if !is_var_name(key) {
            return None;
        }
        let (value, after) = single_quoted(after)?;
        env.push((key.to_string(), value));
        rest = after.strip_prefix(' ')?;
    }
}

/// One word made of `'…'` pieces joined by `\'`; returns it and what follows.
fn single_quoted(mut s: &str) -> Option<(String, &str)> {
    let mut value = String::new();
    s = s.strip_prefix('\'')?;
    loop {
        let end = s.find('\'')?;
        value.push_str(&s[..end]);
        s = &s[end + 1..];
        match s.strip_prefix("\\''") {
            Some(more) => {
                value.push('\'');
                s = more;
            }
            None => return Some((value, s)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENV: &str = "SLIPSTREAM_RUN_ID='r1' SLIPSTREAM_NODE='web' SLIPSTREAM_INDEX='1' SLIPSTREAM_RUN_JSON='run.json'";

    #[test]
    fn upload_is_exact() {
        assert_eq!(
            parse(b"umask 077 && mkdir -p .slipstream && cat > .slipstream/recipe.sh"),
            Command::Upload {
                name: "recipe.sh".into()
            }
        );
        for bad in [
            "umask 077 && mkdir -p .slipstream && cat > .slipstream/../x",
            "umask 077 && mkdir -p .slipstream && cat > .slipstream/a b",
            "umask 077 && mkdir -p .slipstream && cat > .slipstream/",
            "umask 077 && mkdir -p .slipstream && cat > .slipstream/..",
            "umask 077 && mkdir -p .slipstream && cat > .slipstream/x; rm -rf /",
            "umask 077 && mkdir -p .slipstream &&  cat > .slipstream/x",
        ] {
            assert_eq!(parse(bad.as_bytes()), Command::NotEmulated, "{bad}");
        }
    }

    #[test]
    fn run_parses_quoted_words() {
        let cmd =
            format!("cd .slipstream && env {ENV} DB='it'\\''s a \"db\"' EMPTY='' sh recipe.sh");
        let Command::Run { script, env } = parse(cmd.as_bytes()) else {
            panic!("not a run: {cmd}");
        };
        assert_eq!(script, "recipe.sh");
        let names: Vec<_> = env.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "SLIPSTREAM_RUN_ID",
                "SLIPSTREAM_NODE",
                "SLIPSTREAM_INDEX",
                "SLIPSTREAM_RUN_JSON",
                "DB",
                "EMPTY"
            ]
        );
        assert_eq!(env[4].1, "it's a \"db\"");
        assert_eq!(env[5].1, "");
        assert_eq!(env[1].1, "web");
    }

    #[test]
    fn anything_else_is_not_emulated() {
        for bad in [
            "sh recipe.sh".to_string(),
            "cd .slipstream && env sh recipe.sh".to_string(),
            format!("cd .slipstream && env {ENV} sh recipe.sh; reboot"),
            format!("cd .slipstream && env {ENV} K=v sh recipe.sh"),
            format!("cd .slipstream && env {ENV} K='v sh recipe.sh"),
            format!("cd .slipstream && env {ENV}  sh recipe.sh"),
            format!("cd .slipstream && env {ENV} 1K='v' sh recipe.sh"),
            format!("cd .slipstream && env {ENV} bash recipe.sh"),
            "cd .slipstream && env SLIPSTREAM_NODE='web' SLIPSTREAM_RUN_ID='r1' SLIPSTREAM_INDEX='1' SLIPSTREAM_RUN_JSON='run.json' sh recipe.sh".to_string(),
            "uname -a".to_string(),
        ] {
            assert_eq!(parse(bad.as_bytes()), Command::NotEmulated, "{bad}");
        }
        assert_eq!(parse(&[0xff, 0xfe]), Command::NotEmulated);
    }
}
