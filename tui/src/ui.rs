//! Drawing the IDE: a pure function of [`App`]; it never changes state.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, List, ListItem, ListState, Paragraph};
use ratatui::Frame;

use llmspell::debug::{Pause, When};

use crate::editor::Editor;
use crate::highlight::Kind;
use crate::layout::{detail_area, detail_room, panes, state_rows};
use crate::state::{event_rows, spells_offset, state_skip, App, Focus, ReplState, Status};
use crate::theme::Theme;

pub fn render(app: &App, frame: &mut Frame) {
    let [spells, source, output, inspector, state, status] = panes(frame.area(), app.sizes);
    spell_list(app, frame, spells);
    editor_view(app, frame, source);
    output_view(app, frame, output);
    inspector_view(app, frame, inspector);
    state_view(app, frame, state);
    status_bar(app, frame, status);
    // Over the panes: an event's whole JSON, then the keys.
    if app.inspector.detail && app.inspector.current().is_some() {
        event_detail(app, frame);
    }
    if app.help {
        help(app, frame);
    }
}

fn block<'a>(theme: &Theme, title: &'a str, focused: bool) -> Block<'a> {
    let style = if focused {
        Style::default().fg(theme.focus)
    } else {
        Style::default().fg(theme.dim)
    };
    Block::bordered().title(title).border_style(style)
}

fn spell_list(app: &App, frame: &mut Frame, area: Rect) {
    let shown = app.shown_spells();
    let room = area.height.saturating_sub(2) as usize;
    let offset = spells_offset(app, &shown, room);
    let dim = Style::default().fg(app.theme.dim);
    let items: Vec<ListItem> = shown
        .iter()
        .skip(offset)
        .take(room)
        .map(|&i| {
            let s = &app.spells[i];
            let gone = app.spell_name() == Some(s.as_str())
                && app.editor.disk == Some(crate::editor::Read::Missing);
            // A subfolder's name, dim, before the file's.
            let (folder, file) = s.rsplit_once('/').map_or(("", s.as_str()), |(d, f)| (d, f));
            let mut spans = Vec::new();
            if !folder.is_empty() {
                spans.push(Span::styled(format!("{folder}/"), dim));
            }
            spans.push(Span::raw(file.to_owned()));
            if gone {
                spans.push(Span::raw(" (deleted)"));
            }
            ListItem::new(Line::from(spans))
        })
        .collect();
    let title = match &app.spell_filter {
        Some(f) => format!("Spells /{f} ({})", shown.len()),
        None => "Spells".to_owned(),
    };
    let list = List::new(items)
        .block(block(&app.theme, &title, app.focus == Focus::Spells))
        .highlight_style(Style::default().add_modifier(Modifier::REVERSED));
    let at = shown
        .iter()
        .position(|&i| i == app.selected)
        .and_then(|p| p.checked_sub(offset))
        .filter(|&p| p < room);
    let mut state = ListState::default().with_selected(at);
    frame.render_stateful_widget(list, area, &mut state);
}

fn editor_view(app: &App, frame: &mut Frame, area: Rect) {
    use crate::editor::Read;
    let name = app.spell_name().unwrap_or_default();
    let edited = app.editor.text() != app.editor.saved_text();
    let mark = if edited { " ●" } else { "" };
    let title = match &app.editor.disk {
        _ if app.editor.read_only => format!("{name} (not editable)"),
        None => format!("{name}{mark}"),
        Some(Read::Missing) => format!("{name}{mark} (deleted on disk)"),
        Some(Read::Text(_)) => format!("{name}{mark} (changed on disk)"),
        Some(Read::Unreadable(_)) => format!("{name}{mark} (not text on disk now)"),
    };
    let outer = block(&app.theme, &title, app.focus == Focus::Editor);
    let inner = outer.inner(area);
    frame.render_widget(outer, area);
    if let (true, Some(Read::Unreadable(why))) = (app.editor.read_only, &app.editor.disk) {
        let why = format!(
            "{name} cannot be edited here: {why}.\nIt is shown as nothing and never saved over."
        );
        let style = Style::default().fg(app.theme.dim);
        frame.render_widget(
            Paragraph::new(why)
                .style(style)
                .wrap(ratatui::widgets::Wrap { trim: false }),
            inner,
        );
        return;
    }
    let lines = code_lines(app, inner);
    frame.render_widget(Paragraph::new(lines), inner);
}

/// The open spell's visible lines: a gutter (breakpoint, paused line,
/// error line, number) and the text in its syntax colours, with the cursor
/// and any selection.
fn code_lines(app: &App, area: Rect) -> Vec<Line<'static>> {
    let theme = &app.theme;
    let editor = &app.editor;
    let text = editor.area.lines();
    let spell = app.spell_name().unwrap_or_default();
    let breaks = app.breakpoints.get(spell);
    let no_code = app
        .no_code
        .as_ref()
        .filter(|n| n.spell == spell)
        .map(|n| &n.lines);
    let paused = app
        .paused
        .as_ref()
        .and_then(|p| p.location.as_ref())
        .filter(|l| l.file == spell)
        .map(|l| l.line);
    let failed = app
        .error_line
        .as_ref()
        .filter(|(s, _)| s == spell)
        .map(|(_, line)| *line);
    let digits = text.len().to_string().len().max(2);
    let width = (area.width as usize).saturating_sub(digits + 2);
    let ratatui_textarea::DataCursor(cursor_row, cursor_col) = editor.area.cursor();
    let show_cursor = app.focus == Focus::Editor && app.paused.is_none();
    // Long lines scroll sideways to keep the cursor in view.
    let left = if show_cursor {
        (cursor_col + 1).saturating_sub(width)
    } else {
        0
    };
    let selection = editor.area.selection_range();
    let find = app.find.as_deref().filter(|_| !editor.read_only);
    let selected = |row: usize, col: usize| {
        selection
            .is_some_and(|((r0, c0), (r1, c1))| (row, col) >= (r0, c0) && (row, col) < (r1, c1))
    };
    text.iter()
        .enumerate()
        .skip(editor.top)
        .take(area.height as usize)
        .map(|(row, line)| {
            let n = row as u32 + 1;
            let (mark, mark_style) = if paused == Some(n) {
                ("▶", Style::default().fg(theme.pause))
            } else if let Some(when) = breaks.and_then(|b| b.0.get(&n)) {
                // No code: it never stops. A log message: it never pauses.
                let mark = if no_code.is_some_and(|l| l.contains(&n)) {
                    "○"
                } else if when.log.is_some() {
                    "◆"
                } else if when.condition.is_some() || when.hits.is_some() {
                    "◉"
                } else {
                    "●"
                };
                (mark, Style::default().fg(theme.breakpoint))
            } else if failed == Some(n) {
                ("✖", Style::default().fg(theme.error))
            } else {
                (" ", Style::default())
            };
            let base = if paused == Some(n) {
                Style::default().bg(theme.paused_line)
            } else if failed == Some(n) {
                Style::default().bg(theme.error_line)
            } else {
                Style::default()
            };
            let mut spans = vec![
                Span::styled(mark, mark_style),
                Span::styled(
                    format!("{n:>digits$} "),
                    Style::default().fg(theme.line_number),
                ),
            ];
            // Each character's style, then runs of the same style as spans.
            let pieces = editor.highlight.pieces(row);
            let found = find.map_or_else(Vec::new, |term| crate::edit::matches(line, term));
            let mut cells: Vec<(char, Style)> = Vec::new();
            for (col, (at, c)) in line.char_indices().enumerate().skip(left) {
                if cells.len() >= width {
                    break;
                }
                let kind = pieces
                    .iter()
                    .find(|(r, _)| r.contains(&at))
                    .map_or(Kind::Plain, |(_, k)| *k);
                let mut style = base.patch(kind_style(theme, kind));
                if found.iter().any(|m| m.contains(&col)) {
                    style = style.bg(theme.found);
                }
                if selected(row, col) || (show_cursor && row == cursor_row && col == cursor_col) {
                    style = style.add_modifier(Modifier::REVERSED);
                }
                cells.push((if c == '\t' { ' ' } else { c }, style));
            }
            if show_cursor && row == cursor_row && cursor_col >= line.chars().count() {
                cells.push((' ', base.add_modifier(Modifier::REVERSED)));
            }
            let mut run = String::new();
            let mut run_style = base;
            for (c, style) in cells {
                if style != run_style && !run.is_empty() {
                    spans.push(Span::styled(std::mem::take(&mut run), run_style));
                }
                run_style = style;
                run.push(c);
            }
            if !run.is_empty() {
                spans.push(Span::styled(run, run_style));
            }
            // The paused or failed line's colour runs to the pane's edge.
            Line::from(spans).style(base)
        })
        .collect()
}

fn kind_style(theme: &Theme, kind: Kind) -> Style {
    let fg = match kind {
        Kind::Plain => return Style::default(),
        Kind::Keyword => theme.keyword,
        Kind::String => theme.string,
        Kind::Comment => theme.comment,
        Kind::Number => theme.number,
        Kind::Function => theme.function,
    };
    Style::default().fg(fg)
}

/// An engine's REPL: its transcript, and the input under it.
fn repl_view(app: &App, kind: llmspell::EngineKind, frame: &mut Frame, area: Rect) {
    let doing = match app.repl_state.get(&kind) {
        None | Some(ReplState::Ready) => "F2: next; Enter runs",
        Some(ReplState::Unfinished) => "unfinished: Enter adds a line, Ctrl+C drops it",
        Some(ReplState::Busy(_)) => "running: Ctrl+C stops it",
    };
    let mut title = format!("{} REPL ({doing})", kind_name(kind));
    if app.paused.is_some() && app.running_kind() == Some(kind) {
        let at = app
            .paused
            .as_ref()
            .and_then(|p| p.stack.get(app.pause_frame));
        let place = at.map_or(String::new(), |f| {
            format!(" in {} at line {}", f.function, f.line)
        });
        title = format!(
            "{} REPL · paused{place}: Enter runs there, F2 the pause",
            kind_name(kind)
        );
    }
    let outer = block(&app.theme, &title, app.focus == Focus::Output);
    let inner = outer.inner(area);
    frame.render_widget(outer, area);
    let input_rows = (app.repl_input.area.lines().len() as u16).clamp(1, 4);
    let [log_area, input_area] =
        Layout::vertical([Constraint::Min(0), Constraint::Length(input_rows)]).areas(inner);
    let lines: Vec<Line> = app.repl_log.get(&kind).map_or_else(Vec::new, |log| {
        log.view(log_area.width as usize, log_area.height as usize)
            .into_iter()
            .map(Line::raw)
            .collect()
    });
    frame.render_widget(Paragraph::new(lines), log_area);
    frame.render_widget(&app.repl_input.area, input_area);
}

/// A JSON edit (a pause's call, a fork's reply) in the bottom pane.
fn json_edit(theme: &Theme, title: String, edit: &Editor, frame: &mut Frame, area: Rect) {
    let outer = Block::bordered()
        .title(title)
        .border_style(Style::default().fg(theme.pause));
    let inner = outer.inner(area);
    frame.render_widget(outer, area);
    frame.render_widget(&edit.area, inner);
}

/// The Runs view: the kept runs, newest first; or one open whole, two
/// compared, or a fork's reply being edited.
fn runs_view(app: &App, frame: &mut Frame, area: Rect) {
    use crate::runs::Opened;
    let focused = app.focus == Focus::Output;
    let runs = &app.runs;
    if let Some((id, n, edit)) = &runs.fork {
        let title = format!(
            "Fork run {id} at #{n}: edit the reply as JSON; F5 runs it (live after #{n}), Esc drops"
        );
        return json_edit(&app.theme, title, edit, frame, area);
    }
    let (width, room) = (
        area.width.saturating_sub(2) as usize,
        area.height.saturating_sub(2) as usize,
    );
    let Some(open) = &runs.open else {
        let title = match &runs.error {
            Some(e) => format!("Runs: {e}"),
            None => format!(
                "Runs ({}): Enter opens, r runs again, m marks two to compare, F2 next",
                runs.list.len()
            ),
        };
        let outer = block(&app.theme, &title, focused);
        let inner = outer.inner(area);
        frame.render_widget(outer, area);
        if runs.list.is_empty() {
            let none = "No runs kept yet: every run (F5 here, `llmspell run` anywhere) is kept.";
            frame.render_widget(
                Paragraph::new(none).style(Style::default().fg(app.theme.dim)),
                inner,
            );
            return;
        }
        let rows = runs.rows();
        let selected = runs.selected();
        // The header stays; the rows scroll to keep the chosen one shown.
        let room = room.saturating_sub(1).max(1);
        let first = (selected + 1).saturating_sub(room);
        let mut lines = vec![Line::styled(
            rows[0].clone(),
            Style::default().fg(app.theme.dim),
        )];
        for (i, row) in rows.iter().enumerate().skip(1 + first).take(room) {
            let failed = runs.list[i - 1].status != llmspell::history::Status::Ok;
            let mut style = Style::default();
            if failed {
                style = style.fg(app.theme.error);
            }
            if i - 1 == selected {
                style = style.add_modifier(Modifier::REVERSED);
            }
            lines.push(Line::styled(row.clone(), style));
        }
        frame.render_widget(Paragraph::new(lines), inner);
        return;
    };
    let title = match open {
        Opened::Run { run, exchange, .. } => {
            let s = &run.summary;
            let fork = match *exchange {
                0 => String::new(),
                n => format!(", [ ] exchange, f forks at #{n}"),
            };
            format!(
                "Run {} {} {}: Up/Down scroll{fork}, r runs again, y copies, Esc back",
                s.id,
                s.spell,
                llmspell::history::outcome_text(s)
            )
        }
        Opened::Diff { title, .. } => format!("{title}: Up/Down scroll, y copies, Esc back"),
    };
    let outer = block(&app.theme, &title, focused);
    let inner = outer.inner(area);
    frame.render_widget(outer, area);
    let chosen = match open {
        Opened::Run { exchange, .. } if *exchange > 0 => Some(format!("#{exchange} ")),
        _ => None,
    };
    let diff = matches!(open, Opened::Diff { .. });
    let lines: Vec<Line> = open
        .scroll()
        .view(open.lines(), width, room)
        .into_iter()
        .map(|row| {
            let style = if chosen.as_ref().is_some_and(|c| row.starts_with(c.as_str())) {
                Style::default().add_modifier(Modifier::REVERSED)
            } else if diff && row.starts_with('+') && !row.starts_with("+++") {
                Style::default().fg(app.theme.ok)
            } else if diff && row.starts_with('-') && !row.starts_with("---") {
                Style::default().fg(app.theme.error)
            } else if row.starts_with('#') {
                Style::default().fg(app.theme.accent)
            } else {
                Style::default()
            };
            Line::styled(row, style)
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

fn kind_name(kind: llmspell::EngineKind) -> &'static str {
    match kind {
        llmspell::EngineKind::Lua => "Lua",
        llmspell::EngineKind::Js => "JavaScript",
        llmspell::EngineKind::Rhai => "Rhai",
    }
}

/// A pause: the pending call and what goes in or came out, where, the
/// watches, the chosen frame's locals (one a line), and the call stack,
/// innermost first, the chosen frame marked.
fn pause_view(app: &App, pause: &Pause, frame: &mut Frame, area: Rect) {
    let theme = &app.theme;
    let chosen = app.pause_frame;
    let inspected = app.inspected.as_ref().filter(|i| i.frame == chosen);
    // As the spell last answered (a local set since shows its new value).
    let frame_locals = match (chosen, inspected) {
        (_, Some(i)) if !i.locals.is_empty() => &i.locals,
        (0, _) => &pause.locals,
        (_, _) => &Vec::new(),
    };
    let watches = app.spell_settings().watches;
    let place = pause
        .location
        .as_ref()
        .map_or(String::new(), |l| format!(" at {}:{}", l.file, l.line));
    let (title, body) = match pause.when {
        When::Before => (
            format!("Paused before {}{place}", pause.call),
            Some(serde_json::Value::Array(pause.args.clone())),
        ),
        When::After => (
            format!("Paused after {}{place}", pause.call),
            Some(pause.result.clone().unwrap_or_default()),
        ),
        When::Line => (format!("Paused{place}"), None),
    };
    let style = Style::default().fg(theme.pause);
    let mut lines: Vec<Line> = Vec::new();
    if let Some(body) = body {
        // Pretty when it fits with the locals, else on as few rows as can be.
        let room = area.height.saturating_sub(2) as usize;
        // The stack comes last and is cut first: it does not count here.
        let locals = if frame_locals.is_empty() {
            0
        } else {
            frame_locals.len() + 1
        } + if watches.is_empty() {
            0
        } else {
            watches.len() + 1
        };
        // Both cut into rows as wide as the pane, so a long reply shows whole.
        let width = area.width.saturating_sub(2).max(1) as usize;
        let rows = |text: &str| -> Vec<Line<'static>> {
            text.lines()
                .flat_map(|l| {
                    let chars: Vec<char> = l.chars().collect();
                    chars
                        .chunks(width)
                        .map(|c| Line::raw(c.iter().collect::<String>()))
                        .collect::<Vec<_>>()
                })
                .collect()
        };
        let pretty = rows(&serde_json::to_string_pretty(&body).unwrap_or_default());
        if pretty.len() + locals <= room {
            lines.extend(pretty);
        } else {
            lines.extend(rows(&body.to_string()));
        }
    }
    let width = area.width.saturating_sub(2) as usize;
    if !watches.is_empty() {
        lines.push(Line::styled("watch", style));
        for w in &watches {
            let value = inspected
                .and_then(|i| i.watches.iter().find(|(name, _)| name == w))
                .map_or("…".to_owned(), |(_, v)| match v {
                    Ok(v) => v.to_string(),
                    Err(e) => format!("<{e}>"),
                });
            lines.push(one_row(theme, w, &value, width));
        }
    }
    if let Some(note) = &pause.note {
        lines.push(Line::styled(note.clone(), Style::default().fg(theme.error)));
    }
    if !frame_locals.is_empty() {
        let title = match chosen {
            0 => "locals".to_owned(),
            n => format!("locals of frame {n}"),
        };
        lines.push(Line::styled(title, style));
        for (name, value) in frame_locals {
            lines.push(one_row(theme, name, &value.to_string(), width));
        }
    }
    if !pause.stack.is_empty() {
        lines.push(Line::styled("stack", style));
        for (n, f) in pause.stack.iter().enumerate() {
            let mark = if n == chosen { "▸ " } else { "  " };
            lines.push(Line::from(vec![
                Span::styled(
                    format!("{mark}{}", f.function),
                    Style::default().fg(theme.key),
                ),
                Span::raw(format!("  {}:{}", f.file, f.line)),
            ]));
        }
    }
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(title).border_style(style)),
        area,
    );
}

/// A name and a value on one row: a long value is cut, with `…`.
fn one_row(theme: &Theme, name: &str, value: &str, width: usize) -> Line<'static> {
    let room = width.saturating_sub(name.chars().count() + 5);
    let mut shown: String = value.chars().take(room + 1).collect();
    if shown.chars().count() > room {
        shown = shown
            .chars()
            .take(room.saturating_sub(1))
            .collect::<String>()
            + "…";
    }
    Line::from(vec![
        Span::styled(format!("  {name}"), Style::default().fg(theme.key)),
        Span::raw(format!(" = {shown}")),
    ])
}

fn output_view(app: &App, frame: &mut Frame, area: Rect) {
    if let (Some(pause), Some(edit)) = (&app.paused, &app.pause_edit) {
        let what = match pause.when {
            When::Before => "arguments",
            When::After => "reply",
            When::Line => "line",
        };
        let title = format!(
            "Edit the {what} of {}: F5 go on, F10 step, Esc drop",
            pause.call
        );
        return json_edit(&app.theme, title, edit, frame, area);
    }
    // F2 to the paused spell's REPL: its entries run in the paused frame.
    if let Some(pause) = app.paused.as_ref().filter(|_| app.tab.is_none()) {
        return pause_view(app, pause, frame, area);
    }
    if let Some(kind) = app.tab {
        return repl_view(app, kind, frame, area);
    }
    if app.runs_tab {
        return runs_view(app, frame, area);
    }
    let title = match app.output.scroll.following() {
        true => "Output",
        false => "Output (scrolled: End follows again)",
    };
    let outer = block(&app.theme, title, app.focus == Focus::Output);
    let inner = outer.inner(area);
    frame.render_widget(outer, area);
    // A run's first line names it: shown dim, as a separator.
    let separator = Style::default().fg(app.theme.comment);
    let lines: Vec<Line> = app
        .output
        .view(inner.width as usize, inner.height as usize)
        .into_iter()
        .map(|row| match row.starts_with("── ") && row.ends_with(" ──") {
            true => Line::styled(row, separator),
            false => Line::raw(row),
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

fn inspector_view(app: &App, frame: &mut Frame, area: Rect) {
    let ins = &app.inspector;
    let dim = Style::default().fg(app.theme.dim);
    let offset = crate::inspector::local_offset();
    let (rows, visible_count) = event_rows(app, area);
    let lines: Vec<Line> = rows
        .into_iter()
        .map(|row| {
            let i = match row {
                Ok(i) => i,
                Err(text) => return Line::styled(text, dim),
            };
            let e = &ins.events[i];
            let line = Line::from(vec![
                Span::styled(
                    format!("{} ", crate::inspector::clock(e.time_ms, false, offset)),
                    dim,
                ),
                Span::styled(
                    format!("{} ", e.topic),
                    Style::default().fg(app.theme.accent),
                ),
                Span::raw(e.data.to_string()),
            ]);
            if ins.selected == Some(i) {
                line.style(Style::default().add_modifier(Modifier::REVERSED))
            } else {
                line
            }
        })
        .collect();
    let mut title = format!("Events ({})", ins.events.len());
    if ins.filter_name() != "*" {
        title.push_str(&format!(" {}", ins.filter_name()));
    }
    if let Some(term) = &ins.search {
        title.push_str(&format!(" /{term} ({visible_count})"));
    }
    if ins.frozen.is_some() {
        title.push_str(" paused");
    }
    let widget =
        Paragraph::new(lines).block(block(&app.theme, &title, app.focus == Focus::Inspector));
    frame.render_widget(widget, area);
}

/// The current event whole: its time and run, then its JSON, wrapped to
/// the box and scrolled inside it.
fn event_detail(app: &App, frame: &mut Frame) {
    let ins = &app.inspector;
    let popup = detail_area(frame.area());
    let (width, room) = detail_room(frame.area());
    let lines = ins.detail_lines();
    let rows: Vec<Line> = ins
        .detail_scroll
        .view(&lines[..], width, room)
        .into_iter()
        .map(Line::raw)
        .collect();
    let topic = ins.current().map_or("", |e| e.topic.as_str());
    let title =
        format!("{topic} (Up/Down/PgUp/PgDn scroll, n/p next/previous, y copies, Esc closes)");
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(rows).block(Block::bordered().title(title)),
        popup,
    );
}

fn state_view(app: &App, frame: &mut Frame, area: Rect) {
    let focused = app.focus == Focus::State;
    if let Some((key, edit)) = &app.state_edit {
        let outer = Block::bordered()
            .title(format!("{key}: Ctrl+S sets, Esc drops"))
            .border_style(Style::default().fg(app.theme.pause));
        let inner = outer.inner(area);
        frame.render_widget(outer, area);
        frame.render_widget(&edit.area, inner);
        return;
    }
    let rows = state_rows(&app.state);
    let room = area.height.saturating_sub(2) as usize;
    let skip = state_skip(app, &rows, room);
    let lines: Vec<Line> = rows
        .iter()
        .skip(skip)
        .take(room)
        .map(|row| {
            let indent = "  ".repeat(row.depth);
            let label_style = if row.key.is_some() || row.value.is_none() {
                Style::default().fg(app.theme.key)
            } else {
                Style::default().fg(app.theme.dim)
            };
            let mut spans = vec![Span::styled(format!("{indent}{}", row.label), label_style)];
            if let Some(v) = &row.value {
                spans.push(Span::raw(format!(" = {v}")));
            }
            let line = Line::from(spans);
            if focused && row.key == Some(app.state_selected) {
                line.style(Style::default().add_modifier(Modifier::REVERSED))
            } else {
                line
            }
        })
        .collect();
    let title = format!("State ({})", app.state.len());
    frame.render_widget(
        Paragraph::new(lines).block(block(&app.theme, &title, focused)),
        area,
    );
}

/// The keys, over the middle of the screen: the user's own first.
fn help(app: &App, frame: &mut Frame) {
    let theme = &app.theme;
    let yours: Vec<(&str, String)> = app
        .keymap
        .shown
        .iter()
        .map(|(key, action)| (key.as_str(), format!("{action} (your keymap)")))
        .collect();
    let keys: Vec<(&str, &str)> = yours
        .iter()
        .map(|(k, w)| (*k, w.as_str()))
        .chain(crate::keys::HELP.iter().copied())
        .collect();
    // A 16-column key, a space, the text, and the border.
    let width = keys.iter().map(|(_, what)| what.len()).max().unwrap_or(20) as u16 + 19;
    let height = keys.len() as u16 + 2;
    let area = frame.area();
    let w = width.min(area.width);
    let h = height.min(area.height);
    let popup = Rect::new((area.width - w) / 2, (area.height - h) / 2, w, h);
    // On a small screen the list scrolls (Up/Down).
    let room = h.saturating_sub(2) as usize;
    let skip = app.help_scroll.min(keys.len().saturating_sub(room));
    let title = if keys.len() > room {
        format!(
            "Keys {}-{} of {} (Up/Down)",
            skip + 1,
            (skip + room).min(keys.len()),
            keys.len()
        )
    } else {
        "Keys".to_owned()
    };
    let lines: Vec<Line> = keys
        .iter()
        .skip(skip)
        .map(|(key, what)| {
            Line::from(vec![
                Span::styled(format!("{key:<16} "), Style::default().fg(theme.key)),
                Span::raw(what.to_string()),
            ])
        })
        .collect();
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(title)),
        popup,
    );
}

fn status_bar(app: &App, frame: &mut Frame, area: Rect) {
    if let Some((prompt, edit)) = &app.prompt {
        let question = prompt.question();
        let [ask, answer] = Layout::horizontal([
            Constraint::Length(question.len() as u16),
            Constraint::Min(1),
        ])
        .areas(area);
        frame.render_widget(
            Paragraph::new(question).style(Style::default().fg(app.theme.accent)),
            ask,
        );
        frame.render_widget(&edit.area, answer);
        return;
    }
    let (text, style) = match &app.status {
        Status::Idle => (
            match app.run_with() {
                w if w.is_empty() => {
                    "F5 run  Shift+F5 stop  d debug  a auto-run  A args  R replay  F1 keys  q quit"
                        .to_owned()
                }
                w => format!("[{w}]  F5 run  A args  R replay  F1 keys  q quit"),
            },
            Style::default().fg(app.theme.dim),
        ),
        Status::Running { spell } => (
            match app.run_with() {
                w if w.is_empty() => format!("running {spell}..."),
                w => format!("running {spell} ({w})..."),
            },
            Style::default().fg(app.theme.accent),
        ),
        Status::Finished {
            spell,
            ok,
            text,
            ms,
        } => (
            format!("{spell}: {text} ({ms} ms)"),
            Style::default().fg(if *ok { app.theme.ok } else { app.theme.error }),
        ),
    };
    let (text, style) = match &app.paused {
        Some(p) => (
            format!(
                "paused at {}: F5/c continue  F10/n over  F11/s into  o out  w watch  e edit  x abort",
                p.call
            ),
            Style::default().fg(app.theme.pause),
        ),
        None => (text, style),
    };
    let (text, style) = match &app.notice {
        Some(n) => (n.clone(), Style::default().fg(app.theme.accent)),
        None => (text, style),
    };
    let mut marks = String::new();
    if app.debug {
        let pattern = &app.break_on;
        marks.push_str(&format!("[debug {pattern}] "));
    }
    if app.break_errors {
        marks.push_str("[pause on errors] ");
    }
    if app.auto_run {
        marks.push_str("[auto-run] ");
    }
    if let Some(model) = &app.model {
        marks.push_str(&format!("[{model} {} tok] ", app.tokens));
    }
    let text = format!("{marks}{text}");
    frame.render_widget(Paragraph::new(text).style(style), area);
}
