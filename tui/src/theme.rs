//! Colours. `themes/dark.toml` (the default) and `themes/light.toml` are
//! built in; `--theme FILE` reads a user theme, whose missing colours come
//! from the dark one.

use ratatui::style::Color;
use serde::Deserialize;

const DARK: &str = include_str!("../../themes/dark.toml");
const LIGHT: &str = include_str!("../../themes/light.toml");

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Theme {
    pub focus: Color,
    pub dim: Color,
    pub accent: Color,
    pub key: Color,
    pub pause: Color,
    pub ok: Color,
    pub error: Color,
    pub line_number: Color,
    pub breakpoint: Color,
    pub paused_line: Color,
    pub error_line: Color,
    pub found: Color,
    pub keyword: Color,
    pub string: Color,
    pub comment: Color,
    pub number: Color,
    pub function: Color,
}

impl Default for Theme {
    fn default() -> Theme {
        // Spelled out as well as in dark.toml, so the default can never fail
        // to parse; a test keeps the two the same.
        Theme {
            focus: Color::Cyan,
            dim: Color::DarkGray,
            accent: Color::Yellow,
            key: Color::Cyan,
            pause: Color::Magenta,
            ok: Color::Green,
            error: Color::Red,
            line_number: Color::DarkGray,
            breakpoint: Color::LightRed,
            paused_line: Color::Rgb(0x3c, 0x28, 0x46),
            error_line: Color::Rgb(0x46, 0x1e, 0x1e),
            found: Color::Rgb(0x5a, 0x4b, 0x00),
            keyword: Color::Magenta,
            string: Color::Green,
            comment: Color::DarkGray,
            number: Color::LightYellow,
            function: Color::LightBlue,
        }
    }
}

impl Theme {
    /// `dark`, `light`, or the path of a theme file.
    pub fn load(name: &str) -> Result<Theme, String> {
        let text = match name {
            "dark" => DARK.to_owned(),
            "light" => LIGHT.to_owned(),
            path => std::fs::read_to_string(path)
                .map_err(|e| format!("theme {path}: {e}; give dark, light or a theme file"))?,
        };
        toml::from_str(&text).map_err(|e| format!("theme {name}: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_themes_parse_and_dark_is_the_default() {
        assert_eq!(Theme::load("dark").unwrap(), Theme::default());
        let light = Theme::load("light").unwrap();
        assert_eq!(light.focus, Color::Blue);
        assert_eq!(light.ok, Color::Rgb(0, 0x70, 0));
    }

    #[test]
    fn a_user_theme_overrides_some_colours_and_names_its_mistakes() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("mine.toml");
        std::fs::write(&file, "focus = \"light green\"\n").unwrap();
        let mine = Theme::load(file.to_str().unwrap()).unwrap();
        assert_eq!(mine.focus, Color::LightGreen);
        assert_eq!(mine.error, Theme::default().error);
        std::fs::write(&file, "focsu = \"red\"\n").unwrap();
        let e = Theme::load(file.to_str().unwrap()).unwrap_err();
        assert!(e.contains("focsu"), "{e}");
        assert!(Theme::load("/no/such/theme.toml")
            .unwrap_err()
            .contains("dark, light"));
    }
}
