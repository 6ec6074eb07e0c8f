//! The state file: JSON, loaded once at start, written atomically (temporary file +
//! rename) after every mutation so that a crash never leaves a half-written file.

use std::path::Path;

use anyhow::Context;

use super::model::State;

/// Loads the state file. `Ok(None)` when it does not exist; an error when it exists but
/// cannot be read or parsed (never a silent reset: it records real resources).
pub fn load(path: &Path) -> anyhow::Result<Option<State>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(e).with_context(|| format!("reading simulator state {}", path.display()));
        }
    };
    let state: State = serde_json::from_slice(&bytes).with_context(|| {
        format!(
            "simulator state file {} is corrupt; fix or delete it to start afresh",
            path.display()
        )
    })?;
    Ok(Some(state))
}

/// Saves the state atomically.
pub fn save(path: &Path, state: &State) -> anyhow::Result<()> {
    let bytes = serde_json::to_vec(state).context("serializing simulator state")?;
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating directory {}", dir.display()))?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp{}", std::process::id()));
    let tmp = std::path::PathBuf::from(tmp);
    std::fs::write(&tmp, &bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path)
        .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_is_none_and_corrupt_file_is_an_error() {
        let dir = std::env::temp_dir().join(format!("okeanos-sim-persist-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("state.json");
        let _ = std::fs::remove_file(&path);
        assert!(load(&path).unwrap().is_none());
        std::fs::write(&path, b"{not json").unwrap();
        let err = load(&path).unwrap_err();
        assert!(format!("{err:#}").contains("corrupt"));
        save(&path, &State::default()).unwrap();
        assert!(load(&path).unwrap().is_some());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
