//! What the IDE remembers per spell between sessions: its `spell.args`,
//! the cassette its runs replay, its line breakpoints and its watches. Kept in the project's
//! `.llmspell/ide.json`, keyed by the spell's path inside the project.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// One spell's run settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpellSettings {
    /// `spell.args` for its runs.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub args: serde_json::Map<String, serde_json::Value>,
    /// The cassette its runs replay (relative to the project), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay: Option<String>,
    /// Its line breakpoints.
    #[serde(default, skip_serializing_if = "LineBreaks::is_empty")]
    pub breakpoints: LineBreaks,
    /// The expressions its pauses show the values of.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub watches: Vec<String>,
}

/// What a line breakpoint asks beyond its line: to pause only when a
/// condition holds, or only on some hits, or to print a message instead.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakIf {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hits: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<String>,
}

impl BreakIf {
    /// The breakpoint on `line` that asks this, as the debugger takes it.
    pub fn at(&self, line: u32) -> llmspell::debug::Breakpoint {
        llmspell::debug::Breakpoint {
            line,
            condition: self.condition.clone(),
            hits: self.hits.clone(),
            log: self.log.clone(),
        }
    }

    /// How the gutter and notices tell it: `if i > 3 · hits >=2 · log "…"`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(c) = &self.condition {
            parts.push(format!("if {c}"));
        }
        if let Some(h) = &self.hits {
            parts.push(format!("hits {h}"));
        }
        if let Some(l) = &self.log {
            parts.push(format!("log {l:?}"));
        }
        parts.join(" · ")
    }
}

/// A spell's line breakpoints, by line. The file keeps them as a list: a
/// plain breakpoint as its line number (as earlier versions wrote them
/// all), one that asks more as an object with its `line`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Vec<KeptBreak>", into = "Vec<KeptBreak>")]
pub struct LineBreaks(pub BTreeMap<u32, BreakIf>);

#[derive(Clone, Serialize, Deserialize)]
#[serde(untagged)]
enum KeptBreak {
    Line(u32),
    With {
        line: u32,
        #[serde(flatten)]
        when: BreakIf,
    },
}

impl From<Vec<KeptBreak>> for LineBreaks {
    fn from(kept: Vec<KeptBreak>) -> LineBreaks {
        LineBreaks(
            kept.into_iter()
                .map(|k| match k {
                    KeptBreak::Line(line) => (line, BreakIf::default()),
                    KeptBreak::With { line, when } => (line, when),
                })
                .collect(),
        )
    }
}

impl From<LineBreaks> for Vec<KeptBreak> {
    fn from(breaks: LineBreaks) -> Vec<KeptBreak> {
        breaks
            .0
            .into_iter()
            .map(|(line, when)| match when == BreakIf::default() {
                true => KeptBreak::Line(line),
                false => KeptBreak::With { line, when },
            })
            .collect()
    }
}

impl FromIterator<u32> for LineBreaks {
    fn from_iter<I: IntoIterator<Item = u32>>(lines: I) -> LineBreaks {
        LineBreaks(lines.into_iter().map(|l| (l, BreakIf::default())).collect())
    }
}

impl LineBreaks {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn lines(&self) -> impl Iterator<Item = u32> + '_ {
        self.0.keys().copied()
    }

    /// The breakpoints as the debugger takes them.
    pub fn to_debugger(&self) -> Vec<llmspell::debug::Breakpoint> {
        self.0.iter().map(|(line, when)| when.at(*line)).collect()
    }
}

impl SpellSettings {
    fn is_empty(&self) -> bool {
        *self == SpellSettings::default()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    #[serde(default)]
    pub spells: BTreeMap<String, SpellSettings>,
}

impl Settings {
    /// The settings file of the project at `project`.
    pub fn file(project: &Path) -> PathBuf {
        project.join(".llmspell").join("ide.json")
    }

    /// The project's settings: none yet when the file is missing; a file
    /// that cannot be read says why (and the IDE starts without it).
    pub fn load(project: &Path) -> Result<Settings, String> {
        let file = Settings::file(project);
        match std::fs::read_to_string(&file) {
            Ok(text) => serde_json::from_str(&text)
                .map_err(|e| format!("{}: {e}; not used", file.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Settings::default()),
            Err(e) => Err(format!("{}: {e}; not used", file.display())),
        }
    }

    /// The settings as their file holds them.
    pub fn to_text(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Sets one spell's settings (forgetting them when they are empty).
    pub fn set(&mut self, spell: &str, settings: SpellSettings) {
        if settings.is_empty() {
            self.spells.remove(spell);
        } else {
            self.spells.insert(spell.to_owned(), settings);
        }
    }
}

/// What an args prompt's answer means: a JSON object, or `key=value`
/// words (each value a string, as `llmspell run --arg` takes them);
/// nothing for no args.
pub fn parse_args(text: &str) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    let text = text.trim();
    if text.starts_with('{') {
        return match serde_json::from_str(text) {
            Ok(serde_json::Value::Object(map)) => Ok(map),
            Ok(_) => Err("args in JSON are an object".into()),
            Err(e) => Err(format!("args are not JSON: {e}")),
        };
    }
    let mut map = serde_json::Map::new();
    for word in text.split_whitespace() {
        let (k, v) = word
            .split_once('=')
            .filter(|(k, _)| !k.is_empty())
            .ok_or_else(|| format!("{word:?}: args are key=value words, or a JSON object"))?;
        map.insert(k.to_owned(), serde_json::Value::String(v.to_owned()));
    }
    Ok(map)
}

/// Args as the prompt shows them again: `key=value` words when every
/// value is a string without spaces, else JSON.
pub fn show_args(args: &serde_json::Map<String, serde_json::Value>) -> String {
    let words: Option<Vec<String>> = args
        .iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) if !s.is_empty() && !s.contains(char::is_whitespace) => {
                Some(format!("{k}={s}"))
            }
            _ => None,
        })
        .collect();
    match words {
        Some(words) => words.join(" "),
        None => serde_json::Value::Object(args.clone()).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn args_are_words_or_json_and_show_back_the_same_way() {
        let words = parse_args(" topic=rust n=3 ").unwrap();
        assert_eq!(
            serde_json::Value::Object(words.clone()),
            json!({"topic": "rust", "n": "3"})
        );
        assert_eq!(show_args(&words), "n=3 topic=rust");
        let typed = parse_args(r#"{"n": 3, "q": "two words"}"#).unwrap();
        assert_eq!(
            serde_json::Value::Object(typed.clone()),
            json!({"n": 3, "q": "two words"})
        );
        assert_eq!(show_args(&typed), r#"{"n":3,"q":"two words"}"#);
        assert!(parse_args("").unwrap().is_empty());
        assert!(parse_args("novalue").unwrap_err().contains("key=value"));
        assert!(parse_args("=x").is_err());
        assert!(parse_args("[1]").unwrap_err().contains("key=value"));
        assert!(parse_args("{\"a\":").unwrap_err().contains("not JSON"));
    }

    #[test]
    fn settings_round_trip_and_a_broken_file_says_so() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Settings::load(dir.path()), Ok(Settings::default()));
        let mut s = Settings::default();
        s.set(
            "chat.lua",
            SpellSettings {
                args: parse_args("a=1").unwrap(),
                replay: Some("cassettes/chat.jsonl".into()),
                breakpoints: LineBreaks(
                    [
                        (3, BreakIf::default()),
                        (
                            7,
                            BreakIf {
                                condition: Some("i > 3".into()),
                                log: Some("i is {i}".into()),
                                ..BreakIf::default()
                            },
                        ),
                    ]
                    .into(),
                ),
                watches: vec!["n + 1".into()],
            },
        );
        let file = Settings::file(dir.path());
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, s.to_text()).unwrap();
        assert_eq!(Settings::load(dir.path()).unwrap(), s);
        // A plain breakpoint is its line, as earlier versions kept them all.
        let kept: serde_json::Value = serde_json::from_str(&s.to_text()).unwrap();
        assert_eq!(
            kept["spells"]["chat.lua"]["breakpoints"],
            json!([3, {"line": 7, "condition": "i > 3", "log": "i is {i}"}])
        );
        let old = r#"{"spells": {"a.lua": {"breakpoints": [2, 5]}}}"#;
        let old: Settings = serde_json::from_str(old).unwrap();
        assert_eq!(
            old.spells["a.lua"].breakpoints,
            [2, 5].into_iter().collect()
        );
        assert!(s.to_text().contains("\"watches\""), "{}", s.to_text());
        s.set("chat.lua", SpellSettings::default());
        assert!(s.spells.is_empty(), "empty settings are forgotten");
        std::fs::write(Settings::file(dir.path()), "{ nope").unwrap();
        assert!(Settings::load(dir.path()).unwrap_err().contains("ide.json"));
    }
}
