//! Table-driven classification over `tests/fixtures/`: every log has its expected incidents in
//! `expected.ron` (type and the facts that must be read); ordinary logs must raise nothing.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use startup_medic::engine::rules::Classifier;
use startup_medic::engine::{ErrorType, Fact};

#[derive(Debug, Deserialize)]
struct Expected {
    #[serde(rename = "type")]
    error_type: ErrorType,
    #[serde(default)]
    facts: BTreeMap<String, Fact>,
}

fn fixtures_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn load_expected() -> BTreeMap<String, Vec<Expected>> {
    let text = std::fs::read_to_string(fixtures_dir().join("expected.ron")).expect("expected.ron");
    ron::from_str(&text).expect("expected.ron parses")
}

#[test]
fn every_fixture_is_classified_as_expected() {
    let (classifier, problems) = Classifier::builtin();
    assert!(problems.is_empty(), "{problems:?}");
    let expected = load_expected();
    let mut failures = Vec::new();
    let (mut types_ok, mut types_total, mut facts_ok, mut facts_total) = (0, 0, 0, 0);
    for (name, want) in &expected {
        let bytes =
            std::fs::read(fixtures_dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let got = classifier.classify_bytes(&bytes);
        if got.len() != want.len() {
            failures.push(format!(
                "{name}: expected {} incident(s) {:?}, got {}: {:?}",
                want.len(),
                want.iter().map(|w| w.error_type.id()).collect::<Vec<_>>(),
                got.len(),
                got.iter()
                    .map(|g| (g.error_type.id(), g.line, g.message.as_str()))
                    .collect::<Vec<_>>()
            ));
        }
        for (i, w) in want.iter().enumerate() {
            types_total += 1;
            facts_total += w.facts.len();
            let Some(g) = got.get(i) else { continue };
            if g.error_type == w.error_type {
                types_ok += 1;
            } else {
                failures.push(format!(
                    "{name}#{i}: expected {}, got {} from {:?}",
                    w.error_type, g.error_type, g.message
                ));
            }
            for (k, v) in &w.facts {
                if g.facts.get(k) == Some(v) {
                    facts_ok += 1;
                } else {
                    failures.push(format!(
                        "{name}#{i}: fact {k}: expected {v}, got {:?} (all: {:?})",
                        g.facts.get(k),
                        g.facts.0
                    ));
                }
            }
        }
    }
    println!(
        "types {types_ok}/{types_total}, facts {facts_ok}/{facts_total}, fixtures {}",
        expected.len()
    );
    assert!(
        failures.is_empty(),
        "{} problem(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_log_has_an_expectation_and_there_are_enough() {
    let expected = load_expected();
    let mut logs = Vec::new();
    for sub in ["failures", "ordinary"] {
        for entry in std::fs::read_dir(fixtures_dir().join(sub)).expect("dir") {
            let name = entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .to_string();
            logs.push(format!("{sub}/{name}"));
        }
    }
    let missing: Vec<_> = logs.iter().filter(|l| !expected.contains_key(*l)).collect();
    assert!(missing.is_empty(), "logs without expectations: {missing:?}");
    let failures = expected.iter().filter(|(_, v)| !v.is_empty()).count();
    let ordinary = expected.iter().filter(|(_, v)| v.is_empty()).count();
    assert!(failures >= 60, "{failures} failure logs");
    assert!(ordinary >= 10, "{ordinary} ordinary logs");
    let types: std::collections::BTreeSet<_> =
        expected.values().flatten().map(|e| e.error_type).collect();
    for t in ErrorType::ALL
        .into_iter()
        .filter(|t| *t != ErrorType::Unknown)
    {
        assert!(types.contains(&t), "no fixture of type {t}");
    }
}

#[test]
fn every_phrase_alone_gets_its_type() {
    let (classifier, problems) = Classifier::builtin();
    assert!(problems.is_empty(), "{problems:?}");
    let text = std::fs::read_to_string(fixtures_dir().join("phrases.ron")).expect("phrases.ron");
    let phrases: Vec<(ErrorType, String)> = ron::from_str(&text).expect("phrases.ron parses");
    assert!(phrases.len() >= 200, "{} phrases", phrases.len());
    let mut failures = Vec::new();
    for (want, line) in &phrases {
        let got = classifier.classify_bytes(format!("{line}\n").as_bytes());
        let types: Vec<_> = got.iter().map(|g| g.error_type).collect();
        if types != [*want] {
            failures.push(format!("{line:?}: expected [{want}], got {types:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} phrase(s) wrong:\n{}",
        failures.len(),
        phrases.len(),
        failures.join("\n")
    );
}
