//! `nudge app-package`: the Teams app package for sideloading, from the
//! template in `appPackage/` (the manifest and its two icons).
//!
//! The manifest names the bot by its Microsoft App ID twice (the app's `id`
//! and the bot's `botId`), which the template holds as
//! `{{MicrosoftAppId}}`. This fills it in, checks that the result is JSON
//! with nothing left to fill, and zips the manifest with the icons it names
//! at the top level of the archive, as Teams requires. Entries are stored,
//! not compressed: the package is a few kilobytes, and the `zip` crate then
//! needs no compression library.
//!
//! The manifest's schema is checked by the test suite against a vendored
//! copy (`tests/fixtures/teams-manifest`), not here: a user editing the
//! template gets Teams' own validation when uploading it.

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;
use zip::write::SimpleFileOptions;
use zip::ZipWriter;

/// What the template writes where the App ID goes.
pub const APP_ID_PLACEHOLDER: &str = "{{MicrosoftAppId}}";

/// Why no package was built.
#[derive(Debug, thiserror::Error)]
pub enum AppPackageError {
    /// The App ID is not a GUID.
    #[error(
        "the Microsoft App ID must be a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx), not {0:?}"
    )]
    AppId(String),
    /// A file of the template could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The filled manifest is not what a package needs.
    #[error("{}: {problem}", path.display())]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// The archive could not be written.
    #[error("cannot write the package: {0}")]
    Zip(String),
}

/// The package for `app_id` from the template in `dir`, as the bytes of a
/// zip archive.
pub fn build(dir: &Path, app_id: &str) -> Result<Vec<u8>, AppPackageError> {
    if !crate::ids::is_guid(app_id) {
        return Err(AppPackageError::AppId(app_id.to_owned()));
    }
    let manifest_path = dir.join("manifest.json");
    let template = read(&manifest_path)?;
    let template = String::from_utf8(template).map_err(|_| AppPackageError::Manifest {
        path: manifest_path.clone(),
        problem: "not UTF-8".into(),
    })?;
    let manifest = template.replace(APP_ID_PLACEHOLDER, app_id);
    let problem = |problem: String| AppPackageError::Manifest {
        path: manifest_path.clone(),
        problem,
    };
    if let Some(at) = manifest.find("{{") {
        let rest: String = manifest[at..].chars().take(40).collect();
        return Err(problem(format!("a placeholder is left to fill: {rest}")));
    }
    let parsed: Value =
        serde_json::from_str(&manifest).map_err(|e| problem(format!("not JSON: {e}")))?;
    let mut files = vec![("manifest.json".to_owned(), manifest.into_bytes())];
    for icon in ["color", "outline"] {
        let name = parsed["icons"][icon]
            .as_str()
            .ok_or_else(|| problem(format!("icons.{icon} names no file")))?;
        if name.contains(['/', '\\']) || name.starts_with('.') {
            return Err(problem(format!(
                "icons.{icon} must name a file beside the manifest, not {name:?}"
            )));
        }
        files.push((name.to_owned(), read(&dir.join(name))?));
    }
    zip(&files)
}

fn read(path: &Path) -> Result<Vec<u8>, AppPackageError> {
    std::fs::read(path).map_err(|source| AppPackageError::Read {
        path: path.to_owned(),
        source,
    })
}

fn zip(files: &[(String, Vec<u8>)]) -> Result<Vec<u8>, AppPackageError> {
    let failed = |e: &dyn std::fmt::Display| AppPackageError::Zip(e.to_string());
    let mut archive = ZipWriter::new(Cursor::new(Vec::new()));
    for (name, bytes) in files {
        archive
            .start_file(name, SimpleFileOptions::default())
            .map_err(|e| failed(&e))?;
        archive.write_all(bytes).map_err(|e| failed(&e))?;
    }
    let written = archive.finish().map_err(|e| failed(&e))?;
    Ok(written.into_inner())
}
