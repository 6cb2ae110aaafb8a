//! The Produce screen: a form for topic, partition (empty: by key, as Kafka's partitioner
//! places it), key, headers (`k=v,k=v`) and a multi-line value, checked as JSON when it looks
//! like JSON; `ctrl-s` sends and the partition and offset written are shown. A value of
//! `@FILE` produces each line of the file as a record.

use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;

use super::{Ctx, View};
use crate::tui::action::{Action, ProduceRequest, Request, Route};
use crate::tui::event::{Subject, Update};
use crate::tui::keymap::{self, Command, Scope};
use crate::tui::theme::Theme;
use crate::tui::widgets::input::Input;

const LABELS: [&str; 5] = ["topic", "partition", "key", "headers", "value"];
const VALUE: usize = 4;

/// The Produce screen.
#[derive(Debug)]
pub struct ProduceView {
    fields: [Input; 5],
    focus: usize,
    /// The last send's outcome.
    result: Option<Result<String, String>>,
    sending: bool,
}

impl ProduceView {
    pub fn new(topic: &str) -> ProduceView {
        let mut fields: [Input; 5] = Default::default();
        fields[0] = Input::new(topic);
        fields[VALUE].multi_line = true;
        ProduceView {
            fields,
            focus: 1,
            result: None,
            sending: false,
        }
    }

    fn json_check(&self) -> Option<Result<(), String>> {
        let value = self.fields[VALUE].text.trim();
        if !(value.starts_with('{') || value.starts_with('[')) {
            return None;
        }
        Some(
            serde_json::from_str::<serde_json::Value>(value)
                .map(|_| ())
                .map_err(|e| e.to_string()),
        )
    }

    /// The record the form describes, or what is wrong with it.
    pub fn request(&self) -> Result<ProduceRequest, String> {
        let text = |i: usize| self.fields[i].text.trim().to_string();
        let topic = text(0);
        if topic.is_empty() {
            return Err("topic is empty".into());
        }
        let partition = match text(1) {
            p if p.is_empty() => None,
            p => Some(
                p.parse::<i32>()
                    .map_err(|_| format!("partition '{p}' is not a number"))?,
            ),
        };
        let key = Some(self.fields[2].text.clone()).filter(|k| !k.is_empty());
        let mut headers = Vec::new();
        for item in text(3).split(',').filter(|s| !s.trim().is_empty()) {
            let (k, v) = item
                .split_once('=')
                .ok_or_else(|| format!("header '{item}' is not key=value"))?;
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
        Ok(ProduceRequest {
            topic,
            partition,
            key,
            headers,
            value: self.fields[VALUE].text.clone(),
        })
    }

    fn field_line(&self, i: usize, theme: Theme) -> Line<'static> {
        let focused = i == self.focus;
        let label = format!("{:>10} ", LABELS[i]);
        let mut text = self.fields[i].text.clone();
        if focused {
            text.push('▏');
        }
        let hint = match i {
            1 if self.fields[1].text.is_empty() => "  (empty: by key)",
            3 if self.fields[3].text.is_empty() => "  (k=v,k=v)",
            _ => "",
        };
        Line::from(vec![
            Span::styled(label, if focused { theme.title() } else { theme.dim() }),
            Span::styled(text, theme.input()),
            Span::styled(hint, theme.dim()),
        ])
    }
}

impl View for ProduceView {
    fn title(&self) -> String {
        format!("Produce {}", self.fields[0].text)
    }
    fn scope(&self) -> Scope {
        Scope::Produce
    }
    fn route(&self) -> Route {
        Route::Produce(self.fields[0].text.clone())
    }

    fn render(&self, frame: &mut Frame, area: Rect, theme: Theme) {
        let [form, value, result] = Layout::vertical([
            Constraint::Length(5),
            Constraint::Fill(1),
            Constraint::Length(2),
        ])
        .areas(area);
        let lines: Vec<Line> = (0..VALUE).map(|i| self.field_line(i, theme)).collect();
        frame.render_widget(Paragraph::new(lines), form);
        let check = match self.json_check() {
            None => Span::styled("", theme.dim()),
            Some(Ok(())) => Span::styled(" valid JSON ", theme.ok()),
            Some(Err(e)) => Span::styled(format!(" invalid JSON: {e} "), theme.error()),
        };
        let focused = self.focus == VALUE;
        let title = Line::from(vec![
            Span::styled(" value ", if focused { theme.title() } else { theme.dim() }),
            check,
        ]);
        let mut text = self.fields[VALUE].text.clone();
        if focused {
            text.push('▏');
        }
        let block = Block::new()
            .borders(Borders::TOP | Borders::BOTTOM)
            .border_style(theme.border())
            .title(title);
        frame.render_widget(
            Paragraph::new(text).block(block).wrap(Wrap { trim: false }),
            value,
        );
        let outcome = match (&self.result, self.sending) {
            (_, true) => Line::styled("sending…", theme.dim()),
            (Some(Ok(m)), _) => Line::styled(m.clone(), theme.ok()),
            (Some(Err(e)), _) => Line::styled(format!("error: {e}"), theme.error()),
            (None, _) => Line::styled(
                "tab: next field  ctrl-s: send  esc: back  (value @FILE: one record per line)",
                theme.dim(),
            ),
        };
        frame.render_widget(Paragraph::new(outcome), result);
    }

    fn handle_key(&mut self, key: &KeyEvent, _ctx: &Ctx) -> Action {
        match keymap::lookup(Scope::Produce, key) {
            Some(Command::Send) => {
                return match self.request() {
                    Ok(request) => {
                        self.sending = true;
                        Action::Run(Request::Produce(request))
                    }
                    Err(e) => {
                        self.result = Some(Err(e));
                        Action::None
                    }
                };
            }
            Some(Command::NextTab) => {
                self.focus = (self.focus + 1) % LABELS.len();
                return Action::None;
            }
            _ => {}
        }
        match key.code {
            KeyCode::BackTab => self.focus = (self.focus + LABELS.len() - 1) % LABELS.len(),
            KeyCode::Enter if self.focus != VALUE => self.focus += 1,
            KeyCode::Down if self.focus != VALUE => self.focus += 1,
            KeyCode::Up if self.focus > 0 => self.focus -= 1,
            _ => {
                let _ = self.fields[self.focus].handle_key(key);
            }
        }
        Action::None
    }

    fn update(&mut self, update: &Update, _height: usize) {
        match update {
            Update::Produced { partition, offset } => {
                self.sending = false;
                self.result = Some(Ok(format!(
                    "written to partition {partition} at offset {offset}"
                )));
            }
            Update::Done {
                subject: Subject::Produce(topic),
                note,
                error,
            } if self.sending => {
                self.sending = false;
                let what = note
                    .clone()
                    .unwrap_or_else(|| format!("produce to {topic}"));
                self.result = Some(match error {
                    Some(e) => Err(e.clone()),
                    None => Ok(format!("{what}: done")),
                });
            }
            _ => {}
        }
    }

    fn takes_text(&self) -> bool {
        true
    }
}
