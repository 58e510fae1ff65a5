//! The library's modules form layers: each may use only the modules below
//! it, so there is no import cycle and a module can be read, tested and
//! replaced knowing only what is under it. This test reads the sources and
//! fails on a `crate::` path that reaches up or sideways, and on a new
//! top-level module that has not been given its place.
//!
//! Written here rather than taken from a crate: the tools that draw module
//! graphs (cargo-modules and the like) are binaries to install, not checks
//! a test can run offline in a second.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The layers, lowest first: a module may use only modules listed before
/// it. DESIGN.md draws the same picture.
const LAYERS: &[&str] = &[
    // Values and leaf utilities: no dependencies inside the crate.
    "activity",
    "calendar",
    "clock",
    "env",
    "ids",
    "secret",
    "sqlite_db",
    "telemetry",
    "roots",
    "tls",
    "azure_storage",
    // Domain rules and the queue port.
    "service_url",
    "rate",
    "queue",
    "fetch",
    "notification",
    "turn",
    // The store port and the Connector client.
    "connector",
    "store",
    "reach",
    // The logic: inbound checks, delivery, the schedule, the bot.
    "auth",
    "delivery",
    "schedule",
    "bot",
    // The HTTP surface, the settings that configure it all, assembly.
    "api",
    "config",
    "assemble",
    // The hosts.
    "aws",
    "azure",
    "local",
];

#[test]
fn every_module_uses_only_the_layers_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for file in rust_files(&src) {
        let relative = file.strip_prefix(&src).expect("under src");
        let Some(module) = top_module(relative) else {
            continue;
        };
        seen.insert(module.clone());
        let Some(rank) = LAYERS.iter().position(|m| *m == module) else {
            problems.push(format!(
                "module `{module}` has no place in LAYERS (lib/tests/layers.rs)"
            ));
            continue;
        };
        let code = production_code(&std::fs::read_to_string(&file).expect("read"));
        for used in crate_paths(&code) {
            if used == module {
                continue;
            }
            match LAYERS.iter().position(|m| *m == used) {
                Some(other) if other < rank => {}
                Some(_) => problems.push(format!(
                    "{}: `{module}` uses `crate::{used}`, which is not below it",
                    relative.display()
                )),
                None => {}
            }
        }
    }
    for listed in LAYERS {
        assert!(
            seen.contains(*listed),
            "LAYERS names `{listed}`, which is gone"
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_reader_finds_paths_in_every_form() {
    let code = "use crate::store::{Store, StoreError};\n\
                use crate::{ids::ConversationKey, queue::{Queue, QueueError}};\n\
                let x = crate::rate::whole_millisecond(t);\n\
                // crate::local is only mentioned here\n\
                /// [`crate::api`] neither\n\
                let s = \"pubcrate::nope\";\n";
    let found: BTreeSet<String> = crate_paths(&production_code(code)).into_iter().collect();
    let expected: BTreeSet<String> = ["store", "ids", "queue", "rate"]
        .into_iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(found, expected);
    let with_tests = "use crate::ids::X;\n#[cfg(test)]\nmod tests {\n    use crate::local::Y;\n}\n";
    assert_eq!(crate_paths(&production_code(with_tests)), ["ids"]);
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// `store` for `store/sqlite/caps.rs` and `store.rs`; none for the crate
/// root and for files of unit tests (`tests.rs`, `*_tests.rs`).
fn top_module(relative: &Path) -> Option<String> {
    let name = relative.file_stem()?.to_str()?;
    if name == "tests" || name.ends_with("_tests") {
        return None;
    }
    let first = relative.components().next()?.as_os_str().to_str()?;
    let module = first.strip_suffix(".rs").unwrap_or(first);
    (module != "lib" && module != "main").then(|| module.to_owned())
}

/// The code without comments and without the unit-test module at the end.
fn production_code(code: &str) -> String {
    let code = code
        .split("#[cfg(test)]\nmod tests {")
        .next()
        .unwrap_or_default();
    code.lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level modules named after `crate::`, including each one inside
/// `crate::{a, b::{c, d}}`.
fn crate_paths(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let preceded_by_ident = rest[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_');
        rest = &rest[at + "crate::".len()..];
        if preceded_by_ident {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => start = true,
                    c if start && (c.is_alphanumeric() || c == '_') => {
                        found.push(identifier(&group[i..]));
                        start = false;
                    }
                    _ => {}
                }
            }
        } else {
            found.push(identifier(rest));
        }
    }
    found.retain(|m| !m.is_empty());
    found
}

fn identifier(s: &str) -> String {
    s.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}
