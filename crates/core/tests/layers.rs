//! The core keeps its own layer list: ARCHITECTURE.md's "Layers and invariants" names the
//! modules in order (`a` → `b`, a comma for modules of one layer), and a module may use
//! only modules of its own layer or above it. Read from the sources as text (every
//! `crate::` path, in `use` lines and in code), so no import escapes it.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::BTreeMap;
use std::path::Path;

/// Uses the list does not allow yet, each with why it is still here. A new one fails.
const KNOWN: &[(&str, &str)] = &[
    // The ML-DSA cosignature's signed message is built from the checkpoint's fields
    // (subtree_message); it moves with the cosignatures into a module above checkpoint.
    ("note", "checkpoint"),
];

/// The layer of each module, from ARCHITECTURE.md.
fn layers() -> BTreeMap<String, usize> {
    let doc = include_str!("../../../ARCHITECTURE.md");
    let start = doc
        .find("modules depend only on modules above them in this list:")
        .expect("ARCHITECTURE.md states the core's layer list");
    let list = &doc[start..];
    let list = &list[list.find('\n').unwrap() + 1..];
    let list = &list[..list.find(".\n").expect("the list ends with a full stop")];
    let mut out = BTreeMap::new();
    for (i, layer) in list.split('→').enumerate() {
        for m in layer.split(',') {
            let m = m.trim().trim_matches('`');
            assert!(!m.is_empty(), "an empty name in layer {i}: {layer:?}");
            assert!(out.insert(m.to_owned(), i).is_none(), "{m} is listed twice");
        }
    }
    out
}

/// Every module `crate::` paths name in `text`'s code (comment lines, and so doc links,
/// left out), including in `use crate::{a, b::c}`.
fn uses(text: &str) -> Vec<String> {
    let code: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let text = code.as_str();
    let mut found = Vec::new();
    for (i, _) in text.match_indices("crate::") {
        let rest = &text[i + 7..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            for item in group.split(',') {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                found.push(name);
            }
        } else {
            found.push(
                rest.chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect(),
            );
        }
    }
    found.retain(|n| !n.is_empty());
    found
}

fn module_files(dir: &Path, out: &mut Vec<(String, String)>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            module_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            let rel = p
                .strip_prefix(concat!(env!("CARGO_MANIFEST_DIR"), "/src"))
                .unwrap();
            let top = rel.iter().next().unwrap().to_str().unwrap();
            out.push((
                top.trim_end_matches(".rs").to_owned(),
                std::fs::read_to_string(&p).unwrap(),
            ));
        }
    }
}

#[test]
fn every_module_uses_only_its_own_layer_and_those_above_it() {
    let layers = layers();
    let mut files = Vec::new();
    module_files(
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src")),
        &mut files,
    );
    let mut wrong = Vec::new();
    let mut seen = 0;
    for (module, text) in &files {
        if module == "lib" {
            continue;
        }
        let Some(&own) = layers.get(module) else {
            panic!("module {module} is not in ARCHITECTURE.md's layer list");
        };
        for used in uses(text) {
            seen += 1;
            let Some(&theirs) = layers.get(&used) else {
                panic!("{module} uses crate::{used}, which is not in the layer list");
            };
            if theirs > own && !KNOWN.contains(&(module.as_str(), used.as_str())) {
                wrong.push(format!(
                    "{module} (layer {own}) uses {used} (layer {theirs})"
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "uses against the layer list:\n{}",
        wrong.join("\n")
    );
    // It read the sources it should have: every module, and their uses.
    assert_eq!(
        layers.len(),
        files
            .iter()
            .map(|(m, _)| m)
            .filter(|m| *m != "lib")
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    );
    assert!(seen > 100, "only {seen} uses read");
    // Each known exception still exists (else it is taken off the list).
    for (a, b) in KNOWN {
        let text: String = files
            .iter()
            .filter(|(m, _)| m == a)
            .map(|(_, t)| t.as_str())
            .collect();
        assert!(
            uses(&text).iter().any(|u| u == b),
            "{a} no longer uses {b}: take it off KNOWN"
        );
    }
}

#[test]
fn the_reader_finds_grouped_and_inline_paths() {
    let text = "use crate::{hash::Hash, note};\n/// [`x`]: crate::audit::X\nlet x = crate::tiles::f(crate::b64::g());\n";
    assert_eq!(uses(text), ["hash", "note", "tiles", "b64"]);
}
