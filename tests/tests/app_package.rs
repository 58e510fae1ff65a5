//! `nudge app-package`, the real binary: the Teams app package it writes
//! holds a manifest that passes the Teams manifest schema (v1.30, vendored
//! in `tests/fixtures/teams-manifest`), names the bot by the App ID given,
//! lists only commands the bot answers, and carries icons of the sizes
//! Teams requires; bad input is refused with a message and no package.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use nudge::bot::command::Command as BotCommand;
use nudge_tests::host::binary;
use serde_json::Value;

const APP_ID: &str = "6f1c3a52-8b0e-4c1d-9a7e-2b3c4d5e6f70";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_owned()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(nudge_tests::suites::unique(name));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

/// Runs `nudge app-package` with `args`; its exit status and stderr.
fn app_package(args: &[&str]) -> (bool, String) {
    let output = Command::new(binary("nudge"))
        .arg("app-package")
        .args(args)
        .env_remove("MicrosoftAppId")
        .output()
        .expect("run nudge");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `nudge app-package` for [`APP_ID`] from the template in `dir`.
fn package_from(dir: &Path, out: &Path) -> (bool, String) {
    app_package(&[
        "--app-id",
        APP_ID,
        "--dir",
        dir.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ])
}

/// The files in a zip archive, by name.
fn unzip(path: &Path) -> Vec<(String, Vec<u8>)> {
    let file = std::fs::File::open(path).expect("the package");
    let mut archive = zip::ZipArchive::new(file).expect("a zip archive");
    (0..archive.len())
        .map(|i| {
            let mut entry = archive.by_index(i).expect("an entry");
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).expect("read an entry");
            (entry.name().expect("a UTF-8 name").into_owned(), bytes)
        })
        .collect()
}

/// A PNG's width, height and colour type, from its IHDR chunk.
fn png_header(bytes: &[u8]) -> (u32, u32, u8) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    assert_eq!(&bytes[12..16], b"IHDR");
    let word = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    (word(16), word(20), bytes[25])
}

#[test]
fn the_package_passes_the_manifest_schema_and_names_the_bot() {
    let out = scratch("app-package").join("nudge.zip");
    let dir = repo().join("appPackage");
    let (ok, stderr) = package_from(&dir, &out);
    assert!(ok, "nudge app-package failed: {stderr}");
    let files = unzip(&out);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["manifest.json", "color.png", "outline.png"]);
    let file = |name: &str| &files.iter().find(|(n, _)| n == name).unwrap().1;

    let manifest: Value = serde_json::from_slice(file("manifest.json")).expect("JSON");
    let schema: Value = serde_json::from_slice(
        &std::fs::read(
            repo().join("tests/fixtures/teams-manifest/MicrosoftTeams.v1.30.schema.json"),
        )
        .expect("the vendored schema"),
    )
    .unwrap();
    let validator = jsonschema::draft4::new(&schema).expect("the schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&manifest)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert_eq!(errors, Vec::<String>::new(), "the manifest against v1.30");
    assert_eq!(manifest["manifestVersion"], "1.30");
    assert_eq!(manifest["id"], APP_ID);
    let bot = &manifest["bots"][0];
    assert_eq!(bot["botId"], APP_ID);
    assert_eq!(
        bot["scopes"],
        serde_json::json!(["personal", "team", "groupChat"])
    );

    // Every command Teams offers is one the bot answers as that command,
    // not with the help it gives for anything it does not understand.
    let commands = bot["commandLists"][0]["commands"].as_array().unwrap();
    assert!(!commands.is_empty());
    for command in commands {
        let title = command["title"].as_str().unwrap();
        let parsed = BotCommand::parse(title);
        assert!(
            title == "help" || !matches!(parsed, BotCommand::Help),
            "the manifest offers {title:?}, which the bot does not answer"
        );
    }

    assert_eq!(png_header(file("color.png")), (192, 192, 6));
    assert_eq!(
        png_header(file("outline.png")),
        (32, 32, 6),
        "the outline icon is 32x32 with transparency"
    );
}

#[test]
fn bad_input_is_refused_and_writes_nothing() {
    let scratch = scratch("app-package-refused");
    let out = scratch.join("nudge.zip");
    let dir = repo().join("appPackage");
    let (ok, stderr) = app_package(&[
        "--app-id",
        "not-a-guid",
        "--dir",
        dir.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(stderr.contains("must be a GUID"), "{stderr}");

    let (ok, stderr) = app_package(&["--out", out.to_str().unwrap()]);
    assert!(!ok);
    assert!(stderr.contains("MicrosoftAppId"), "{stderr}");

    // A template with a placeholder nobody fills.
    let template = scratch.join("template");
    std::fs::create_dir_all(&template).unwrap();
    for icon in ["color.png", "outline.png"] {
        std::fs::copy(dir.join(icon), template.join(icon)).unwrap();
    }
    let manifest = std::fs::read_to_string(dir.join("manifest.json"))
        .unwrap()
        .replace("\"1.0.0\"", "\"{{Version}}\"");
    std::fs::write(template.join("manifest.json"), manifest).unwrap();
    let (ok, stderr) = package_from(&template, &out);
    assert!(!ok);
    assert!(stderr.contains("{{Version}}"), "{stderr}");

    // An icon the manifest names that is not there.
    std::fs::copy(dir.join("manifest.json"), template.join("manifest.json")).unwrap();
    std::fs::remove_file(template.join("outline.png")).unwrap();
    let (ok, stderr) = package_from(&template, &out);
    assert!(!ok);
    assert!(stderr.contains("outline.png"), "{stderr}");
    assert!(!out.exists(), "no package from bad input");
}
