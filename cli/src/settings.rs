//! What `berth login` saves: the server and a token, in `$XDG_CONFIG_HOME/berth/credentials.json` (else
//! `~/.config/berth/`), readable by its owner only. `BERTH_TOKEN` (a robot's API token, in CI) takes
//! precedence and is never written anywhere.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Saved {
    pub server: String,
    pub token: String,
    /// When the token ends (RFC 3339), to say so rather than fail with 401.
    pub expires_at: String,
}

fn file() -> anyhow::Result<PathBuf> {
    let base = match std::env::var_os("XDG_CONFIG_HOME") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(std::env::var_os("HOME").context("HOME is not set")?).join(".config"),
    };
    Ok(base.join("berth").join("credentials.json"))
}

pub fn load() -> anyhow::Result<Option<Saved>> {
    let path = file()?;
    match fs::read_to_string(&path) {
        Ok(text) => Ok(Some(serde_json::from_str(&text).with_context(|| format!("reading {}", path.display()))?)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error).with_context(|| format!("reading {}", path.display())),
    }
}

pub fn save(saved: &Saved) -> anyhow::Result<()> {
    let path = file()?;
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    write_private(&path, &serde_json::to_string_pretty(saved)?)
}

pub fn forget() -> anyhow::Result<()> {
    let path = file()?;
    match fs::remove_file(&path) {
        Ok(()) => println!("Signed out: removed {}.", path.display()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => println!("Not signed in."),
        Err(error) => return Err(error).with_context(|| format!("removing {}", path.display())),
    }
    Ok(())
}

/// Writes `contents` to `path`, readable and writable by its owner only (it holds a secret).
pub fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).with_context(|| format!("writing {}", path.display()))?;
    file.write_all(contents.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
