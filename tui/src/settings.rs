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
    #[serde(default, skip_serializing_if = "std::collections::BTreeSet::is_empty")]
    pub breakpoints: std::collections::BTreeSet<u32>,
    /// The expressions its pauses show the values of.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub watches: Vec<String>,
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
                breakpoints: [3, 7].into(),
                watches: vec!["n + 1".into()],
            },
        );
        let file = Settings::file(dir.path());
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, s.to_text()).unwrap();
        assert_eq!(Settings::load(dir.path()).unwrap(), s);
        assert!(s.to_text().contains("\"breakpoints\""), "{}", s.to_text());
        assert!(s.to_text().contains("\"watches\""), "{}", s.to_text());
        s.set("chat.lua", SpellSettings::default());
        assert!(s.spells.is_empty(), "empty settings are forgotten");
        std::fs::write(Settings::file(dir.path()), "{ nope").unwrap();
        assert!(Settings::load(dir.path()).unwrap_err().contains("ide.json"));
    }
}
