//! The Runs view's own state: the project's kept runs (newest first, as
//! the main loop last read them), the one chosen, one marked to compare,
//! and what is open over the list (a run whole, two runs compared, or a
//! fork's reply being edited). Plain data and what it says about itself;
//! the keys that change it are `app::history`'s.

use llmspell::history::{Run, Summary};

use crate::editor::Editor;
use crate::scroll::Scroll;

#[derive(Default)]
pub struct RunsView {
    /// Kept runs, newest first.
    pub list: Vec<Summary>,
    /// The chosen run, by id: it stays chosen as new runs arrive above it.
    pub chosen: Option<i64>,
    /// The run marked to compare with the next one marked.
    pub marked: Option<i64>,
    pub open: Option<Opened>,
    /// A fork's reply being edited: the run, its exchange, the JSON.
    pub fork: Option<(i64, usize, Editor)>,
    /// Why the list could not be read, if it could not.
    pub error: Option<String>,
}

/// What is open over the list.
#[derive(Debug)]
pub enum Opened {
    /// One run whole: its text as `llmspell runs show` prints it, and the
    /// exchange chosen (from 1; 0 when it has none).
    Run {
        run: Box<Run>,
        lines: Vec<String>,
        exchange: usize,
        scroll: Scroll,
    },
    /// Two runs compared, as `llmspell runs diff` prints it.
    Diff {
        title: String,
        lines: Vec<String>,
        scroll: Scroll,
    },
}

impl Opened {
    /// A run whole, at its top, its first model exchange chosen (its
    /// first exchange of any kind, if it had no model call).
    pub fn run(run: Run) -> Opened {
        let lines = text_lines(&llmspell::history::show(&run));
        let exchange = run
            .exchanges
            .iter()
            .find(|ex| ex.is_chat())
            .or(run.exchanges.first())
            .map_or(0, |ex| ex.n);
        let mut scroll = Scroll::default();
        scroll.home();
        Opened::Run {
            run: Box::new(run),
            lines,
            exchange,
            scroll,
        }
    }

    pub fn diff(a: &Run, b: &Run) -> Opened {
        let mut scroll = Scroll::default();
        scroll.home();
        Opened::Diff {
            title: format!("Runs {} and {} compared", a.summary.id, b.summary.id),
            lines: text_lines(&llmspell::history::diff(a, b)),
            scroll,
        }
    }

    pub fn lines(&self) -> &[String] {
        match self {
            Opened::Run { lines, .. } | Opened::Diff { lines, .. } => lines,
        }
    }

    pub fn scroll_mut(&mut self) -> &mut Scroll {
        match self {
            Opened::Run { scroll, .. } | Opened::Diff { scroll, .. } => scroll,
        }
    }

    pub fn scroll(&self) -> &Scroll {
        match self {
            Opened::Run { scroll, .. } | Opened::Diff { scroll, .. } => scroll,
        }
    }
}

/// Text as lines, tabs made spaces.
fn text_lines(text: &str) -> Vec<String> {
    text.lines().map(|l| l.replace('\t', "    ")).collect()
}

/// The line of a run's text where exchange `n` starts (`#n op ...`).
pub fn exchange_line(lines: &[String], n: usize) -> Option<usize> {
    let head = format!("#{n} ");
    lines.iter().position(|l| l.starts_with(&head))
}

impl RunsView {
    /// The chosen run's place in the list (the newest when none is).
    pub fn selected(&self) -> usize {
        self.chosen
            .and_then(|id| self.list.iter().position(|s| s.id == id))
            .unwrap_or(0)
    }

    pub fn selected_run(&self) -> Option<&Summary> {
        self.list.get(self.selected())
    }

    /// Moves the choice `by` rows (down is older).
    pub fn step(&mut self, by: isize) {
        if self.list.is_empty() {
            return;
        }
        let at = self.selected() as isize + by;
        let at = at.clamp(0, self.list.len() as isize - 1) as usize;
        self.chosen = Some(self.list[at].id);
    }

    /// The wheel: what is open scrolls, else the choice moves.
    pub fn wheel(&mut self, width: usize, room: usize, by: isize) {
        match &mut self.open {
            Some(open) => {
                let lines = open.lines().to_vec();
                open.scroll_mut().by(&lines[..], width, room, by);
            }
            None => self.step(by),
        }
    }

    /// The list as rows: a header, then one row per run (as `llmspell
    /// runs` prints them), a marked run starred.
    pub fn rows(&self) -> Vec<String> {
        let table = llmspell::history::table(&self.list);
        let mut rows: Vec<String> = table.lines().map(|l| format!("  {l}")).collect();
        for (row, s) in rows.iter_mut().skip(1).zip(&self.list) {
            if self.marked == Some(s.id) {
                row.replace_range(0..1, "*");
            }
        }
        rows
    }
}
